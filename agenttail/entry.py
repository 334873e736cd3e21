"""The ``agenttail`` console script.

Claude Code runs ``agenttail statusline`` on every prompt refresh, so that exact command is
answered here before click and the command registry load (the hook needs a few of the store's
modules, not the CLI). ``agenttail scan`` with nothing changed is answered here too, from the
last scan's sweep manifest (``unchanged_scan``); everything else goes to the click CLI in
``agenttail.cli``.
"""

from __future__ import annotations

import sys

EXIT_INTERRUPTED = 130  # 128 + SIGINT, what a shell reports for a command Ctrl-C stopped


def main() -> None:
    try:
        if sys.argv[1:] == ["statusline"]:
            from agenttail.statusline import line_from_stdin

            sys.stdout.write(line_from_stdin() + "\n")
            return
        if sys.argv[1:] in (["scan"], ["scan", "--json"]):
            from agenttail.unchanged_scan import answer

            if answer(as_json=sys.argv[2:] == ["--json"]):
                return
        from agenttail.cli import main as cli

        cli()
    except KeyboardInterrupt:  # Ctrl-C before click took over (while modules load): no traceback
        sys.exit(EXIT_INTERRUPTED)
