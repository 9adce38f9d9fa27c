"""What a model turn costs, from the API's usage fields and a price table.

The cost cap is enforced from these numbers, so an unknown model is priced at the most
expensive known rate (a cap must never be too generous), and the table can be overridden.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

__all__ = ["DEFAULT_PRICES", "Price", "PriceTable", "TurnUsage"]


@dataclass(frozen=True)
class Price:
    """US dollars per million tokens."""

    input: float
    output: float

    @property
    def cache_write(self) -> float:  # 5-minute cache writes cost 1.25x input
        return self.input * 1.25

    @property
    def cache_read(self) -> float:  # cache hits cost 0.1x input
        return self.input * 0.1


@dataclass(frozen=True)
class TurnUsage:
    input_tokens: int = 0
    output_tokens: int = 0
    cache_creation_input_tokens: int = 0
    cache_read_input_tokens: int = 0


# Matched by longest prefix of the model id.
DEFAULT_PRICES: Mapping[str, Price] = {
    "claude-opus-4-1": Price(15.0, 75.0),
    "claude-opus-4-0": Price(15.0, 75.0),
    "claude-opus-4-2": Price(15.0, 75.0),
    "claude-opus-4": Price(5.0, 25.0),  # 4.5 and later
    "claude-sonnet": Price(3.0, 15.0),
    "claude-haiku-4": Price(1.0, 5.0),
    "claude-3-5-haiku": Price(0.8, 4.0),
    "claude-3-haiku": Price(0.25, 1.25),
}
_CEILING = Price(15.0, 75.0)


@dataclass(frozen=True)
class PriceTable:
    prices: Mapping[str, Price] = field(default_factory=lambda: dict(DEFAULT_PRICES))
    fallback: Price = _CEILING

    def price(self, model: str) -> tuple[Price, bool]:
        """The price for ``model`` and whether it was known (False: priced at the ceiling)."""
        best = ""
        for prefix in self.prices:
            if model.startswith(prefix) and len(prefix) > len(best):
                best = prefix
        if best:
            return self.prices[best], True
        return self.fallback, False

    def cost(self, model: str, usage: TurnUsage) -> float:
        price, _ = self.price(model)
        return (
            usage.input_tokens * price.input
            + usage.output_tokens * price.output
            + usage.cache_creation_input_tokens * price.cache_write
            + usage.cache_read_input_tokens * price.cache_read
        ) / 1_000_000
