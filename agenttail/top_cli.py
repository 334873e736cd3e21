"""``agenttail top`` as a click command; the view itself is ``agenttail.top`` (loaded when it
runs, with rich)."""

from __future__ import annotations

import sys

import click

from agenttail.cli_support import settings


@click.command()
@click.option("--once", is_flag=True, help="Print one frame and exit (for scripts).")
@click.option(
    "--interval",
    type=click.FloatRange(min=0.2),
    default=5.0,
    show_default=True,
    help="Seconds between redraws when nothing new was stored (between frames when piped).",
)
def top(once: bool, interval: float) -> None:
    """A live view: today's cost per agent, the active block, latest requests, tool failures
    (q quits)."""
    from agenttail.config import custom_prices
    from agenttail.report import resolve_timezone
    from agenttail.top import run_top

    paths, config = settings(strict=False)
    tz = resolve_timezone(None)
    sys.exit(run_top(paths, tz, custom_prices(config), once=once, interval=interval))
