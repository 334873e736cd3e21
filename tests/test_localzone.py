"""The local time zone found without tzlocal is tzlocal's own answer (same offsets all year)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import tzlocal

from agenttail import localzone
from agenttail.localzone import local_timezone

HOURS_OF_A_YEAR = [datetime(2026, 1, 1, tzinfo=UTC) + timedelta(hours=h) for h in range(0, 8760, 7)]


def offsets(tz: object) -> list[timedelta | None]:
    return [moment.astimezone(tz).utcoffset() for moment in HOURS_OF_A_YEAR]  # type: ignore[arg-type]


@pytest.fixture
def fresh_tzlocal(monkeypatch: pytest.MonkeyPatch) -> None:
    """tzlocal caches its first answer; each case here sets up its own environment."""
    monkeypatch.setattr(tzlocal.unix, "_cache_tz", None)


@pytest.mark.usefixtures("fresh_tzlocal")
@pytest.mark.parametrize("tz", ["Europe/Paris", ":America/St_Johns", "Asia/Kathmandu", "UTC"])
def test_a_tz_variable_naming_a_zone(monkeypatch: pytest.MonkeyPatch, tz: str) -> None:
    monkeypatch.setenv("TZ", tz)
    assert localzone._plain_zone() is not None  # answered without tzlocal
    assert offsets(local_timezone()) == offsets(tzlocal.get_localzone())
    assert str(local_timezone()) == tz.removeprefix(":")


@pytest.mark.usefixtures("fresh_tzlocal")
def test_localtime_linked_into_a_zoneinfo_folder(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """As systemd and macOS set it up (localtime(5)): the link names the zone."""
    link = tmp_path / "localtime"
    link.symlink_to("/usr/share/zoneinfo/America/St_Johns")
    if not link.exists():
        pytest.skip("no system zoneinfo folder here")
    monkeypatch.delenv("TZ", raising=False)
    monkeypatch.setattr(localzone, "LOCALTIME", link)
    assert str(local_timezone()) == "America/St_Johns"


@pytest.mark.usefixtures("fresh_tzlocal")
@pytest.mark.parametrize("tz", ["", "EST+5", "/no/such/zone/file"])
def test_anything_else_is_tzlocals(monkeypatch: pytest.MonkeyPatch, tz: str) -> None:
    monkeypatch.setenv("TZ", tz)
    monkeypatch.setattr(localzone, "LOCALTIME", Path("/nonexistent/localtime"))
    assert localzone._plain_zone() is None
