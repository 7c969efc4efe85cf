"""`python -m clickatell_relay` is the `clickatell-relay` command."""

import sys

from .cli import main

sys.exit(main())
