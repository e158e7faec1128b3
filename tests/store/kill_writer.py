"""A writer for the kill test: appends steps and prints each acknowledged event id once its commit returned.

Usage: python kill_writer.py LEDGER SEED

Prints "ready" and then, for every acknowledged write, "ack <batch hex> <seq> <event id hex>" flushed
immediately. Mixes single durable appends (add_step), bulk runs (add_steps), pre-signed appends (append_many) and
new batches, so that a kill can land inside any kind of transaction; now and then it records a hand-out of a head
in the head journal and prints "handout <batch hex> <seq> <event id hex>" once that call returned.
"""

from __future__ import annotations

import random
import sys
from datetime import datetime, timedelta, timezone

import ocop_provenance as op
from ocop_provenance.events import append_step, head_of

ICT = timezone(timedelta(hours=7))
WHERE = op.Location(name="Xưởng sấy Nghi Sơn, Thanh Hóa", admin_code="38")


def main() -> None:
    path, seed = sys.argv[1], int(sys.argv[2])
    rng = random.Random(seed)
    signer = op.PrivateKey.from_seed(bytes([seed % 3 + 1]) * 32)
    out = sys.stdout
    with op.Ledger.open(path) as ledger:
        ledger.add_key(signer.public_key)
        batches = [b.batch_id for b in ledger.batches()]
        out.write("ready\n")
        out.flush()
        n = 0
        while True:
            n += 1
            choice = rng.random()
            if not batches or choice < 0.05:
                genesis = op.Genesis(
                    time=datetime(2024, 11, 1, tzinfo=ICT),
                    product=op.Product(name="Đông trùng hạ thảo", lot=f"K{seed}-{n}", quantity="1", unit="kg"),
                    producer=op.Producer(name="HTX Nghi Sơn"),
                )
                event = ledger.open_batch(genesis, signer)
                batches.append(event.event_id)
                acked = [event]
            else:
                batch = rng.choice(batches)
                head = ledger.head(batch)
                when = head.time + timedelta(minutes=1)
                if choice < 0.6:
                    event = ledger.add_step(batch, signer, step="ocop:drying", time=when, location=WHERE, data={"n": n})
                    acked = [event]
                elif choice < 0.85:
                    steps = [
                        op.NewStep(step="ocop:drying", time=when + timedelta(seconds=i), location=WHERE, data={"i": i})
                        for i in range(rng.randint(2, 200))
                    ]
                    new_head = ledger.add_steps(batch, signer, steps)
                    out.write(f"ack {batch.hex()} {new_head.seq} {new_head.event_id.hex()}\n")
                    out.flush()
                    continue  # (no hand-out after a bulk run: the other kinds give enough)
                else:
                    events = []
                    for i in range(rng.randint(2, 50)):
                        events.append(
                            append_step(head, signer, step="packing", time=when, location=WHERE, data={"i": i})
                        )
                        head = head_of(events[-1])
                    ledger.append_many(events)
                    acked = events
            for event in acked:
                out.write(f"ack {event.batch_id.hex()} {event.seq} {event.event_id.hex()}\n")
            out.flush()
            if rng.random() < 0.1:
                handed = ledger.record_handout(rng.choice(batches), purpose="publish")
                out.write(f"handout {handed.batch_id.hex()} {handed.seq} {handed.event_id.hex()}\n")
                out.flush()


if __name__ == "__main__":
    main()
