from __future__ import annotations

import pytest

from desktop.core.pricing import Price, PriceTable, TurnUsage


def test_sonnet_turn_with_cache() -> None:
    table = PriceTable()
    usage = TurnUsage(input_tokens=1_000, output_tokens=2_000, cache_creation_input_tokens=10_000,
                      cache_read_input_tokens=100_000)
    # 1k*3 + 2k*15 + 10k*3.75 + 100k*0.3 = 3000 + 30000 + 37500 + 30000 per million
    assert table.cost("claude-sonnet-4-6", usage) == pytest.approx(0.1005)


def test_longest_prefix_wins() -> None:
    table = PriceTable()
    assert table.price("claude-opus-4-1-20250805") == (Price(15.0, 75.0), True)
    assert table.price("claude-opus-4-6") == (Price(5.0, 25.0), True)


def test_unknown_model_is_priced_at_the_ceiling_so_caps_stay_safe() -> None:
    price, known = PriceTable().price("claude-something-new")
    assert not known
    assert price.output == max(p.output for p in PriceTable().prices.values())
