"""Deprecated alias of `openrouter_otel.server.replay`, kept so existing imports keep working."""

import sys

from openrouter_otel.server import replay as _replay

sys.modules[__name__] = _replay
