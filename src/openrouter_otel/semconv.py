"""Every attribute, metric and event name this package emits, defined once.

Code, tests, dashboards and alert rules refer to these names; nothing else spells them out.
GenAI names follow the OpenTelemetry GenAI semantic conventions (v1.41).
"""

from typing import Final

# The instrumentation scope of every span, metric and log record this package makes.
INSTRUMENTATION_SCOPE: Final = "openrouter_otel"

# --- GenAI semantic conventions -------------------------------------------------------------
GEN_AI_OPERATION_NAME: Final = "gen_ai.operation.name"
GEN_AI_PROVIDER_NAME: Final = "gen_ai.provider.name"
GEN_AI_REQUEST_MODEL: Final = "gen_ai.request.model"
GEN_AI_REQUEST_MAX_TOKENS: Final = "gen_ai.request.max_tokens"
GEN_AI_REQUEST_TEMPERATURE: Final = "gen_ai.request.temperature"
GEN_AI_REQUEST_TOP_P: Final = "gen_ai.request.top_p"
GEN_AI_REQUEST_SEED: Final = "gen_ai.request.seed"
GEN_AI_REQUEST_STOP_SEQUENCES: Final = "gen_ai.request.stop_sequences"
GEN_AI_REQUEST_FREQUENCY_PENALTY: Final = "gen_ai.request.frequency_penalty"
GEN_AI_REQUEST_PRESENCE_PENALTY: Final = "gen_ai.request.presence_penalty"
GEN_AI_REQUEST_CHOICE_COUNT: Final = "gen_ai.request.choice.count"
GEN_AI_REQUEST_STREAM: Final = "gen_ai.request.stream"
GEN_AI_RESPONSE_MODEL: Final = "gen_ai.response.model"
GEN_AI_RESPONSE_ID: Final = "gen_ai.response.id"
GEN_AI_RESPONSE_FINISH_REASONS: Final = "gen_ai.response.finish_reasons"
GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK: Final = "gen_ai.response.time_to_first_chunk"
GEN_AI_USAGE_INPUT_TOKENS: Final = "gen_ai.usage.input_tokens"
GEN_AI_USAGE_OUTPUT_TOKENS: Final = "gen_ai.usage.output_tokens"
GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS: Final = "gen_ai.usage.cache_read.input_tokens"
GEN_AI_USAGE_CACHE_CREATION_INPUT_TOKENS: Final = "gen_ai.usage.cache_creation.input_tokens"
# The conventions' newer name for the same count; spans carry both (dashboards and the audit record keep the older).
GEN_AI_USAGE_CACHE_WRITE_INPUT_TOKENS: Final = "gen_ai.usage.cache_write.input_tokens"
GEN_AI_USAGE_REASONING_OUTPUT_TOKENS: Final = "gen_ai.usage.reasoning.output_tokens"
GEN_AI_USAGE_COST: Final = "gen_ai.usage.cost"
GEN_AI_TOKEN_TYPE: Final = "gen_ai.token.type"
GEN_AI_INPUT_MESSAGES: Final = "gen_ai.input.messages"
GEN_AI_OUTPUT_MESSAGES: Final = "gen_ai.output.messages"

SERVER_ADDRESS: Final = "server.address"
SERVER_PORT: Final = "server.port"
ERROR_TYPE: Final = "error.type"
ENDUSER_ID: Final = "enduser.id"
HTTP_RESPONSE_STATUS_CODE: Final = "http.response.status_code"

# Values of gen_ai.operation.name / gen_ai.provider.name / gen_ai.token.type
OPERATION_CHAT: Final = "chat"
OPERATION_TEXT_COMPLETION: Final = "text_completion"
OPERATION_EMBEDDINGS: Final = "embeddings"
PROVIDER_OPENROUTER: Final = "openrouter"
# OpenRouter's API, where the command line goes when no base URL is given.
OPENROUTER_BASE_URL: Final = "https://openrouter.ai/api/v1"
PROVIDER_OPENAI: Final = "openai"
TOKEN_TYPE_INPUT: Final = "input"
TOKEN_TYPE_OUTPUT: Final = "output"

