"""What a user can fix: one error type with a message, a hint and a documented exit code.

Topic modules (config, paths, store, upload) raise ``AgenttailError``; the CLI edge turns it into
one line on stderr (or an ``{"error": {...}}`` object with ``--json``) and exits with its code.
Anything else is a bug: the CLI logs its traceback to the log file and prints a summary.
The exit codes are documented in the README; they follow sysexits(3) where one fits.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

EX_OK = 0
EX_FAILED = 1  # finished, but not everything worked: failed streams, a damaged store
EX_USAGE = 2  # bad command-line arguments (click's own code)
EX_UNAVAILABLE = 69  # a service agenttail needs is missing: the server extra, a team database
EX_SOFTWARE = 70  # an internal error: its traceback is in the log file
EX_CANTCREAT = 73  # the state folder or the store cannot be written
EX_IOERR = 74  # the disk is full or an I/O error stopped the command
EX_TEMPFAIL = 75  # try again later: another daemon runs, uploads still wait, store locked
EX_CONFIG = 78  # invalid configuration
EX_INTERRUPTED = 130  # Ctrl-C (128 + SIGINT, what a shell shows for a command it stopped)


class AgenttailError(Exception):
    """An expected failure: ``message`` says what happened (naming the path or key), ``hint``
    what to do about it."""

    exit_code = EX_FAILED
    kind = "error"
    label = ""  # printed before the message, e.g. "configuration error"

    def __init__(
        self,
        message: str,
        hint: str | None = None,
        *,
        path: Path | str | None = None,
        key: str | None = None,
        exit_code: int | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.path = None if path is None else str(path)
        self.key = key
        if exit_code is not None:
            self.exit_code = exit_code

    def __str__(self) -> str:
        """The one line a user sees: what happened, then what to do."""
        return f"{self.message}; {self.hint}" if self.hint else self.message

    def to_dict(self) -> dict[str, Any]:
        """The ``{"error": ...}`` object that ``--json`` prints."""
        data: dict[str, Any] = {"kind": self.kind, "message": self.message, "hint": self.hint}
        if self.path is not None:
            data["path"] = self.path
        if self.key is not None:
            data["key"] = self.key
        data["exit_code"] = self.exit_code
        return data


class ConfigError(AgenttailError, ValueError):
    """Invalid configuration; the message names the offending key and where it came from."""

    exit_code = EX_CONFIG
    kind = "config"
    label = "configuration error"


class StateFolderError(AgenttailError):
    """agenttail's own folder (``AGENTTAIL_HOME`` or the platform folders) is unusable."""

    exit_code = EX_CANTCREAT
    kind = "state_folder"


class StoreError(AgenttailError):
    """The state database cannot be used: damaged, read-only, locked, or the disk is full."""

    kind = "store"
