#!/usr/bin/env python3
"""The main script: ``python scripts/run.py [SPEC] [key=value ...] [-o DIR] [--resume | --force]``.

The same as ``geokeras run``; with no spec it runs the default, specs/quickstart.yaml.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from geokeras.cli import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main(["run", *sys.argv[1:]]))
