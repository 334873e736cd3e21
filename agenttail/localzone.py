"""The system's time zone, found without tzlocal where the answer is plain.

Reports and the status line put days and blocks in local time. tzlocal knows every platform's
ways of naming the zone, but costs ~10 ms per process (its import pulls logging, and on a
systemd or macOS host it looks the ``/etc/localtime`` link up as a zone from each of its path
suffixes, each miss a package-resource search). The two plain cases give tzlocal's own answer
directly: ``TZ`` naming a zone, and ``/etc/localtime`` a link into a ``zoneinfo`` folder
(localtime(5)); tzlocal answers every other case.
"""

from __future__ import annotations

import os
from datetime import tzinfo
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

LOCALTIME = Path("/etc/localtime")


def local_timezone() -> tzinfo:
    zone = _plain_zone()
    if zone is not None:
        return zone
    import tzlocal

    return tzlocal.get_localzone()


def _plain_zone() -> ZoneInfo | None:
    name = os.environ.get("TZ")
    if name is None:
        target = str(LOCALTIME.resolve()) if LOCALTIME.is_symlink() else ""
        _, found, name = target.rpartition("/zoneinfo/")
        if not found:
            return None
    name = name.removeprefix(":")
    if not name or name.startswith("/"):  # an empty TZ, or a file path: tzlocal's cases
        return None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None
