"""Read images in this (fresh) process and report what each cost: ``python -m tests.images.measure FILE...``.

Prints one JSON object: for each file its error code (or ``"read"``), the seconds ``scan_one`` took with the
defaults, and the peak resident memory (VmHWM) of this process and of the decoder worker, in MB. Peaks come from
``/proc/PID/status`` (Linux), sampled every 2 ms for the worker (it may be killed at the end of its budget): not
from ``getrusage``, whose ``ru_maxrss`` includes the memory of the process that started this one.
Used by tests/unit/test_qr_images.py and benchmarks/bench_qr.py.
"""

from __future__ import annotations

import json
import sys
import threading
import time
from pathlib import Path

import ocop_provenance as op
from ocop_provenance import _qr
from ocop_provenance.seals import scan_one


def peak_mb(pid: int | str) -> float:
    """The peak resident memory of a process (VmHWM), in MB; 0 when it cannot be read."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except (OSError, ValueError):
        pass
    return 0.0


def main() -> None:
    worker_peak = 0.0
    done = threading.Event()

    def watch() -> None:
        nonlocal worker_peak
        while not done.wait(0.002):
            proc = _qr._DECODER._proc
            if proc is not None:
                worker_peak = max(worker_peak, peak_mb(proc.pid))

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    results = {}
    for path in sys.argv[1:]:
        data = Path(path).read_bytes()
        start = time.perf_counter()
        try:
            scan_one(data)
            code = "read"
        except op.FormatError as e:
            code = e.code
        results[path] = [code, time.perf_counter() - start]
    time.sleep(0.01)
    done.set()
    watcher.join()
    _qr._DECODER.close()
    print(json.dumps({"results": results, "self_mb": peak_mb("self"), "worker_mb": worker_peak}))


if __name__ == "__main__":
    main()
