"""``python -m bench.seed``: see ``bench.seed``."""

import sys

from bench.seed import main

sys.exit(main())
