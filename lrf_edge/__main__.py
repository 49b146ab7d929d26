"""`python -m lrf_edge` runs the command line."""

import sys

from lrf_edge.cli.main import main

sys.exit(main())
