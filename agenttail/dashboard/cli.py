"""``agenttail dashboard``: print the page's URL (first line), open it, serve it if need be."""

from __future__ import annotations

import os
import signal
import sys
from types import FrameType

import click

from agenttail.errors import EX_UNAVAILABLE, AgenttailError


def _interrupt(_signum: int, _frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def _open(url: str) -> None:
    """Open ``url`` in a graphical browser; without a display (SSH, a server) say how to reach
    it instead: Python's fallback there is a text browser that would take over the terminal."""
    if sys.platform.startswith("linux") and not (
        os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")
    ):
        from agenttail.dashboard.server import url_port

        port = url_port(url)
        click.echo(
            "agenttail: no display here: open the URL in a browser on this machine, or from "
            f"another one through `ssh -L {port}:127.0.0.1:{port} THIS-HOST`",
            err=True,
        )
        return
    import webbrowser

    webbrowser.open(url)


@click.command()
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    help="Serve on this 127.0.0.1 port (default: the dashboard.port setting; 0 = a free one).",
)
@click.option("--no-open", is_flag=True, help="Print the URL without opening a browser.")
def dashboard(port: int | None, no_open: bool) -> None:
    """A local web dashboard on 127.0.0.1: the running daemon's, else served here until Ctrl-C."""
    from agenttail.cli_support import settings
    from agenttail.dashboard.launch import daemon_dashboard
    from agenttail.dashboard.server import DashboardServer, url_port

    paths, config = settings(strict=False)
    url = daemon_dashboard(paths)
    if url is not None and port in (None, url_port(url)):
        click.echo(url)
        click.echo("agenttail: served by the running daemon", err=True)
        if not no_open:
            _open(url)
        return
    wanted = config.get_int("dashboard.port") if port is None else port
    try:
        server = DashboardServer(paths, wanted)
    except OSError as exc:
        raise AgenttailError(
            f"cannot serve the dashboard on 127.0.0.1:{wanted}: {exc.strerror or exc}",
            "choose another --port (0 picks a free one)",
            exit_code=EX_UNAVAILABLE,
        ) from None
    previous = signal.signal(signal.SIGTERM, _interrupt)
    try:
        click.echo(server.login_url)
        sys.stdout.flush()
        click.echo("agenttail: serving the dashboard here until Ctrl-C", err=True)
        if not no_open:
            _open(server.login_url)
        server.serve_forever(poll_interval=0.25)
    except KeyboardInterrupt:
        pass
    finally:
        signal.signal(signal.SIGTERM, previous)
        server.server_close()
