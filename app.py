#!/usr/bin/env python3
"""CDK entry point: `npx cdk synth -c stage=prod`. See README.md for the configuration reference."""

import sys

from config import ConfigError

try:
    from stacks.platform_app import build_app

    app, _ = build_app()
except ConfigError as error:
    # A bad stage config stops synth with one readable line, not a stack trace.
    print(f"Configuration error: {error}", file=sys.stderr)
    sys.exit(1)
app.synth()