# --- OpenRouter and audit -------------------------------------------------------------------
OPENROUTER_PROVIDER: Final = "openrouter.provider"
OPENROUTER_COST_SOURCE: Final = "openrouter.cost.source"
OPENROUTER_COST_UPSTREAM: Final = "openrouter.cost.upstream"
OPENROUTER_IS_BYOK: Final = "openrouter.is_byok"
OPENROUTER_PROMPT_HASH: Final = "openrouter.prompt.hash"
OPENROUTER_API_KEY_FINGERPRINT: Final = "openrouter.api_key.fingerprint"
OPENROUTER_REQUEST_MODELS: Final = "openrouter.request.models"
OPENROUTER_REQUEST_PROVIDER_PREFIX: Final = "openrouter.request.provider."
OPENROUTER_REQUEST_PROVIDER_ORDER: Final = "openrouter.request.provider.order"
OPENROUTER_REQUEST_PROVIDER_ONLY: Final = "openrouter.request.provider.only"
OPENROUTER_REQUEST_PROVIDER_IGNORE: Final = "openrouter.request.provider.ignore"
OPENROUTER_REQUEST_PROVIDER_ALLOW_FALLBACKS: Final = "openrouter.request.provider.allow_fallbacks"
OPENROUTER_REQUEST_PROVIDER_DATA_COLLECTION: Final = "openrouter.request.provider.data_collection"
OPENROUTER_REQUEST_PROVIDER_ZDR: Final = "openrouter.request.provider.zdr"
OPENROUTER_APP_TITLE: Final = "openrouter.app.title"
OPENROUTER_APP_REFERER: Final = "openrouter.app.referer"
OPENROUTER_TEAM: Final = "openrouter.team"
OPENROUTER_CLASSIFICATION: Final = "openrouter.classification"
OPENROUTER_AUDIT_PREFIX: Final = "openrouter."
OPENROUTER_RETRY_COUNT: Final = "openrouter.request.retry_count"
OPENROUTER_ERROR_PROVIDER: Final = "openrouter.error.provider"
OPENROUTER_ERROR_CODE: Final = "openrouter.error.code"
OPENROUTER_STREAM_OUTCOME: Final = "openrouter.stream.outcome"
OPENROUTER_LATENCY: Final = "openrouter.latency"
OPENROUTER_STATUS: Final = "openrouter.status"
# The ids of the policy rules a call broke (policy.py), on the span and the audit record.
OPENROUTER_POLICY_VIOLATIONS: Final = "openrouter.policy.violations"

# A call the caller cancelled (asyncio.CancelledError): its own outcome, not an error of the call.
# The same value is error.type, openrouter.stream.outcome and the audit's openrouter.status.
OUTCOME_CANCELLED: Final = "cancelled"
STREAM_OUTCOME_ABANDONED: Final = "abandoned"
STREAM_OUTCOME_COMPLETED: Final = "completed"
STREAM_OUTCOME_CLOSED: Final = "closed"
STREAM_OUTCOME_ERROR: Final = "error"
# The finish reason of a choice whose stream was cut (cancelled, failed, closed or abandoned before it finished).
FINISH_REASON_ERROR: Final = "error"

COST_SOURCE_RESPONSE: Final = "response"
COST_SOURCE_GENERATION: Final = "generation"
COST_SOURCE_ESTIMATE: Final = "estimate"

# Routing-policy keys of OpenRouter's `provider` request object that we record.
ROUTING_PROVIDER_KEYS: Final = ("order", "only", "ignore", "allow_fallbacks", "data_collection", "zdr")

# --- Metrics --------------------------------------------------------------------------------
METRIC_OPERATION_DURATION: Final = "gen_ai.client.operation.duration"
METRIC_TOKEN_USAGE: Final = "gen_ai.client.token.usage"
METRIC_TIME_TO_FIRST_CHUNK: Final = "gen_ai.client.operation.time_to_first_chunk"
METRIC_COST: Final = "gen_ai.usage.cost"
METRIC_REDACTIONS: Final = "openrouter.redactions"
PII_TYPE: Final = "pii.type"
METRIC_POLICY_VIOLATIONS: Final = "openrouter.policy.violations"
# Attributes of the violations counter (with openrouter.team, bounded like every team label).
POLICY_RULE: Final = "openrouter.policy.rule"
# Key credit gauges (keys.py), USD, labelled by key fingerprint; expiry in seconds from now.
METRIC_KEY_LIMIT: Final = "openrouter.key.limit"
METRIC_KEY_LIMIT_REMAINING: Final = "openrouter.key.limit_remaining"
METRIC_KEY_USAGE_DAILY: Final = "openrouter.key.usage.daily"
METRIC_KEY_USAGE_WEEKLY: Final = "openrouter.key.usage.weekly"
METRIC_KEY_USAGE_MONTHLY: Final = "openrouter.key.usage.monthly"
METRIC_KEY_BYOK_USAGE: Final = "openrouter.key.byok_usage"
METRIC_KEY_EXPIRES_IN: Final = "openrouter.key.expires_in"

