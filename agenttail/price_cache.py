"""Per-model price rates kept on disk, so a process that prices known models skips genai-prices.

Importing genai-prices costs ~0.1 s of CPU (pydantic models, its price data, an HTTP client for
its updater), about 5% of a 157 MiB cold scan and most of a small ``scan``. The rates
``pricing`` derives from it are a pure function of genai-prices' installed data when a model's
price has no conditions (no start date, no time of day), so they are kept in
``price-rates.json`` in the state folder, stamped with the size and modification time of
genai-prices' files (found without importing it) and agenttail's probe settings. Any other
stamp, or a file that cannot be read, means the rates are derived again. A model whose price
depends on the date or the hour is never kept: its rates are what genai-prices says now.
"""

from __future__ import annotations

import importlib.util
import os
import tempfile
from decimal import Decimal
from pathlib import Path

import orjson

Rates = tuple[Decimal, ...]
FILE_NAME = "price-rates.json"


class PriceCache:
    """The rates known on disk for one installed genai-prices (``stamp``)."""

    def __init__(self, path: Path | None, stamp: str | None) -> None:
        self.path = path
        self.stamp = stamp
        self.rates: dict[str, list[str] | None] = {}
        if path is None or stamp is None:
            return
        try:
            kept = orjson.loads(path.read_bytes())
        except (OSError, orjson.JSONDecodeError):
            return
        if isinstance(kept, dict) and kept.get("stamp") == stamp:
            rates = kept.get("rates")
            if isinstance(rates, dict):
                self.rates = rates

    @staticmethod
    def key(model: str, provider: str | None) -> str:
        return f"{model}\x1f{provider or ''}"

    def get(self, model: str, provider: str | None) -> tuple[bool, Rates | None]:
        """(known, rates): known False means derive them (and ``put`` the result)."""
        key = self.key(model, provider)
        if key not in self.rates:
            return False, None
        kept = self.rates[key]
        if kept is None:
            return True, None
        try:
            return True, tuple(Decimal(value) for value in kept)
        except ArithmeticError:
            return False, None

    def put(self, model: str, provider: str | None, rates: Rates | None) -> None:
        """Keep rates derived from an unconditional price (or None for an unpriced model)."""
        self.rates[self.key(model, provider)] = (
            None if rates is None else [str(value) for value in rates]
        )
        if self.path is None or self.stamp is None:
            return
        blob = orjson.dumps({"stamp": self.stamp, "rates": self.rates})
        try:  # a temporary file renamed over the old one: a reader never sees half a file
            fd, name = tempfile.mkstemp(dir=self.path.parent, prefix=".price-rates-")
            temp = Path(name)
            try:
                with os.fdopen(fd, "wb") as handle:
                    handle.write(blob)
                temp.replace(self.path)
            except BaseException:
                temp.unlink()
                raise
        except OSError:
            pass  # a read-only or full state folder: the rates are derived again next time


def genai_prices_stamp(settings: str) -> str | None:
    """Identity of the installed genai-prices (its files' sizes and times), None if absent."""
    spec = importlib.util.find_spec("genai_prices")
    if spec is None or spec.origin is None:
        return None
    package = Path(spec.origin).parent
    parts = [settings, str(package)]
    for file in sorted(package.glob("*.py")):
        info = file.stat()
        parts.append(f"{file.name}:{info.st_size}:{info.st_mtime_ns}")
    return "|".join(parts)


def open_cache(settings: str) -> PriceCache:
    """The cache in the state folder (none when the folder cannot be found or made)."""
    from agenttail.errors import AgenttailError
    from agenttail.paths import AppPaths

    try:
        folder = AppPaths.resolve().data_dir
        folder.mkdir(parents=True, exist_ok=True)
        stamp = genai_prices_stamp(settings)
    except (OSError, AgenttailError):
        return PriceCache(None, None)
    return PriceCache(folder / FILE_NAME, stamp)
