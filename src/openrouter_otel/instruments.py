"""The metric instruments of DESIGN.md, created once per meter."""

from __future__ import annotations

from dataclasses import dataclass

from opentelemetry.metrics import Counter, Histogram, Meter

from openrouter_otel import semconv as sc


@dataclass(frozen=True)
class Instruments:
    duration: Histogram
    token_usage: Histogram
    time_to_first_chunk: Histogram
    cost: Histogram
    policy_violations: Counter

    @classmethod
    def create(cls, meter: Meter) -> Instruments:
        return cls(
            duration=meter.create_histogram(
                sc.METRIC_OPERATION_DURATION,
                unit="s",
                description="Duration of GenAI client operations",
                explicit_bucket_boundaries_advisory=list(sc.DURATION_BUCKETS),
            ),
            token_usage=meter.create_histogram(
                sc.METRIC_TOKEN_USAGE,
                unit="{token}",
                description="Tokens used per GenAI client operation, by gen_ai.token.type",
                explicit_bucket_boundaries_advisory=list(sc.TOKEN_BUCKETS),
            ),
            time_to_first_chunk=meter.create_histogram(
                sc.METRIC_TIME_TO_FIRST_CHUNK,
                unit="s",
                description="Time from request to the first streamed chunk",
                explicit_bucket_boundaries_advisory=list(sc.DURATION_BUCKETS),
            ),
            cost=meter.create_histogram(
                sc.METRIC_COST,
                unit="USD",
                description="Cost in USD per GenAI client operation",
                explicit_bucket_boundaries_advisory=list(sc.COST_BUCKETS),
            ),
            policy_violations=meter.create_counter(
                sc.METRIC_POLICY_VIOLATIONS,
                unit="{violation}",
                description="Policy rules broken by GenAI client operations, by rule and team",
            ),
        )
