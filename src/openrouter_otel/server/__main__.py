"""`python -m openrouter_otel.server [--port N]`: the same as `openrouter-otel serve`."""

import sys

from openrouter_otel.cli import main

sys.exit(main(["serve", *sys.argv[1:]]))
