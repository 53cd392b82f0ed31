"""The embedded OpenRouter-compatible server (`openrouter-otel serve`, the demo and the test suite).

Standard library only. It lives in its own subpackage so the instrumentation itself never imports it.
"""

from openrouter_otel.server.replay import *  # noqa: F403
from openrouter_otel.server.replay import __all__  # noqa: F401
