"""`python -m clientlens.demo`: see clientlens.demo.cli."""
import sys

from clientlens.demo.cli import main

if __name__ == "__main__":
    sys.exit(main())
