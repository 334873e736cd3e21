"""The ``agenttail`` command line: a registry of commands, each imported only when it runs.

A command's module (and what it needs: the daemon, watchdog, APScheduler, rich, httpx...) is
imported when that command is invoked, or for ``--help``, so `report` and `status` load none
of the others. Adding a command is one line in ``COMMANDS``.
"""

from __future__ import annotations

import click

from agenttail import __version__
from agenttail.cli_support import AgenttailGroup

# name -> "module:attribute" of its click command
COMMANDS: dict[str, str] = {
    "run": "agenttail.daemon_cli:run",
    "scan": "agenttail.daemon_cli:scan",
    "status": "agenttail.status_cli:status",
    "statusline": "agenttail.statusline_cli:statusline",
    "top": "agenttail.top_cli:top",
    "report": "agenttail.report_cli:report",
    "service": "agenttail.service_cli:service",
    "config": "agenttail.service_cli:config_group",
    "logs": "agenttail.service_cli:logs",
    "doctor": "agenttail.service_cli:doctor",
    "upload": "agenttail.upload.cli:upload",
    "server": "agenttail.server.cli:server",
    "dashboard": "agenttail.dashboard.cli:dashboard",
}


@click.group(cls=AgenttailGroup, lazy=COMMANDS)
@click.version_option(__version__, prog_name="agenttail")
def main() -> None:
    """Usage and cost metrics for AI coding agents, tailed from their session files."""
