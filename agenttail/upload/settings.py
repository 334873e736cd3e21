"""Upload configuration: the ``upload.*`` keys, validated into one ``UploadSettings``.

The token is secret: it is read from ``upload.token`` (or ``AGENTTAIL_UPLOAD_TOKEN``) or from a
``upload.token_file`` that only its owner may read, and it never appears in a log line or repr.
"""

from __future__ import annotations

import ipaddress
import stat
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from agenttail.config import Config, ConfigError, Option, register_options

PROJECT_MODES = ("full", "basename", "hash", "none")
EXPORTERS = ("http", "otlp")

register_options(
    Option("upload.url", str, None, "where batches go; unset keeps every event local"),
    Option("upload.token", str, None, "bearer token for the upload endpoint", secret=True),
    Option("upload.token_file", str, None, "file holding the token (must be mode 0600)"),
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
)


@dataclass(frozen=True)
class UploadSettings:
    url: str
    exporter: str = "http"
    token: str | None = field(default=None, repr=False)
    batch_max_events: int = 500
    batch_max_bytes: int = 1_000_000
    interval_seconds: int = 60
    flush_deadline_seconds: int = 30
    timeout_seconds: float = 10.0
    max_backoff_seconds: float = 300.0
    project_mode: str = "basename"
    projects_allow: tuple[str, ...] = ()
    projects_deny: tuple[str, ...] = ()
    send_git_branch: bool = False
    retention_days: int = 30
    max_pending_events: int = 1_000_000


def _is_loopback(host: str) -> bool:
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_url(url: str, allow_insecure_http: bool) -> str:
    """Refuse what would leak metrics or the token in clear text across a network."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(f"invalid value for upload.url: {url!r} is not an http(s) URL")
    if parts.username or parts.password:
        raise ConfigError("invalid value for upload.url: put credentials in upload.token")
    if parts.scheme == "http" and not _is_loopback(parts.hostname) and not allow_insecure_http:
        raise ConfigError(
            f"invalid value for upload.url: plain http to {parts.hostname} would send the token "
            "and metrics unencrypted; use https or set upload.allow_insecure_http = true"
        )
    return url.rstrip("/")


def read_token_file(path: Path) -> str:
    """The token from a file only its owner can read or write."""
    try:
        mode = path.stat().st_mode
        if mode & (stat.S_IRWXG | stat.S_IRWXO):
            raise ConfigError(
                f"invalid value for upload.token_file: {path} is readable by others "
                f"(mode {stat.S_IMODE(mode):04o}); run chmod 600 {path}"
            )
        token = path.read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise ConfigError(
            f"invalid value for upload.token_file: cannot read {path}: {exc}"
        ) from None
    if not token:
        raise ConfigError(f"invalid value for upload.token_file: {path} is empty")
    return token


def _bool(config: Config, key: str) -> bool:
    return bool(config.get(key))


def _float(config: Config, key: str) -> float:
    value = config.get(key)
    assert isinstance(value, int | float)
    return float(value)


def upload_settings(config: Config) -> UploadSettings | None:
    """The validated settings, or None when no URL is configured (events stay local)."""
    url = config.get_str("upload.url")
    if not url:
        return None
    token = config.get_str("upload.token")
    token_file = config.get_str("upload.token_file")
    if not token and token_file:
        token = read_token_file(Path(token_file).expanduser())
    return UploadSettings(
        url=check_url(url, _bool(config, "upload.allow_insecure_http")),
        exporter=config.get_str("upload.exporter") or "http",
        token=token or None,
        batch_max_events=config.get_int("upload.batch_max_events"),
        batch_max_bytes=config.get_int("upload.batch_max_bytes"),
        interval_seconds=config.get_int("upload.interval_seconds"),
        flush_deadline_seconds=config.get_int("upload.flush_deadline_seconds"),
        timeout_seconds=_float(config, "upload.timeout_seconds"),
        max_backoff_seconds=_float(config, "upload.max_backoff_seconds"),
        project_mode=config.get_str("upload.project") or "basename",
        projects_allow=tuple(config.get_list("upload.projects_allow") or ()),
        projects_deny=tuple(config.get_list("upload.projects_deny") or ()),
        send_git_branch=_bool(config, "upload.send_git_branch"),
        retention_days=config.get_int("upload.retention_days"),
        max_pending_events=config.get_int("upload.max_pending_events"),
    )
