// Chain verification (docs/format.md §8.2) and equivocation proofs (§9).
//
// Steps 1–4 of §8.2 (envelope, payload, signer, signature) depend on one event only: `checkEvent` does them and
// may run ahead of the chain, many events at once (WebCrypto works in parallel). Steps 5–10 compare an event with
// the genesis and the previous event: `ChainVerifier.check` does them strictly in chain order. The first failure,
// in that order, is the verdict.

import { decode } from "./cbor.js";
import { VerifyError, fail } from "./errors.js";
import { parseEvent } from "./event.js";
import { compare, equal, hex } from "./util.js";

export const DEFAULT_TIME_TOLERANCE = 300_000_000n; // 5 minutes, in microseconds
const PROOF_MAGIC = "ocop-equivocation";
const MAX_PROOF = 2 * 65536 + 64;

/** Where an event is: `position` is its 0-based place in the input read (the reference's error locations). */
function whereOf(event, position) {
  return {
    position,
    batchId: hex(event.batchId),
    seq: event.seq,
    eventId: hex(event.eventId),
    keyId: hex(event.keyId),
  };
}

/**
 * §8.2 steps 3–5: a trusted key with the event's kid made its signature and, when the ring has its window (keys
 * from a trust list), may sign at the time the event claims (E_KEY_*). Sets `event.signer` to that key.
 */
export async function checkSignature(event, ring) {
  const candidates = ring.candidates(event.keyId);
  if (candidates.length === 0) fail("E_UNKNOWN_KEY", "signed by a key that is not trusted", whereOf(event));
  for (const key of candidates) {
    if (await key.verify(event.signature, event.toBeSigned)) {
      const window = ring.window(key);
      const problem = window?.problemAt(event.body.time.micros) ?? null;
      if (problem !== null)
        fail(problem[0], `${window.holder ? `${window.holder}: ` : ""}${problem[1]}`, whereOf(event));
      event.signer = key;
      return event;
    }
  }
  return fail("E_SIGNATURE", "signature does not verify", whereOf(event));
}

/**
 * §8.2 steps 1–5 for the event at `position`: parse it, then check its signature and key. Resolves to the parsed
 * event with `signer` (the PublicKey that verified) or rejects with a VerifyError naming the position.
 */
export async function checkEvent(raw, ring, position) {
  try {
    return await checkSignature(await parseEvent(raw), ring);
  } catch (e) {
    if (e instanceof VerifyError) e.where.position = position;
    throw e;
  }
}

/** Steps 5–10 for events already through steps 1–4, fed in chain order. Keeps the genesis and the last event. */
export class ChainVerifier {
  constructor({ batchId = null, timeTolerance = DEFAULT_TIME_TOLERANCE, now = null } = {}) {
    this.expect = batchId;
    this.tolerance = timeTolerance;
    this.now = now;
    this.genesis = null;
    this.last = null;
    this.count = 0;
    this.signers = new Map(); // key id hex -> key, in order of first appearance
  }

  check(event, position) {
    const where = whereOf(event, position);
    const last = this.last;
    if (last === null) {
      // 5. genesis
      if (event.body.kind !== "genesis")
        fail("E_GENESIS", `the chain must start with its genesis, not seq ${event.seq}`, where);
      if (this.expect !== null && !equal(event.eventId, this.expect))
        fail("E_BATCH", "genesis opens a different batch", where);
    } else {
      // 6. batch (a second genesis names itself, so it fails here too)
      const batch = this.genesis?.eventId ?? this.expect;
      if (batch !== null && !equal(event.batchId, batch)) fail("E_BATCH", "event belongs to another batch", where);
      // 7. seq
      if (event.seq === last.seq) {
        if (equal(event.eventId, last.eventId)) fail("E_DUPLICATE", "the same event appears twice", where);
        const error = new VerifyError("E_FORK", `two different signed events at seq ${event.seq}`, where);
        error.proof = equivocationProof(last, event);
        throw error;
      }
      if (event.seq !== last.seq + 1n) fail("E_SEQ", `seq ${event.seq} follows seq ${last.seq}`, where);
      // 8. link
      if (event.body.kind !== "step" || !equal(event.body.prev, last.eventId)) {
        fail("E_LINK", "prev does not match the previous event's id", where);
      }
      // 9. time: the genesis sets no floor (ADR 0060)
      if (last.seq !== 0n && event.body.time.micros < last.body.time.micros - this.tolerance) {
        fail(
          "E_TIME",
          `time ${event.body.time.text} is earlier than the previous step's ${last.body.time.text}`,
          where,
        );
      }
    }
    // 10. future
    if (this.now !== null && event.body.time.micros > this.now + this.tolerance) {
      fail("E_FUTURE", `time ${event.body.time.text} is in the future`, where);
    }
  }

