"""``agenttail statusline`` as a click command: ``--help`` and ``python -m agenttail``.

The hook's own plain ``agenttail statusline`` is answered by ``agenttail.entry`` before click
loads; both print the same line.
"""

from __future__ import annotations

import click


@click.command()
def statusline() -> None:
    """One line for Claude Code's statusLine hook (reads its JSON on stdin; never fails)."""
    from agenttail.statusline import line_from_stdin

    click.echo(line_from_stdin())