# Prometheus spellings of the metrics above, as the collector's prometheus exporter and
# opentelemetry-exporter-prometheus write them. Dashboards and alert rules use these; a test
# checks them against real exported telemetry.
PROM_OPERATION_DURATION: Final = "gen_ai_client_operation_duration_seconds"
PROM_TOKEN_USAGE: Final = "gen_ai_client_token_usage"
PROM_TIME_TO_FIRST_CHUNK: Final = "gen_ai_client_operation_time_to_first_chunk_seconds"
PROM_COST: Final = "gen_ai_usage_cost_USD"
PROM_REDACTIONS: Final = "openrouter_redactions_total"
PROM_POLICY_VIOLATIONS: Final = "openrouter_policy_violations_total"
PROM_KEY_LIMIT: Final = "openrouter_key_limit_USD"
PROM_KEY_LIMIT_REMAINING: Final = "openrouter_key_limit_remaining_USD"
PROM_KEY_USAGE_DAILY: Final = "openrouter_key_usage_daily_USD"
PROM_KEY_USAGE_WEEKLY: Final = "openrouter_key_usage_weekly_USD"
PROM_KEY_USAGE_MONTHLY: Final = "openrouter_key_usage_monthly_USD"
PROM_KEY_BYOK_USAGE: Final = "openrouter_key_byok_usage_USD"
PROM_KEY_EXPIRES_IN: Final = "openrouter_key_expires_in_seconds"
PROM_KEY_GAUGES: Final = (PROM_KEY_LIMIT, PROM_KEY_LIMIT_REMAINING, PROM_KEY_USAGE_DAILY, PROM_KEY_USAGE_WEEKLY,
                          PROM_KEY_USAGE_MONTHLY, PROM_KEY_BYOK_USAGE, PROM_KEY_EXPIRES_IN)

# Bucket boundaries recommended by the GenAI semantic conventions.
DURATION_BUCKETS: Final = (0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92)
TOKEN_BUCKETS: Final = (1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864)
COST_BUCKETS: Final = (0.00001, 0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 10.0)

# --- Audit event ----------------------------------------------------------------------------
AUDIT_EVENT_NAME: Final = "openrouter.audit"
# The audit store's chain head, published so it is also held outside the machine.
AUDIT_CHECKPOINT_EVENT_NAME: Final = "openrouter.audit.checkpoint"
# Its attributes: the head's row number and hash, how the chain is hashed, which store, which HMAC key (an id).
AUDIT_CHECKPOINT_SEQ: Final = "openrouter.audit.seq"
AUDIT_CHECKPOINT_HASH: Final = "openrouter.audit.hash"
AUDIT_CHECKPOINT_ALGORITHM: Final = "openrouter.audit.algorithm"
AUDIT_CHECKPOINT_STORE_ID: Final = "openrouter.audit.store_id"
AUDIT_CHECKPOINT_KEY_ID: Final = "openrouter.audit.key_id"

# Attributes that may go on metric points (low cardinality). enduser.id only on opt-in.
METRIC_ATTRIBUTE_KEYS: Final = (
    GEN_AI_OPERATION_NAME,
    GEN_AI_PROVIDER_NAME,
    GEN_AI_REQUEST_MODEL,
    GEN_AI_RESPONSE_MODEL,
    OPENROUTER_PROVIDER,
    SERVER_ADDRESS,
    ERROR_TYPE,
    OPENROUTER_TEAM,
)

