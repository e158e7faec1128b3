"""Judge one hostile input in this (fresh) process and print what it cost, as one JSON line.

``python -m tests.hostile.measure ENTRY FILE`` reads FILE, runs the entry point on it (see
:func:`tests.hostile.generate.judge`) and prints ``{"code", "seconds", "peak_mb", "base_mb"}``: the code it gave,
the wall time of the entry point alone, this process's peak resident set at the end and before the call (the
library imported and the input read): VmHWM on Linux, ``getrusage`` elsewhere.
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import time
from pathlib import Path

from tests.hostile.generate import judge, trusted

ROOT = Path(__file__).resolve().parents[2]


def _peak_mb() -> float:
    # Linux: VmHWM, this process's own peak (ru_maxrss keeps the peak of the process that forked it across exec).
    status = Path("/proc/self/status")
    if status.exists():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1 << 20) if sys.platform == "darwin" else peak / 1024


def in_fresh_process(entry: str, path: Path) -> dict[str, float | str]:
    """Run this module on ``entry`` and ``path`` in a new interpreter; return what it printed."""
    done = subprocess.run(
        [sys.executable, "-m", "tests.hostile.measure", entry, str(path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    result: dict[str, float | str] = json.loads(done.stdout)
    return result


def main(argv: list[str]) -> int:
    """Measure ``argv = [ENTRY, FILE]``."""
    entry, path = argv
    data = Path(path).read_bytes()
    trust = trusted() if entry == "verify_policy" else None
    base = _peak_mb()
    start = time.perf_counter()
    code = judge(entry, data, trust)
    seconds = time.perf_counter() - start
    print(json.dumps({"code": code, "seconds": round(seconds, 3), "peak_mb": round(_peak_mb(), 1),
                      "base_mb": round(base, 1)}))  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
