"""`python -m assistant.cli …`: the core's commands without the page."""

import sys

from .commands import main

sys.exit(main())
