"""VS Code-family user data folders (``<base>/<Variant>/User``) and workspace -> project.

Every variant, remote server folder and portable install is a root; profiles live below a root
(``User/profiles/<id>/globalStorage``), so streams name them in their patterns. Pure functions
of an injected environment, home and platform, so every OS is testable. agent-formats.md 3.1.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import unquote, urlparse

import orjson

from agenttail.agents.base import Roots, home_dir

VARIANTS = (
    "Code",
    "Code - Insiders",
    "Code - Exploration",
    "Code - OSS",
    "VSCodium",
    "VSCodium - Insiders",
    "Cursor",
    "Windsurf",
    "Kiro",
)
SERVER_FOLDERS = (".vscode-server", ".vscode-server-insiders", ".vscode-remote", ".cursor-server")


def _per_variant(base: str) -> tuple[str, ...]:
    servers = tuple(f"~/{folder}/data/User" for folder in SERVER_FOLDERS)
    return tuple(f"{base}/{variant}/User" for variant in VARIANTS) + servers


# Where the variants keep their folders, per OS, as VS Code's ``getUserDataPath`` does.
USER_ROOTS = Roots(
    linux=_per_variant("$XDG_CONFIG_HOME"),
    darwin=_per_variant("~/Library/Application Support"),
    win32=_per_variant("%APPDATA%"),
)
PORTABLE_ENV = "VSCODE_PORTABLE"


def user_dirs(
    env: Mapping[str, str] | None = None,
    home: Path | None = None,
    platform: str | None = None,
) -> list[Path]:
    """Every VS Code-family ``User`` folder that may exist on this machine (existing or not)."""
    environ = dict(os.environ if env is None else env)
    if home is not None:
        environ["HOME"] = environ["USERPROFILE"] = str(home)
    elif not home_dir(environ, platform or sys.platform):
        environ["HOME"] = str(Path.home())
    dirs = USER_ROOTS.resolve(environ, sys.platform if platform is None else platform)
    portable = environ.get(PORTABLE_ENV)
    if portable and Path(portable) / "user-data" / "User" not in dirs:
        dirs.append(Path(portable) / "user-data" / "User")
    return dirs


_DRIVE = re.compile(r"^/[A-Za-z]:")


def uri_to_path(uri: str) -> str | None:
    """A local path from a ``file://`` (or ``vscode-remote://``) URI; Windows drives fixed."""
    parsed = urlparse(uri)
    if parsed.scheme not in ("file", "vscode-remote", "vscode-vfs") or not parsed.path:
        return None
    path = unquote(parsed.path)
    if _DRIVE.match(path):
        path = path[1].upper() + path[2:].replace("/", "\\")
    return path


def workspace_project(workspace_dir: Path) -> str | None:
    """The folder (or .code-workspace file) a ``workspaceStorage/<hash>`` folder belongs to."""
    try:
        data = orjson.loads((workspace_dir / "workspace.json").read_bytes())
    except (OSError, orjson.JSONDecodeError):
        return None
    if not isinstance(data, dict):
        return None
    for key in ("folder", "workspace", "configuration"):
        value = data.get(key)
        if isinstance(value, str) and value:
            return uri_to_path(value)
    return None
