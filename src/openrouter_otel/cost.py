"""Cost in USD of one call: OpenRouter's own figure when the response carries it, else a price-table estimate.

No network: the estimate uses the price data bundled with `genai-prices`. An unknown model gets no cost.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from openrouter_otel import semconv as sc
from openrouter_otel.extract import put
from openrouter_otel.facts import Usage

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Cost:
    usd: float | None = None
    source: str | None = None
    upstream_usd: float | None = None
    is_byok: bool | None = None

    def attributes(self) -> dict[str, Any]:
        attributes: dict[str, Any] = {}
        put(attributes, sc.GEN_AI_USAGE_COST, self.usd)
        put(attributes, sc.OPENROUTER_COST_SOURCE, self.source if self.usd is not None else None)
        put(attributes, sc.OPENROUTER_COST_UPSTREAM, self.upstream_usd)
        put(attributes, sc.OPENROUTER_IS_BYOK, self.is_byok)
        return attributes


def resolve_cost(usage: Usage | None, *, model: str | None, provider_name: str | None) -> Cost:
    """OpenRouter's `usage.cost` when present; otherwise an estimate from the price table, or no cost."""
    if usage is None:
        return Cost()
    reported = usage.reported_cost
    if reported is not None and reported >= 0:
        return Cost(reported, sc.COST_SOURCE_RESPONSE, usage.upstream_cost, usage.is_byok)
    estimate = estimate_cost(usage, model=model, provider_name=provider_name)
    return Cost(estimate, sc.COST_SOURCE_ESTIMATE if estimate is not None else None, usage.upstream_cost,
                usage.is_byok)


def estimate_cost(usage: Usage, *, model: str | None, provider_name: str | None) -> float | None:
    if not model:
        return None
    input_tokens, output_tokens = usage.input_tokens, usage.output_tokens
    if input_tokens is None and output_tokens is None:
        return None
    cached = min(usage.cache_read_tokens or 0, input_tokens or 0)
    return _price(model, provider_name, input_tokens or 0, output_tokens or 0, cached)


@lru_cache(maxsize=4096)
def _price(model: str, provider_name: str | None, input_tokens: int, output_tokens: int, cached: int) -> float | None:
    try:
        from genai_prices import Usage, calc_price
    except ImportError:  # pragma: no cover - genai-prices is a dependency
        return None
    usage = Usage(input_tokens=input_tokens, output_tokens=output_tokens, cache_read_tokens=cached or None)
    for provider_id in _provider_candidates(model, provider_name):
        try:
            result = calc_price(usage, model_ref=model, provider_id=provider_id)
        except LookupError:
            continue
        except Exception:  # a price-table bug must never reach the application
            logger.debug("openrouter-otel: price lookup failed for %s", model, exc_info=True)
            return None
        return float(result.total_price)
    return None


def _provider_candidates(model: str, provider_name: str | None) -> tuple[str, ...]:
    # OpenRouter slugs ("vendor/model") price from OpenRouter's table. Elsewhere only OpenAI's own model
    # names are priced: a "vendor/model" name on another host is likely self-hosted and has no list price.
    if provider_name == sc.PROVIDER_OPENROUTER:
        return ("openrouter",)
    if "/" in model:
        return ()
    return ("openai",)
