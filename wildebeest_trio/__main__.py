"""`python -m wildebeest_trio`."""

import sys

from .cli import main

sys.exit(main())
