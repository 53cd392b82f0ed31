"""Manual setup: the app configures the OpenTelemetry SDK and the instrumentor itself."""

import os

from openai import OpenAI
from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk._logs.export import ConsoleLogRecordExporter, SimpleLogRecordProcessor
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import ConsoleMetricExporter, PeriodicExportingMetricReader
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import ConsoleSpanExporter, SimpleSpanProcessor

from openrouter_otel import OpenRouterInstrumentor, audit_context

resource = Resource.create({"service.name": "manual-example"})
tracer_provider = TracerProvider(resource=resource)
tracer_provider.add_span_processor(SimpleSpanProcessor(ConsoleSpanExporter()))
meter_provider = MeterProvider(resource=resource, metric_readers=[PeriodicExportingMetricReader(ConsoleMetricExporter())])
logger_provider = LoggerProvider(resource=resource)
logger_provider.add_log_record_processor(SimpleLogRecordProcessor(ConsoleLogRecordExporter()))

OpenRouterInstrumentor().instrument(
    tracer_provider=tracer_provider,  # each optional: the global providers otherwise
    meter_provider=meter_provider,
    logger_provider=logger_provider,
    capture_message_content=False,  # any setting of the Configuration table, overriding the environment
)

client = OpenAI(
    base_url=os.environ.get("OPENROUTER_BASE_URL", "https://openrouter.ai/api/v1"),
    api_key=os.environ["OPENROUTER_API_KEY"],
)
with audit_context(user_id="user-42", team="support", feature="ticket-summary"):
    response = client.chat.completions.create(
        model="anthropic/claude-sonnet-4.5",
        messages=[{"role": "user", "content": "Summarise this ticket in one line: the printer is on fire."}],
    )
print(response.choices[0].message.content)

for provider in (tracer_provider, meter_provider, logger_provider):
    provider.shutdown()  # flushes what is still buffered
