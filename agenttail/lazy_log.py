"""A structlog logger fetched at the first log call, not at import time.

Importing structlog loads its dev console (rich, pygments, asyncio: ~0.1 s), which `status`
and `report` never need unless something goes wrong; modules on their path log through this.
"""

from __future__ import annotations

from typing import Any


def logger(name: str) -> Any:
    """The named structlog logger; structlog is imported on this first call."""
    import structlog

    return structlog.stdlib.get_logger(name)
