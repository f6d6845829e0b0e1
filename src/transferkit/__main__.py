"""``python -m transferkit``."""

import sys

from transferkit.cli.main import main

if __name__ == "__main__":
    sys.exit(main())
