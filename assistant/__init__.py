"""index → retrieval → answers, precedents, the office's service and the command line, in packages by job;
each package's docstring says what it may import (tests/test_layers.py checks)."""
