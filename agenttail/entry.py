"""The ``agenttail`` console script.

Claude Code runs ``agenttail statusline`` on every prompt refresh, so that exact command is
answered here before click and the command registry load (the hook needs a few of the store's
modules, not the CLI); everything else goes to the click CLI in ``agenttail.cli``.
"""

from __future__ import annotations

import sys


def main() -> None:
    if sys.argv[1:] == ["statusline"]:
        from agenttail.statusline import line_from_stdin

        sys.stdout.write(line_from_stdin() + "\n")
        return
    from agenttail.cli import main as cli

    cli()
