"""Where Gemini CLI, Qwen Code, OpenCode, Kilo CLI and Amp keep their data, per OS and variable."""

from __future__ import annotations

from pathlib import Path

import pytest

from agenttail.agents.amp import AmpAgent
from agenttail.agents.gemini_cli import GeminiCliAgent
from agenttail.agents.kilo import KiloAgent
from agenttail.agents.opencode import OpenCodeAgent
from agenttail.agents.qwen_code import QwenCodeAgent

HOME = Path("/home/ana")
WIN_HOME = Path("C:/Users/ana")


def roots(agent: type, platform: str = "linux", **env: str) -> list[Path]:
    base = {"HOME": str(HOME)} if platform != "win32" else {"USERPROFILE": str(WIN_HOME)}
    return list(agent().resolve_roots({**base, **env}, platform))


def test_gemini_cli_home_moves_the_home_folder_not_the_data_folder() -> None:
    assert roots(GeminiCliAgent) == [HOME / ".gemini" / "tmp"]
    assert roots(GeminiCliAgent, "win32") == [WIN_HOME / ".gemini" / "tmp"]
    moved = roots(GeminiCliAgent, GEMINI_CLI_HOME="/srv/gem", GEMINI_DATA_DIR="/x")
    assert moved == [Path("/srv/gem/.gemini/tmp")]
    assert roots(GeminiCliAgent, GEMINI_DATA_DIR="/x,/y") == [Path("/x"), Path("/y")]


def test_qwen_runtime_dir_wins_over_ccusage_list() -> None:
    assert roots(QwenCodeAgent, "darwin") == [HOME / ".qwen" / "projects"]
    listed = roots(QwenCodeAgent, QWEN_DATA_DIR="/a/q1, /b/q2")
    assert listed == [Path("/a/q1/projects"), Path("/b/q2/projects")]
    own = roots(QwenCodeAgent, QWEN_DATA_DIR="/a/q1", QWEN_RUNTIME_DIR="/r/qwen")
    assert own == [Path("/r/qwen/projects")]


@pytest.mark.parametrize("platform", ["linux", "darwin", "win32"])
def test_opencode_and_kilo_follow_xdg_data_home_on_every_os(platform: str) -> None:
    home = WIN_HOME if platform == "win32" else HOME
    assert roots(OpenCodeAgent, platform) == [home / ".local" / "share" / "opencode"]
    assert roots(KiloAgent, platform) == [home / ".local" / "share" / "kilo"]
    assert roots(OpenCodeAgent, platform, XDG_DATA_HOME="/d") == [Path("/d/opencode")]


def test_ccusage_data_dir_lists() -> None:
    assert roots(OpenCodeAgent, OPENCODE_DATA_DIR="/x,/y") == [Path("/x"), Path("/y")]
    assert roots(KiloAgent, KILO_DATA_DIR="/k") == [Path("/k")]
    assert roots(AmpAgent, AMP_DATA_DIR="/amp1,,/amp2") == [Path("/amp1"), Path("/amp2")]


def test_amp_on_windows_looks_in_local_and_roaming_app_data() -> None:
    assert roots(AmpAgent) == [HOME / ".local" / "share" / "amp"]
    found = roots(AmpAgent, "win32", LOCALAPPDATA="C:/L", APPDATA="C:/R")
    assert found == [Path("C:/L/amp"), Path("C:/R/amp"), WIN_HOME / ".local" / "share" / "amp"]


def test_one_database_file_is_found_as_each_stream_that_reads_it(tmp_path: Path) -> None:
    import shutil

    from agenttail.agents.base import discover

    fixture = Path(__file__).resolve().parents[1] / "fixtures" / "opencode" / "root"
    shutil.copytree(fixture, tmp_path / "opencode")
    found = {(ref.path.name, ref.kind) for ref in discover(OpenCodeAgent([tmp_path / "opencode"]))}
    assert {("opencode.db", "messages"), ("opencode.db", "parts")} <= found
    assert any(kind == "legacy_message" for _, kind in found)
