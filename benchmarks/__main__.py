"""Run every benchmark: ``python -m benchmarks [--quick]`` (or ``python3 tasks.py bench [--quick]``).

Each ``benchmarks/bench_*.py`` module runs in its own process, one after the other, so that one's memory and
worker processes never disturb the next; each prints its own table of figures and ratios to the raw primitive
measured in the same run. See docs/performance.md.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path


def main() -> None:
    args = sys.argv[1:]
    modules = sorted(p.stem for p in Path(__file__).resolve().parent.glob("bench_*.py"))
    failed = []
    for name in modules:
        print(f"\n## {name}  (python -m benchmarks.{name} {' '.join(args)})\n", flush=True)
        start = time.perf_counter()
        result = subprocess.run([sys.executable, "-m", f"benchmarks.{name}", *args], check=False)
        if result.returncode:
            failed.append(name)
        print(f"\n({name}: {time.perf_counter() - start:.0f} s)", flush=True)
    if failed:
        sys.exit(f"benchmarks failed: {', '.join(failed)}")


if __name__ == "__main__":
    main()
