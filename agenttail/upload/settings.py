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

from agenttail.config import Config, ConfigError


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
    user: str = ""


def _is_loopback(host: str) -> bool:
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_url(url: str, allow_insecure_http: bool) -> str:
    """Refuse what would leak metrics or the token in clear text across a network."""
    try:
        parts = urlsplit(url)
        host = parts.hostname
        parts.port  # noqa: B018 - raises on a port that is not a number in range
    except ValueError as exc:
        raise ConfigError(
            f"invalid value for upload.url: {url!r} is not a valid URL ({exc})",
            "write it as https://host[:port]/path",
            key="upload.url",
        ) from None
    if parts.scheme not in ("http", "https") or not host:
        raise ConfigError(
            f"invalid value for upload.url: {url!r} is not an http(s) URL",
            "write it as https://host[:port]/path",
            key="upload.url",
        )
    if parts.username or parts.password:
        raise ConfigError(
            "invalid value for upload.url: it holds credentials",
            "put them in upload.token or upload.token_file",
            key="upload.url",
        )
    if parts.scheme == "http" and not _is_loopback(host) and not allow_insecure_http:
        raise ConfigError(
            f"invalid value for upload.url: plain http to {host} would send the token "
            "and metrics unencrypted",
            "use https or set upload.allow_insecure_http = true",
            key="upload.url",
        )
    return url.rstrip("/")


def read_token_file(path: Path) -> str:
    """The token from a file only its owner can read or write."""
    try:
        mode = path.stat().st_mode
        if mode & (stat.S_IRWXG | stat.S_IRWXO):
            raise ConfigError(
                f"invalid value for upload.token_file: {path} is readable by others "
                f"(mode {stat.S_IMODE(mode):04o})",
                f"run chmod 600 {path}",
                key="upload.token_file",
                path=path,
            )
        token = path.read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise ConfigError(
            f"invalid value for upload.token_file: cannot read {path}: {exc}",
            key="upload.token_file",
            path=path,
        ) from None
    if not token:
        raise ConfigError(
            f"invalid value for upload.token_file: {path} is empty",
            key="upload.token_file",
            path=path,
        )
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
        user=config.get_str("upload.user") or os_user(),
    )


def os_user() -> str:
    """The login name, as the receiver's default identity for this machine's uploads."""
    import getpass

    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no passwd entry (some containers)
        return "unknown"
