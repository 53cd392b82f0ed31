"""Deprecated alias of `openrouter_otel.server.replay`, kept so existing imports keep working.

`python -m openrouter_otel.replay` runs `openrouter-otel serve`.
"""

import sys

from openrouter_otel.server import replay as _replay

if __name__ == "__main__":
    from openrouter_otel.cli import main

    sys.exit(main(["serve", *sys.argv[1:]]))
sys.modules[__name__] = _replay
