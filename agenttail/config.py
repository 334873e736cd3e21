"""Configuration: embedded defaults < config.toml < AGENTTAIL_* environment variables.

The whole schema lives here: every key is declared once in ``OPTIONS`` with its type, default,
bounds and help text (``config show`` prints them). Invalid values raise ``ConfigError`` naming
the key and where it came from; commands that only read (report, status, doctor, config show)
load leniently instead: a bad key is reported as a warning and its default used.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from agenttail.errors import ConfigError
from agenttail.paths import AppPaths

if TYPE_CHECKING:
    from agenttail.analytics import ModelPrice

__all__ = ["Config", "ConfigError", "Option", "all_options", "load_config"]

Value = str | int | float | bool | list[str] | dict[str, Any] | None
PROJECT_MODES = ("full", "basename", "hash", "none")
EXPORTERS = ("http", "otlp")


class Option(NamedTuple):
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
    Option(
        "commit_interval_ms",
        int,
        2000,
        "the daemon stores a steady stream of appends at most this often, in one transaction "
        "(an append after a quiet spell at once; 0: every batch on its own)",
        0,
        60_000,
    ),
    Option(
        "max_line_bytes",
        int,
        8 * 1024 * 1024,
        "longer lines are not held whole: their usage is salvaged from their ends",
        1024,
        2**31,
    ),
    Option("max_batch_bytes", int, 4 * 1024 * 1024, "bytes read per batch", 4096, 2**30),
    Option("max_batch_records", int, 5000, "records read per batch", 1, 1_000_000),
    Option("agents", list, None, "agent plugins to enable (default: all installed)"),
    Option("log_level", str, "info", "log level", choices=("debug", "info", "warning", "error")),
    Option("upload.url", str, None, "where batches go; unset keeps every event local"),
    Option("upload.token", str, None, "bearer token for the upload endpoint", secret=True),
    Option("upload.token_file", str, None, "file holding the token (must be mode 0600)"),
    Option("upload.user", str, None, "user name sent with uploads (default: the OS user)"),
    Option(
        "upload.exporter",
        str,
        "http",
        "wire format: http (JSON batches) or otlp",
        choices=EXPORTERS,
    ),
    Option("upload.allow_insecure_http", bool, False, "allow http:// to a non-loopback host"),
    Option("upload.batch_max_events", int, 500, "events per batch", 1, 10_000),
    Option(
        "upload.batch_max_bytes",
        int,
        1_000_000,
        "uncompressed event bytes per batch",
        1024,
        16 * 2**20,
    ),
    Option("upload.interval_seconds", int, 60, "seconds between daemon flushes", 5, 86_400),
    Option("upload.flush_deadline_seconds", int, 30, "longest one daemon flush may run", 1, 3600),
    Option("upload.timeout_seconds", float, 10.0, "per-request timeout", 0.5, 300),
    Option("upload.max_backoff_seconds", float, 300.0, "longest wait between retries", 1, 86_400),
    Option("upload.project", str, "basename", "project path sent as", choices=PROJECT_MODES),
    Option("upload.projects_allow", list, None, "only projects matching these globs leave"),
    Option("upload.projects_deny", list, None, "projects matching these globs never leave"),
    Option("upload.send_git_branch", bool, False, "include the git branch name"),
    Option("upload.retention_days", int, 30, "waiting events older than this are dropped", 1, 3650),
    Option("upload.max_pending_events", int, 1_000_000, "backlog cap; oldest dropped", 100, 10**9),
    Option("dashboard.serve", bool, True, "the running daemon serves the web dashboard"),
    Option(
        "dashboard.port",
        int,
        0,
        "127.0.0.1 port of the web dashboard (0: a free port picked at start)",
        0,
        65535,
    ),
    Option(
        "prices",
        dict,
        None,
        'custom prices: [prices."MODEL"] input, output, cache_read, cache_write in USD per '
        "million tokens; they win over genai-prices in reports",
    ),
)
OPTIONS_BY_KEY = {o.key: o for o in OPTIONS}


def all_options() -> tuple[Option, ...]:
    """Every key agenttail knows, in the order ``config show`` prints them."""
    return OPTIONS


def _coerce(option: Option, raw: object, source: str) -> Value:
    where = f"{option.key} (from {source})"

    def bad(reason: str) -> ConfigError:
        return ConfigError(f"invalid value for {where}: {reason}", key=option.key)

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
        elif option.kind is dict:
            if not isinstance(raw, dict):
                raise ValueError(f"expected a table, got {raw!r}")
            value = dict(raw)
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
        raise bad(str(exc)) from None
    if isinstance(value, int | float) and not isinstance(value, bool):
        if option.minimum is not None and value < option.minimum:
            raise bad(f"{value} is below {option.minimum:g}")
        if option.maximum is not None and value > option.maximum:
            raise bad(f"{value} is above {option.maximum:g}")
    if option.choices is not None and value not in option.choices:
        raise bad(f"{value!r} is not one of {', '.join(option.choices)}")
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


class Config(NamedTuple):
    values: dict[str, Value]
    sources: dict[str, str]
    file: Path | None
    # What a lenient load set aside (the defaults apply in their place); empty when strict.
    problems: tuple[ConfigError, ...] = ()

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

    def get_table(self, key: str) -> dict[str, Any]:
        value = self.values[key]
        assert value is None or isinstance(value, dict)
        return value or {}

    def get_list(self, key: str) -> list[str] | None:
        value = self.values[key]
        assert value is None or isinstance(value, list)
        return value


def _read_file(path: Path) -> dict[str, object]:
    try:
        with open(path, "rb") as handle:
            raw = handle.read()
    except OSError as exc:
        raise ConfigError(
            f"cannot read {path}: {exc.strerror}", "fix its permissions or remove it", path=path
        ) from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(
            f"{path} is not UTF-8 text (byte {exc.start} is 0x{raw[exc.start]:02x})",
            "save it as UTF-8",
            path=path,
        ) from None
    import tomllib  # only when there is a file: the status line runs without one

    try:
        return _flatten(tomllib.loads(text))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(
            f"{path} is not valid TOML: {exc}", "fix the line it names", path=path
        ) from None


def _unknown_key(key: str, path: Path) -> ConfigError:
    import difflib

    close = difflib.get_close_matches(key, OPTIONS_BY_KEY, n=1)
    hint = f"did you mean {close[0]!r}?" if close else "`agenttail config show` lists every key"
    return ConfigError(f"unknown key {key!r} in {path}", hint, key=key, path=path)


def config_file(paths: AppPaths, env: Mapping[str, str]) -> Path:
    """The configuration file: ``AGENTTAIL_CONFIG``, else config.toml in the config folder."""
    return Path(env.get("AGENTTAIL_CONFIG") or paths.config_file)


def load_config(
    paths: AppPaths | None = None,
    env: Mapping[str, str] | None = None,
    file: Path | None = None,
    *,
    strict: bool = True,
) -> Config:
    """Defaults, then the TOML file, then the environment (which wins).

    ``strict`` raises the first problem; otherwise every problem is kept in
    ``Config.problems`` and the key keeps its default (or the file is ignored as a whole when
    it cannot be read or parsed).
    """
    paths = paths or AppPaths.resolve()
    environ = os.environ if env is None else env
    path = file or config_file(paths, environ)
    problems: list[ConfigError] = []

    def problem(error: ConfigError) -> None:
        if strict:
            raise error
        problems.append(error)

    from_file: dict[str, object] = {}
    present = path.is_file()
    if present:
        try:
            from_file = _read_file(path)
        except ConfigError as exc:
            problem(exc)
        for key in sorted(set(from_file) - set(OPTIONS_BY_KEY)):
            problem(_unknown_key(key, path))
    values: dict[str, Value] = {}
    sources: dict[str, str] = {}
    for option in OPTIONS:
        values[option.key] = option.default
        sources[option.key] = "default"
        layers = (
            (from_file, option.key, str(path), str(path)),
            (environ, option.env, option.env, f"env {option.env}"),
        )
        for layer, name, where, label in layers:
            if name not in layer:
                continue
            try:
                values[option.key] = _coerce(option, layer[name], where)
                sources[option.key] = label
            except ConfigError as exc:
                problem(exc)
    return Config(values, sources, path if present else None, tuple(problems))


PRICE_FIELDS = ("input", "output", "cache_read", "cache_write")


def custom_prices(config: Config) -> dict[str, ModelPrice]:
    """``[prices."MODEL"]`` tables from config.toml, USD per million tokens.

    ``input`` and ``output`` are required; cache reads and writes default to the input price.
    """
    from agenttail.analytics import ModelPrice

    prices = {}
    for model, table in config.get_table("prices").items():
        where = f'[prices."{model}"]'
        if not isinstance(table, dict):
            raise ConfigError(f"{where} must be a table of {', '.join(PRICE_FIELDS)}", key="prices")
        unknown = sorted(set(table) - set(PRICE_FIELDS))
        if unknown:
            raise ConfigError(f"unknown key {unknown[0]!r} in {where}", key="prices")
        missing = [name for name in ("input", "output") if name not in table]
        if missing:
            raise ConfigError(f"{where} needs {missing[0]} (USD per million tokens)", key="prices")
        values = [table.get(name, table["input"]) for name in PRICE_FIELDS]
        try:
            prices[model] = ModelPrice.per_million_usd(*values)
        except ValueError as exc:
            raise ConfigError(f"{where}: {exc}", key="prices") from None
    return prices
