#!/usr/bin/env python3
"""The main script: ``python scripts/run.py [SPEC] [key=value ...] [-o DIR] [--resume]``.

The same as ``geokeras run``; with no spec it runs the default, specs/quickstart.yaml.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from geokeras.cli import DEFAULT_SPEC, main  # noqa: E402

if __name__ == "__main__":
    arguments = sys.argv[1:]
    if not arguments or arguments[0].startswith("-") or "=" in arguments[0]:
        arguments = [str(DEFAULT_SPEC), *arguments]
    sys.exit(main(["run", *arguments]))
