"""A picture of ``agenttail top``: one frame of the live view, drawn from a store, as SVG (and
plain text), for the docs.

    python scripts/capture_top.py --svg docs/top.svg [--width 90] [--height 42]

Reads the store of ``AGENTTAIL_HOME`` (read-only, as ``top`` does) at the current time.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from rich.console import Console

from agenttail.config import custom_prices, load_config
from agenttail.paths import AppPaths
from agenttail.report import resolve_timezone
from agenttail.top import StoreWatch, render


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--svg", type=Path, required=True)
    parser.add_argument("--text", type=Path)
    parser.add_argument("--width", type=int, default=90)
    parser.add_argument("--height", type=int, default=42)
    args = parser.parse_args()
    paths = AppPaths.resolve()
    watch = StoreWatch(paths)
    try:
        watch.changed()
        frame = watch.frame(resolve_timezone(None), custom_prices(load_config(paths, strict=False)))
    finally:
        watch.close()
    with open(os.devnull, "w", encoding="utf-8") as devnull:
        console = Console(
            record=True, width=args.width, height=args.height, file=devnull, force_terminal=True
        )
        console.print(render(frame, height=args.height))
    if args.text:
        args.text.write_text(console.export_text(clear=False), encoding="utf-8")
    args.svg.write_text(console.export_svg(title="agenttail top"), encoding="utf-8")


if __name__ == "__main__":
    main()
