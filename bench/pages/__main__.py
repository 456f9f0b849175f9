"""``python -m bench.pages``: see ``bench.pages``."""

import sys

from bench.pages import main

sys.exit(main())
