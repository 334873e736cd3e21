"""Price rates kept on disk price exactly as genai-prices does, without importing it again.

Each pricing run is a real interpreter (what a ``scan`` is): the first derives the rates from
genai-prices and keeps them in the state folder, the next reads them and never imports
genai-prices. The expected costs come from genai-prices' own ``calc_price`` in this process.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from decimal import ROUND_HALF_EVEN
from pathlib import Path

from genai_prices import Usage, calc_price

from agenttail.price_cache import FILE_NAME

# (model, provider, input, output, cache read, 5-minute writes, 1-hour writes)
Case = tuple[str, str, int, int, int, int, int]
CASES: list[Case] = [
    ("claude-sonnet-4-5-20250929", "anthropic", 12, 345, 67_890, 1_234, 0),
    ("claude-opus-4-1-20250805", "anthropic", 3, 2_000, 150_000, 0, 4_000),
    ("gpt-4o", "openai", 1_500, 700, 0, 0, 0),
    ("o3", "openai", 1_000, 100, 0, 0, 0),  # priced by start date: never kept
    ("no-such-model-xyz", "anthropic", 10, 10, 0, 0, 0),
]
PRICE = """
import json, sys
from agenttail.pricing import TokenCounts, cost_nusd
costs = [
    cost_nusd(m, TokenCounts(input_tokens=i, output_tokens=o, cache_read_tokens=r,
                             cache_write_5m_tokens=w5, cache_write_1h_tokens=w1), p)
    for m, p, i, o, r, w5, w1 in json.loads(sys.argv[1])
]
print(json.dumps({"costs": costs, "imported": "genai_prices" in sys.modules}))
"""


def price_in_a_new_process(home: Path, cases: list[Case] = CASES) -> dict[str, object]:
    env = {**os.environ, "AGENTTAIL_HOME": str(home)}
    done = subprocess.run(
        [sys.executable, "-c", PRICE, json.dumps(cases)],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    result: dict[str, object] = json.loads(done.stdout)
    return result


def expected_costs(cases: list[Case] = CASES) -> list[int | None]:
    """What genai-prices itself charges, in nanodollars rounded half to even."""
    costs: list[int | None] = []
    for model, provider, fresh, output, read, write_5m, write_1h in cases:
        usage = Usage(
            input_tokens=fresh + read + write_5m + write_1h,
            output_tokens=output,
            cache_read_tokens=read,
            cache_write_tokens=write_5m + write_1h,
            cache_write_5m_tokens=write_5m,
            cache_write_1h_tokens=write_1h,
        )
        try:
            price = calc_price(usage, model, provider_id=provider).total_price
        except LookupError:
            costs.append(None)
            continue
        costs.append(int((price * 1_000_000_000).to_integral_value(ROUND_HALF_EVEN)))
    return costs


def test_a_second_process_prices_from_disk_without_genai_prices(tmp_path: Path) -> None:
    expected = expected_costs()
    assert expected[0] is not None and expected[-1] is None
    assert price_in_a_new_process(tmp_path) == {"costs": expected, "imported": True}
    kept = json.loads((tmp_path / FILE_NAME).read_text())
    models = {key.split("\x1f")[0] for key in kept["rates"]}
    # o3's price depends on the date: it is derived again in every process that prices it.
    assert models == {m for m, *_ in CASES} - {"o3"}

    assert price_in_a_new_process(tmp_path) == {"costs": expected, "imported": True}
    fixed = [case for case in CASES if case[0] != "o3"]
    assert price_in_a_new_process(tmp_path, fixed) == {
        "costs": expected_costs(fixed),
        "imported": False,
    }


def test_rates_kept_for_another_genai_prices_are_derived_again(tmp_path: Path) -> None:
    price_in_a_new_process(tmp_path)
    kept = json.loads((tmp_path / FILE_NAME).read_text())
    wrong = {key: ["1", "1", "1", "1", "1", "1"] for key in kept["rates"]}
    (tmp_path / FILE_NAME).write_text(json.dumps({"stamp": "another install", "rates": wrong}))
    again = price_in_a_new_process(tmp_path)
    assert again == {"costs": expected_costs(), "imported": True}
    (tmp_path / FILE_NAME).write_text("not json")
    assert price_in_a_new_process(tmp_path)["costs"] == expected_costs()
