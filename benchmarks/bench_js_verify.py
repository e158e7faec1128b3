"""The JavaScript verifier (portal/ocop_portal/static/js) against raw WebCrypto Ed25519, in Node, in one run.

Run from the repository root (after the README's set-up, or through ``python3 tasks.py bench``)::

    python -m benchmarks.bench_js_verify            # a 200-event batch, 15 rounds
    python -m benchmarks.bench_js_verify --quick    # 5 rounds

A consumer's phone verifies one batch: this builds a realistic 200-event batch (benchmarks/realistic.py: three
signers, Vietnamese places and data, a PDF every tenth step, an input batch, as ``bench_verify`` does) in a
bundle, and has Node verify it with ``verifyBundle`` and with raw ``crypto.subtle.verify`` of the same ToBeSigned
bytes, interleaved (see benchmarks/js_verify.mjs). Ratios are verifier rate / raw rate. Needs Node.js 20+.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from benchmarks.realistic import KEYS, story

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer rounds")
    parser.add_argument("--events", type=int, default=200)
    args = parser.parse_args()
    node = shutil.which("node")
    if node is None:
        sys.exit("this benchmark needs Node.js 20+ (node on PATH)")
    bundle = story(args.events).bundle
    keys = ",".join(f"{k.public_key.key_id.hex()}:{k.public_key.raw.hex()}" for k in KEYS)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "batch.ocop"
        path.write_bytes(bundle)
        rounds = "5" if args.quick else "15"
        result = subprocess.run(
            [node, str(ROOT / "benchmarks" / "js_verify.mjs"), str(path), keys, rounds],
            capture_output=True,
            text=True,
            check=True,
        )
    r = json.loads(result.stdout)
    print(f"{r['events']} events, {r['bytes']} bytes, Node {r['node']}, median of {r['rounds']} rounds\n")
    print(f"| {'figure':<34} | {'events/s':>9} |")
    print(f"| {'-' * 34} | {'-' * 9} |")
    for name, rate in r["rates"].items():
        print(f"| {name:<34} | {rate:>9} |")
    print(f"\nverifyBundle / raw verify one at a time: {r['ratio_to_raw_one_at_a_time']:.2f}x")
    print(f"verifyBundle / raw verify all at once:   {r['ratio_to_raw_all_at_once']:.2f}x")
    print(f"one {r['events']}-event batch: {r['batch_ms']:.1f} ms")


if __name__ == "__main__":
    main()
