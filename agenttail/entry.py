"""The ``agenttail`` console script.

Claude Code runs ``agenttail statusline`` on every prompt refresh, so that exact command is
answered here before click and the command registry load (the hook needs a few of the store's
modules, not the CLI). ``agenttail scan`` with nothing changed is answered here too, from the
last scan's sweep manifest (``unchanged_scan``); everything else goes to the click CLI in
``agenttail.cli``.
"""

from __future__ import annotations

import sys


def main() -> None:
    try:
        if sys.argv[1:] == ["statusline"]:
            statusline()
        if sys.argv[1:] in (["scan"], ["scan", "--json"]):
            from agenttail.unchanged_scan import answer

            if answer(as_json=sys.argv[2:] == ["--json"]):
                return
        from agenttail.cli import main as cli

        cli()
    except KeyboardInterrupt:  # Ctrl-C while the CLI's modules load: no traceback
        from agenttail.errors import EX_INTERRUPTED

        sys.exit(EX_INTERRUPTED)
    finally:
        _skip_final_collection()


def _skip_final_collection() -> None:
    """The command is done and the process ends: the interpreter's teardown would otherwise
    walk every object the imports made (click's, ours) looking for cycles to free, ~12 ms of a
    ~60 ms ``report``. Frozen objects are left to the operating system; the teardown still
    flushes streams and runs exit handlers."""
    import gc

    gc.freeze()


def statusline() -> None:
    """Print the line and end the process at once (it never returns).

    The process lives ~35 ms and allocates little, so the cyclic garbage collector is off (its
    passes during the imports cost ~2 ms), and it ends with ``os._exit`` once stdout is flushed:
    the interpreter's teardown (freeing every module) cost ~6 ms more, and nothing is left to
    close (the store is closed, no thread, no log handler, no atexit work on this path).
    """
    import gc
    import os

    gc.disable()
    from agenttail.statusline import line_from_stdin

    line = line_from_stdin()
    if sys.stdout is not None:  # None: started with stdout closed
        try:
            sys.stdout.write(line + "\n")
            sys.stdout.flush()
        except OSError:  # the hook stopped reading: nobody is left to tell
            pass
    os._exit(0)
