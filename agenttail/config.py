"""Configuration: embedded defaults < config.toml < AGENTTAIL_* environment variables.

Every key is declared once in ``OPTIONS`` with its type and bounds; invalid values raise
``ConfigError`` naming the key and where it came from, never a traceback.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from agenttail.paths import AppPaths

Value = str | int | float | bool | list[str] | None


class ConfigError(ValueError):
    """Invalid configuration; the message names the offending key."""


@dataclass(frozen=True)
class Option:
    key: str  # dotted: "upload.url" lives in [upload] as url
    kind: type
    default: Value
    help: str
    minimum: float | None = None
    maximum: float | None = None
    choices: tuple[str, ...] | None = None
    secret: bool = False

    @property
    def env(self) -> str:
        return "AGENTTAIL_" + self.key.replace(".", "_").upper()


OPTIONS: tuple[Option, ...] = (
    Option("sweep_interval_seconds", int, 180, "seconds between full sweeps", 5, 86400),
    Option("workers", int, 2, "worker threads reading streams", 1, 16),
    Option("max_line_bytes", int, 8 * 1024 * 1024, "longer lines are skipped", 1024, 2**31),
    Option("max_batch_bytes", int, 4 * 1024 * 1024, "bytes read per batch", 4096, 2**30),
    Option("max_batch_records", int, 5000, "records read per batch", 1, 1_000_000),
    Option("agents", list, None, "agent plugins to enable (default: all installed)"),
    Option("log_level", str, "info", "log level", choices=("debug", "info", "warning", "error")),
)
OPTIONS_BY_KEY = {o.key: o for o in OPTIONS}


def all_options() -> tuple[Option, ...]:
    """Every declared key, including those other modules registered since import."""
    return OPTIONS


def register_options(*options: Option) -> None:
    """Other modules (upload, service) declare their keys here at import time."""
    global OPTIONS
    for option in options:
        if option.key not in OPTIONS_BY_KEY:
            OPTIONS = (*OPTIONS, option)
            OPTIONS_BY_KEY[option.key] = option


def _coerce(option: Option, raw: object, source: str) -> Value:
    where = f"{option.key} (from {source})"
    if raw is None:
        return None
    value: Value
    try:
        if option.kind is bool:
            if isinstance(raw, bool):
                value = raw
            elif isinstance(raw, str) and raw.lower() in ("1", "true", "yes", "on"):
                value = True
            elif isinstance(raw, str) and raw.lower() in ("0", "false", "no", "off"):
                value = False
            else:
                raise ValueError(f"expected true or false, got {raw!r}")
        elif option.kind is int:
            if isinstance(raw, bool) or not isinstance(raw, int | str):
                raise ValueError(f"expected a whole number, got {raw!r}")
            value = int(raw)
        elif option.kind is float:
            if isinstance(raw, bool) or not isinstance(raw, int | float | str):
                raise ValueError(f"expected a number, got {raw!r}")
            value = float(raw)
        elif option.kind is list:
            if isinstance(raw, str):
                value = [part.strip() for part in raw.split(",") if part.strip()]
            elif isinstance(raw, list) and all(isinstance(x, str) for x in raw):
                value = list(raw)
            else:
                raise ValueError(f"expected a list of strings, got {raw!r}")
        else:
            if not isinstance(raw, str):
                raise ValueError(f"expected a string, got {raw!r}")
            value = raw
    except ValueError as exc:
        raise ConfigError(f"invalid value for {where}: {exc}") from None
    if isinstance(value, int | float) and not isinstance(value, bool):
        if option.minimum is not None and value < option.minimum:
            raise ConfigError(f"invalid value for {where}: {value} is below {option.minimum:g}")
        if option.maximum is not None and value > option.maximum:
            raise ConfigError(f"invalid value for {where}: {value} is above {option.maximum:g}")
    if option.choices is not None and value not in option.choices:
        raise ConfigError(
            f"invalid value for {where}: {value!r} is not one of {', '.join(option.choices)}"
        )
    return value


def _flatten(table: Mapping[str, Any], prefix: str = "") -> dict[str, object]:
    flat: dict[str, object] = {}
    for name, value in table.items():
        key = f"{prefix}{name}"
        if isinstance(value, dict) and not any(o.key == key for o in OPTIONS):
            flat.update(_flatten(value, key + "."))
        else:
            flat[key] = value
    return flat


@dataclass(frozen=True)
class Config:
    values: dict[str, Value]
    sources: dict[str, str]
    file: Path | None

    def get(self, key: str) -> Value:
        return self.values[key]

    def get_int(self, key: str) -> int:
        value = self.values[key]
        assert isinstance(value, int)
        return value

    def get_str(self, key: str) -> str | None:
        value = self.values[key]
        assert value is None or isinstance(value, str)
        return value

    def get_list(self, key: str) -> list[str] | None:
        value = self.values[key]
        assert value is None or isinstance(value, list)
        return value


def load_config(
    paths: AppPaths | None = None,
    env: Mapping[str, str] | None = None,
    file: Path | None = None,
) -> Config:
    """Defaults, then the TOML file, then the environment (which wins)."""
    paths = paths or AppPaths.resolve()
    environ = os.environ if env is None else env
    path = file or Path(environ.get("AGENTTAIL_CONFIG") or paths.config_file)
    from_file: dict[str, object] = {}
    if path.exists():
        try:
            with open(path, "rb") as handle:
                from_file = _flatten(tomllib.load(handle))
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{path} is not valid TOML: {exc}") from None
        except OSError as exc:
            raise ConfigError(f"cannot read {path}: {exc}") from None
        unknown = sorted(set(from_file) - set(OPTIONS_BY_KEY))
        if unknown:
            raise ConfigError(f"unknown key {unknown[0]!r} in {path}")
    values: dict[str, Value] = {}
    sources: dict[str, str] = {}
    for option in OPTIONS:
        values[option.key] = option.default
        sources[option.key] = "default"
        if option.key in from_file:
            values[option.key] = _coerce(option, from_file[option.key], str(path))
            sources[option.key] = str(path)
        if option.env in environ:
            values[option.key] = _coerce(option, environ[option.env], option.env)
            sources[option.key] = f"env {option.env}"
    return Config(values, sources, path if path.exists() else None)
