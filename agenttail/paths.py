"""Where agenttail keeps its state: one folder under AGENTTAIL_HOME, else platformdirs."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from platformdirs import PlatformDirs

APP_NAME = "agenttail"


@dataclass(frozen=True)
class AppPaths:
    """Resolved locations of the database, config, logs and lock."""

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
        for folder in (self.data_dir, self.config_dir, self.log_dir, self.state_dir):
            folder.mkdir(parents=True, exist_ok=True)
        return self

    @classmethod
    def resolve(cls, env: dict[str, str] | None = None) -> AppPaths:
        """AGENTTAIL_HOME moves everything to one folder (tests and services use it)."""
        environ = os.environ if env is None else env
        home = environ.get("AGENTTAIL_HOME")
        if home:
            root = Path(home).expanduser()
            return cls(data_dir=root, config_dir=root, log_dir=root / "log", state_dir=root)
        dirs = PlatformDirs(appname=APP_NAME, appauthor=False)
        return cls(
            data_dir=dirs.user_data_path,
            config_dir=dirs.user_config_path,
            log_dir=dirs.user_log_path,
            state_dir=dirs.user_state_path,
        )
