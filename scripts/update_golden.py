"""Write tests/golden/*.json: the metrics of the golden cases and the hashes of the shipped specs.

    python scripts/update_golden.py            # every case and the spec hashes
    python scripts/update_golden.py quickstart # one case

Run it only when a change is meant to move results (tests/test_golden.py explains the cases).
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.test_golden import CASES, GOLDEN, SPEC_HASHES, run_case, spec_hashes  # noqa: E402


def write(path: Path, content: dict) -> None:
    path.write_text(json.dumps(content, indent=2, sort_keys=False) + "\n", encoding="utf-8")
    print(f"wrote {path}")


def main(names: list[str]) -> None:
    unknown = sorted(set(names) - set(CASES))
    if unknown:
        raise SystemExit(f"Expected case names among {sorted(CASES)}. Received: {unknown}.")
    GOLDEN.mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory() as scratch:
        for name in names or sorted(CASES):
            write(GOLDEN / f"{name}.json", run_case(name, Path(scratch) / name))
    if not names:
        write(SPEC_HASHES, spec_hashes())


if __name__ == "__main__":
    main(sys.argv[1:])
