"""One-core verification of the same realistic bundle by this checkout and another one, in the same minutes.

Run from the repository root::

    git worktree add /tmp/before c21f4cf~1
    python -m benchmarks.compare_revisions /tmp/before

The bundle (benchmarks/realistic.py, 20,003 events) is written by this checkout; each checkout then verifies it in
a fresh process with its own ``verify_bundle`` (old or new calling convention), alternating with rounds of raw
``crypto_sign_open`` over the same events. Figures are this process's CPU time per event (the steadier measure on
a shared machine), the best of five rounds, and the ratio raw / verify.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

CHILD = r"""
import io, json, sys, time
import ocop_provenance as op
from nacl.bindings import crypto_sign_open
data = open(sys.argv[1], "rb").read()
keys = [op.PublicKey.from_raw(bytes.fromhex(h)) for h in sys.argv[2].split(",")]
ring = op.KeyRing.of(keys)
def run():
    if hasattr(op, "VerifyOptions"):
        options = op.VerifyOptions(keys=ring, now=op.NO_CLOCK, backend="libsodium")
        return op.verify_bundle(io.BytesIO(data), options, root=op.ANY_BATCH)
    return op.verify_bundle(io.BytesIO(data), ring, backend="libsodium")
messages = [tuple(bytes.fromhex(x) for x in line.split()) for line in open(sys.argv[3])]
def raw():
    for sm, pk in messages:
        crypto_sign_open(sm, pk)
def cpu(fn):
    start = time.process_time(); fn(); return (time.process_time() - start) / len(messages)
r, v = [], []
for _ in range(5):
    r.append(cpu(raw)); v.append(cpu(run))
print(json.dumps({"raw": min(r), "verify": min(v)}))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("other", type=Path, help="another checkout of this repository (e.g. a git worktree)")
    args = parser.parse_args()
    from benchmarks.realistic import KEYS, story

    s = story(20_000)
    with tempfile.TemporaryDirectory() as tmp:
        bundle, messages = Path(tmp) / "story.ocop", Path(tmp) / "messages.txt"
        bundle.write_bytes(s.bundle)
        messages.write_text("".join(f"{(sig + tbs).hex()} {pk.hex()}\n" for sig, tbs, pk in s.messages()))
        keys = ",".join(k.public_key.raw.hex() for k in KEYS)
        for label, tree in (("other", args.other.resolve()), ("this", ROOT), ("other", args.other.resolve())):
            env = {**os.environ, "PYTHONPATH": str(tree), "PYTHONWARNINGS": "ignore"}
            out = subprocess.run(
                [sys.executable, "-c", CHILD, str(bundle), keys, str(messages)],
                env=env,
                capture_output=True,
                text=True,
                check=True,
            )
            r = json.loads(out.stdout)
            raw, verify = r["raw"] * 1e6, r["verify"] * 1e6
            print(
                f"{label:5} {tree}: raw {raw:5.1f} µs, verify_bundle {verify:5.1f} µs CPU per event, "
                f"ratio {raw / verify:.2f}x, beside the signature {verify - raw:.1f} µs"
            )


if __name__ == "__main__":
    main()