# --- Configuration ---------------------------------------------------------------------------
ENV_CAPTURE_MESSAGE_CONTENT: Final = "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT"
ENV_REDACTION: Final = "OTEL_INSTRUMENTATION_OPENROUTER_REDACTION"
ENV_PROMPT_HASH_KEY: Final = "OTEL_INSTRUMENTATION_OPENROUTER_PROMPT_HASH_KEY"
ENV_METRICS_ENDUSER: Final = "OTEL_INSTRUMENTATION_OPENROUTER_METRICS_ENDUSER"
ENV_AUDIT_EVENTS: Final = "OTEL_INSTRUMENTATION_OPENROUTER_AUDIT_EVENTS"
ENV_FETCH_GENERATION: Final = "OTEL_INSTRUMENTATION_OPENROUTER_FETCH_GENERATION"
# Additions to DESIGN.md's table, for tuning the redactor without code (zero-code setups).
ENV_REDACTION_DISABLE: Final = "OTEL_INSTRUMENTATION_OPENROUTER_REDACTION_DISABLE"
ENV_REDACTION_PATTERNS: Final = "OTEL_INSTRUMENTATION_OPENROUTER_REDACTION_PATTERNS"
ENV_REDACTION_HASH_KEY: Final = "OTEL_INSTRUMENTATION_OPENROUTER_REDACTION_HASH_KEY"
# Audit identity: audit_context fields stay in the process unless these opt in (DESIGN.md: "only when the
# user opts in"), and metric team labels stay bounded.
ENV_AUDIT_BAGGAGE_PROPAGATE: Final = "OTEL_INSTRUMENTATION_OPENROUTER_AUDIT_BAGGAGE_PROPAGATE"
ENV_AUDIT_BAGGAGE_ACCEPT: Final = "OTEL_INSTRUMENTATION_OPENROUTER_AUDIT_BAGGAGE_ACCEPT"
ENV_AUDIT_BAGGAGE_KEYS: Final = "OTEL_INSTRUMENTATION_OPENROUTER_AUDIT_BAGGAGE_KEYS"
ENV_AUDIT_BAGGAGE_MAX_LENGTH: Final = "OTEL_INSTRUMENTATION_OPENROUTER_AUDIT_BAGGAGE_MAX_LENGTH"
ENV_METRICS_TEAMS: Final = "OTEL_INSTRUMENTATION_OPENROUTER_METRICS_TEAMS"
ENV_METRICS_TEAM_CAP: Final = "OTEL_INSTRUMENTATION_OPENROUTER_METRICS_TEAM_CAP"
# The embedded audit store (DESIGN.md's AUDIT_DB), and how it writes and chains.
ENV_AUDIT_DB: Final = "OTEL_INSTRUMENTATION_OPENROUTER_AUDIT_DB"
ENV_AUDIT_DB_SYNC: Final = "OTEL_INSTRUMENTATION_OPENROUTER_AUDIT_DB_SYNC"
ENV_AUDIT_HMAC_KEY: Final = "OTEL_INSTRUMENTATION_OPENROUTER_AUDIT_HMAC_KEY"
ENV_AUDIT_CHECKPOINT_EVERY: Final = "OTEL_INSTRUMENTATION_OPENROUTER_AUDIT_CHECKPOINT_EVERY"
# The policy file every call is checked against, and key credit telemetry (DESIGN.md).
ENV_POLICY: Final = "OTEL_INSTRUMENTATION_OPENROUTER_POLICY"
ENV_KEY_METRICS: Final = "OTEL_INSTRUMENTATION_OPENROUTER_KEY_METRICS"
ENV_KEY_METRICS_INTERVAL: Final = "OTEL_INSTRUMENTATION_OPENROUTER_KEY_METRICS_INTERVAL"
# Other HTTP clients (httpx, requests): hosts or base URLs besides openrouter.ai whose inference calls are recorded.
ENV_HOSTS: Final = "OTEL_INSTRUMENTATION_OPENROUTER_HOSTS"
# Record each ended call in the caller's thread instead of the background worker (tests, short scripts).
ENV_SYNCHRONOUS: Final = "OTEL_INSTRUMENTATION_OPENROUTER_SYNCHRONOUS"

# Baggage keys of audit fields (when propagated or accepted): `openrouter.<field>`, `openrouter.user_id` for enduser.id.
AUDIT_BAGGAGE_PREFIX: Final = "openrouter."
AUDIT_USER_FIELD: Final = "user_id"
# Characters an accepted inbound baggage value may contain (anything else rejects the value).
AUDIT_BAGGAGE_VALUE_PATTERN: Final = r"[A-Za-z0-9._:@/-]+"
# The metric label of every team beyond the allow-list or the cap.
TEAM_LABEL_OTHER: Final = "other"

