"""What ``status`` shows under ``upload``: the outbox's counts and the configured exporter."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from agenttail.clock import now_ms
from agenttail.config import Config, ConfigError, load_config
from agenttail.upload.settings import upload_settings

if TYPE_CHECKING:
    from agenttail.store import Store


def status_section(store: Store | None, config: Config | None = None) -> dict[str, Any]:
    """What ``status --json`` shows under ``upload`` (never the token)."""
    try:
        config = config or load_config(strict=False)
        settings = upload_settings(config)
        cap = config.get_int("upload.max_pending_events")
        error = None
    except ConfigError as exc:
        settings, cap, error = None, 1_000_000, str(exc)
    from agenttail.upload.outbox import upload_status

    data = upload_status(store, now_ms(), cap, configured=settings is not None)
    data["configured"] = settings is not None
    data["exporter"] = None if settings is None else settings.exporter
    data["url"] = None if settings is None else settings.url
    if error:
        data["config_error"] = error
    return data
