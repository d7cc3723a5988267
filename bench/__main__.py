"""`make bench`: run every benchmark script in bench/ (or the ones named) in turn."""

from __future__ import annotations

import runpy
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
SKIP = {"__init__", "__main__", "common"}


def main(names: list[str]) -> int:
    scripts = sorted(p for p in HERE.glob("*.py") if p.stem not in SKIP)
    if names:
        scripts = [p for p in scripts if p.stem in names]
    for script in scripts:
        print(f"== bench/{script.name}", flush=True)
        runpy.run_path(str(script), run_name="__main__")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