  advance(event) {
    if (this.genesis === null && event.body.kind === "genesis") this.genesis = event;
    this.last = event;
    this.count += 1;
    if (!this.signers.has(hex(event.keyId))) this.signers.set(hex(event.keyId), event.signer);
  }

  feed(event, position) {
    this.check(event, position);
    this.advance(event);
    return event;
  }

  finish(position = this.count) {
    if (this.genesis === null || this.last === null) {
      fail("E_EMPTY", "the chain has no events", {
        position,
        batchId: this.expect === null ? undefined : hex(this.expect),
      });
    }
    return {
      batchId: this.genesis.eventId,
      genesis: this.genesis,
      head: this.last,
      count: this.count,
      signers: this.signers,
    };
  }
}

/** Verify one batch's events (§8.2): an array of COSE bytes in chain order; resolves to the chain summary. */
export async function verifyChain(raws, ring, { batchId = null, timeTolerance, now = null, onEvent } = {}) {
  const verifier = new ChainVerifier({ batchId, timeTolerance, now });
  const checks = raws.map((raw, i) => checkEvent(raw, ring, i));
  checks.forEach((p) => p.catch(() => {})); // failures are read in order below
  for (let i = 0; i < checks.length; i++) {
    const event = verifier.feed(await checks[i], i);
    if (onEvent) onEvent(event, i);
  }
  return verifier.finish();
}

/** The two events of a fork, the one with the bytewise smaller event id first (§9). */
function equivocationProof(a, b) {
  const [first, second] = compare(a.eventId, b.eventId) <= 0 ? [a, b] : [b, a];
  return { eventA: first.raw, eventB: second.raw, batchId: first.batchId, seq: first.seq };
}

async function atPosition(position, fn) {
  try {
    return await fn();
  } catch (e) {
    if (e instanceof VerifyError) e.where.position ??= position;
    throw e;
  }
}

/** Check an equivocation proof (§9) with a key ring; resolves to {batchId, seq} of the forked batch. */
export async function verifyEquivocationProof(bytes, ring) {
  const m = decode(bytes, { maxSize: MAX_PROOF, maxDepth: 2 });
  const pair = m instanceof Map ? m.get(1n) : undefined;
  if (
    !(m instanceof Map) ||
    m.size !== 2 ||
    m.get(0n) !== PROOF_MAGIC ||
    !Array.isArray(pair) ||
    pair.length !== 2 ||
    !pair.every((x) => x instanceof Uint8Array)
  ) {
    fail("E_SCHEMA", "not an equivocation proof");
  }
  // Both halves parse before either signature is checked; errors name the half (position 0 or 1).
  const parsed = [];
  for (const [i, raw] of pair.entries()) parsed.push(await atPosition(i, () => parseEvent(raw)));
  for (const [i, event] of parsed.entries()) await atPosition(i, () => checkSignature(event, ring));
  const [a, b] = parsed;
  if (equal(a.eventId, b.eventId)) fail("E_NOT_A_FORK", "both halves are the same event");
  if (!equal(a.batchId, b.batchId) || a.seq !== b.seq) fail("E_NOT_A_FORK", "the events are at different places");
  return { batchId: a.batchId, seq: a.seq };
}
