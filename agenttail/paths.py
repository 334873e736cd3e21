"""Where agenttail keeps its state: one folder under AGENTTAIL_HOME, else platformdirs."""

from __future__ import annotations

import os
from pathlib import Path
from typing import NamedTuple

from agenttail.errors import StateFolderError

APP_NAME = "agenttail"


class AppPaths(NamedTuple):
    """Resolved locations of the database, config, logs and lock (a named tuple: the status
    line defines it on every prompt refresh, see ``analytics.py``)."""

    data_dir: Path
    config_dir: Path
    log_dir: Path
    state_dir: Path

    @property
    def database(self) -> Path:
        return self.data_dir / "agenttail.db"

    @property
    def config_file(self) -> Path:
        return self.config_dir / "config.toml"

    @property
    def log_file(self) -> Path:
        return self.log_dir / "agenttail.log"

    @property
    def lock_file(self) -> Path:
        return self.state_dir / "agenttail.lock"

    def ensure(self) -> AppPaths:
        """Create the folders, or say which one cannot be used and what to do."""
        for folder in (self.data_dir, self.config_dir, self.log_dir, self.state_dir):
            try:
                folder.mkdir(parents=True, exist_ok=True)
            except FileExistsError:
                raise self._unusable(folder, "is a file, not a folder") from None
            except OSError as exc:
                raise self._unusable(folder, f"cannot be created ({exc.strerror})") from None
            if not os.access(folder, os.W_OK | os.X_OK):
                raise self._unusable(folder, "is not writable")
        return self

    def check_readable(self) -> None:
        """For commands that only read: a state folder that is a file is an error, not empty."""
        if self.data_dir.exists() and not self.data_dir.is_dir():
            raise self._unusable(self.data_dir, "is a file, not a folder")

    @staticmethod
    def _unusable(folder: Path, reason: str) -> StateFolderError:
        return StateFolderError(
            f"agenttail's state folder {folder} {reason}",
            "make it a writable folder, or point AGENTTAIL_HOME at one",
            path=folder,
        )

    @classmethod
    def resolve(cls, env: dict[str, str] | None = None) -> AppPaths:
        """AGENTTAIL_HOME moves everything to one folder (tests and services use it)."""
        environ = os.environ if env is None else env
        home = environ.get("AGENTTAIL_HOME")
        if home:
            root = Path(home).expanduser()
            return cls(data_dir=root, config_dir=root, log_dir=root / "log", state_dir=root)
        from platformdirs import PlatformDirs  # ~4 ms: not when AGENTTAIL_HOME says where

        dirs = PlatformDirs(appname=APP_NAME, appauthor=False)
        return cls(
            data_dir=dirs.user_data_path,
            config_dir=dirs.user_config_path,
            log_dir=dirs.user_log_path,
            state_dir=dirs.user_state_path,
        )