# Attributes of the `openrouter.audit` log record (those known for the call; trace and span ids travel
# in the record's context). Audit-context extras (`openrouter.<field>`) are added to these.
AUDIT_ATTRIBUTE_KEYS: Final = (
    GEN_AI_OPERATION_NAME,
    GEN_AI_PROVIDER_NAME,
    SERVER_ADDRESS,
    GEN_AI_RESPONSE_ID,
    GEN_AI_REQUEST_MODEL,
    GEN_AI_RESPONSE_MODEL,
    OPENROUTER_PROVIDER,
    GEN_AI_USAGE_INPUT_TOKENS,
    GEN_AI_USAGE_OUTPUT_TOKENS,
    GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS,
    GEN_AI_USAGE_CACHE_CREATION_INPUT_TOKENS,
    GEN_AI_USAGE_REASONING_OUTPUT_TOKENS,
    GEN_AI_USAGE_COST,
    OPENROUTER_COST_SOURCE,
    OPENROUTER_COST_UPSTREAM,
    OPENROUTER_IS_BYOK,
    OPENROUTER_LATENCY,
    OPENROUTER_STATUS,
    ERROR_TYPE,
    OPENROUTER_ERROR_PROVIDER,
    ENDUSER_ID,
    OPENROUTER_TEAM,
    OPENROUTER_PROMPT_HASH,
    OPENROUTER_API_KEY_FINGERPRINT,
    OPENROUTER_REQUEST_MODELS,
    OPENROUTER_REQUEST_PROVIDER_ORDER,
    OPENROUTER_REQUEST_PROVIDER_ONLY,
    OPENROUTER_REQUEST_PROVIDER_IGNORE,
    OPENROUTER_REQUEST_PROVIDER_ALLOW_FALLBACKS,
    OPENROUTER_REQUEST_PROVIDER_DATA_COLLECTION,
    OPENROUTER_REQUEST_PROVIDER_ZDR,
    OPENROUTER_APP_TITLE,
    OPENROUTER_POLICY_VIOLATIONS,
)

# Audit fields every record carries, whatever the outcome (DESIGN.md's list; tokens and cost when known).
AUDIT_REQUIRED_KEYS: Final = (
    GEN_AI_OPERATION_NAME,
    GEN_AI_PROVIDER_NAME,
    GEN_AI_REQUEST_MODEL,
    OPENROUTER_LATENCY,
    OPENROUTER_STATUS,
    OPENROUTER_PROMPT_HASH,
    OPENROUTER_API_KEY_FINGERPRINT,
)

# --- Policy rules (policy.py): the ids on openrouter.policy.violations and the counter's rule label ----------
# Knowable before sending (the only ones enforce mode can block):
RULE_TEAM_MODEL: Final = "team_model"              # a requested model not on the team's allow-list
RULE_FALLBACKS: Final = "fallbacks"                # classification forbids fallbacks; request did not set allow_fallbacks: false
RULE_ZDR: Final = "zdr"                            # classification requires zero data retention; request did not set zdr: true
RULE_DATA_COLLECTION: Final = "data_collection"    # classification requires data_collection: deny; request did not set it
RULE_FREE_MODEL: Final = "free_model"              # a `:free` model for a classification that forbids them
# Known only once the call ended:
RULE_PROVIDER: Final = "provider"                  # served by a provider not on the global approved list
RULE_CLASSIFICATION_PROVIDER: Final = "classification_provider"  # ... not on the classification's list
RULE_TEAM_BUDGET: Final = "team_budget"            # the team's spend this hour/day/month went over its budget
RULE_USER_BUDGET: Final = "user_budget"            # the user's spend ...
RULE_TOTAL_BUDGET: Final = "total_budget"          # everyone's spend together ...
PRE_SEND_RULES: Final = (RULE_TEAM_MODEL, RULE_FALLBACKS, RULE_ZDR, RULE_DATA_COLLECTION, RULE_FREE_MODEL)
POLICY_RULES: Final = (*PRE_SEND_RULES, RULE_PROVIDER, RULE_CLASSIFICATION_PROVIDER,
                       RULE_TEAM_BUDGET, RULE_USER_BUDGET, RULE_TOTAL_BUDGET)
