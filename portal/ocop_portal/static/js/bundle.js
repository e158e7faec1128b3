// Bundles (docs/format.md §10): framing, header, order and lineage, verified in the reference's order.
//
// The reference reads one item, verifies it, then reads the next, so a read error at item k is reported only if
// events 0..k-1 verify, and a batch's end-of-batch checks run when the next batch's first item has been read. This
// module frames the whole file first, remembers where the framing fails, and replays that order; the per-event
// work of §8.2 steps 1–4 runs ahead in a window of parallel WebCrypto calls.

import { decode } from "./cbor.js";
import { ChainVerifier, checkEvent } from "./chain.js";
import { fail, VerifyError } from "./errors.js";
import { MAX_EVENT_SIZE } from "./event.js";
import { checkPublicKey, keyIdOf } from "./keys.js";
import { equal, hex } from "./util.js";

export const BUNDLE_MAGIC = "ocop-bundle";
const MAX_HEADER_SIZE = 1 << 20;
const MAX_BATCHES = 10000;
const MAX_KEYS = 10000;
// Most CBOR items a header can hold (the map, its labels and values, every key, every batch entry), counted before
// it is decoded: the reference's MAX_HEADER_ITEMS.
export const MAX_HEADER_ITEMS = 11 + MAX_KEYS + 4 * MAX_BATCHES;
const LOOKAHEAD = 64; // events checked ahead of the chain walk

// ---- 10.1 framing ------------------------------------------------------------------------------------------

class Items {
  constructor(bytes) {
    this.bytes = bytes;
    this.pos = 0;
  }

  take(n) {
    if (n > this.bytes.length - this.pos) fail("E_TRUNCATED", "the bundle ends in the middle of an item");
    const out = this.bytes.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }

  /** The next byte-string item (at most `limit` bytes), or null at the end of the file. */
  next(limit) {
    if (this.pos >= this.bytes.length) return null;
    const initial = this.bytes[this.pos++];
    const info = initial & 0x1f;
    if (initial >> 5 !== 2) fail("E_BUNDLE", "bundle items must be byte strings");
    let length = info;
    if (info >= 24 && info <= 27) {
      const width = 1 << (info - 24);
      length = 0;
      for (const b of this.take(width)) length = length * 256 + b;
      if (length < (width === 1 ? 24 : 2 ** (4 * width))) fail("E_NONCANONICAL", "non-shortest length in the bundle");
    } else if (info > 27) {
      fail("E_BUNDLE", "indefinite or reserved length in the bundle");
    }
    if (length > limit) fail("E_SIZE", `bundle item of ${length} bytes exceeds the limit of ${limit}`);
    return this.take(length);
  }

  atEnd() {
    return this.pos >= this.bytes.length;
  }
}

// ---- 10.2 header -------------------------------------------------------------------------------------------

function isBytes(value, length) {
  return value instanceof Uint8Array && (length === undefined || value.length === length);
}

/** Parse the header (unauthenticated: every claim is checked against the events later). */
export async function parseHeader(bytes) {
  const m = decode(bytes, { maxSize: MAX_HEADER_SIZE, maxDepth: 3, maxItems: MAX_HEADER_ITEMS });
  if (!(m instanceof Map) || m.get(0n) !== BUNDLE_MAGIC) fail("E_BUNDLE", "not an ocop bundle");
  if (m.get(1n) !== 1n) fail("E_VERSION", "unsupported bundle version");
  if (m.size !== 5 || ![0n, 1n, 2n, 3n, 4n].every((label) => m.has(label))) {
    fail("E_BUNDLE", "bundle header has unknown or missing labels");
  }
  const root = m.get(2n);
  const keys = m.get(3n);
  const batches = m.get(4n);
  if (!isBytes(root, 32)) fail("E_BUNDLE", "bundle root must be a 32-byte batch id", { field: "root" });
  if (!Array.isArray(keys) || keys.length > MAX_KEYS || !keys.every((k) => isBytes(k))) {
    fail("E_BUNDLE", "bundle keys must be a list of byte strings", { field: "keys" });
  }
  if (!Array.isArray(batches) || batches.length < 1 || batches.length > MAX_BATCHES) {
    fail("E_BUNDLE", "bundle must list 1 to 10000 batches", { field: "batches" });
  }
  const entries = batches.map((entry) => {
    if (!(Array.isArray(entry) && entry.length === 3 && isBytes(entry[0], 32) && typeof entry[1] === "bigint")) {
      fail("E_BUNDLE", "malformed batch entry", { field: "batches" });
    }
    if (!(entry[1] >= 1n && isBytes(entry[2], 32))) fail("E_BUNDLE", "malformed batch entry", { field: "batches" });
    return { batchId: entry[0], count: entry[1], head: entry[2] };
  });
  if (!equal(entries[0].batchId, root)) fail("E_BUNDLE", "the root batch must come first", { field: "batches" });
  if (new Set(entries.map((e) => hex(e.batchId))).size !== entries.length) {
    fail("E_BUNDLE", "a batch is listed twice", { field: "batches" });
  }
  const keyIds = [];
  for (const raw of keys) {
    try {
      checkPublicKey(raw);
    } catch (e) {
      if (e instanceof VerifyError) e.where.field = "keys";
      throw e;
    }
    keyIds.push(hex(await keyIdOf(raw)));
  }
  return { root, batches: entries, keys, keyIds };
}

// ---- 10.4 lineage ------------------------------------------------------------------------------------------

/** Input references: each must match the event at that seq of the consumed batch. */
class Lineage {
  constructor(header) {
    this.listed = new Set(header.batches.map((b) => hex(b.batchId)));
    this.required = new Map(); // "batch:seq" -> {batch, seq, head, position}
    this.referenced = new Set([hex(header.root)]);
    this.done = new Set();
    this.links = [];
  }

  start(batchId) {
    if (!this.referenced.has(hex(batchId))) {
      fail("E_BUNDLE_EXTRA", "a batch is in the bundle but nothing before it consumes it", { batchId: hex(batchId) });
    }
  }

  /** Upstream check: an earlier event named (this batch, this seq) as an input; this must be the head it named. */
  checkUpstream(event, where) {
    const key = `${hex(event.batchId)}:${event.seq}`;
    const need = this.required.get(key);
    this.required.delete(key);
    if (need !== undefined && !equal(need.head, event.eventId)) {
      fail(
        "E_INPUT_HEAD",
        `the consuming event (at position ${need.position}) names another head for this batch at seq ${event.seq}`,
        where,
      );
    }
  }

  consume(event, where) {
    if (event.body.kind !== "step") return;
    for (const ref of event.body.inputs) {
      const batch = hex(ref.batch_id);
      if (!this.listed.has(batch))
        fail("E_INPUT_MISSING", `input batch ${batch.slice(0, 16)} is not in the bundle`, where);
      if (this.done.has(batch)) fail("E_BUNDLE_ORDER", "an input batch comes before the batch that consumes it", where);
      this.referenced.add(batch);
      const key = `${batch}:${ref.seq}`;
      const prior = this.required.get(key);
      if (prior === undefined)
        this.required.set(key, { batch, seq: ref.seq, head: ref.head, position: where.position });
      else if (!equal(prior.head, ref.head)) {
        fail(
          "E_INPUT_HEAD",
          `the event at position ${prior.position} named another head for seq ${ref.seq} of batch ${batch.slice(0, 16)}`,
          where,
        );
      }
      this.links.push({ batchId: event.batchId, seq: event.seq, step: event.body.step, input: ref });
    }
  }

  finishBatch(batchId) {
    const batch = hex(batchId);
    this.done.add(batch);
    for (const need of this.required.values()) {
      if (need.batch === batch) {
        fail("E_INPUT_HEAD", "an event consumed a seq of this batch that the bundle does not hold", {
          batchId: batch,
          seq: need.seq,
        });
      }
    }
  }
}

// ---- the walk ----------------------------------------------------------------------------------------------

/** Frame the events after the header: [{batch, raw}] and the read error (with its position) if there is one. */
function frameEvents(items, header) {
  const events = [];
  try {
    header.batches.forEach((entry, batch) => {
      for (let n = 0n; n < entry.count; n++) {
        const raw = items.next(MAX_EVENT_SIZE);
        if (raw === null) fail("E_TRUNCATED", "the bundle ends before every declared event");
        events.push({ batch, raw });
      }
    });
    if (!items.atEnd()) fail("E_TRAILING", "data after the last declared event");
    return { events, error: null };
  } catch (e) {
    if (!(e instanceof VerifyError)) throw e;
    return { events, error: e };
  }
}

/**
 * Verify a bundle (§10.4) with a key ring (whose windows, if any, every event's key must be in). Options: root
 * (expected batch id bytes), timeTolerance and now (microseconds, BigInt), onEvent(batchIndex, event, position)
 * called after each event's chain and upstream checks. Errors name the event's position among the bundle's events.
 * Resolves to {header, chains, lineage}; throws the first VerifyError in the reference's order.
 */
export async function verifyBundleBytes(bytes, ring, { root = null, timeTolerance, now = null, onEvent } = {}) {
  const items = new Items(bytes);
  const headerBytes = items.next(MAX_HEADER_SIZE);
  if (headerBytes === null) fail("E_BUNDLE", "the bundle is empty");
  const header = await parseHeader(headerBytes);
  // 1.
  if (root !== null && !equal(header.root, root))
    fail("E_BATCH", "the bundle is about another batch", { batchId: hex(header.root) });
  const { events, error } = frameEvents(items, header);
  const lineage = new Lineage(header);
  const checks = [];
  const schedule = (upTo) => {
    while (checks.length < Math.min(upTo, events.length)) {
      const p = checkEvent(events[checks.length].raw, ring, checks.length);
      p.catch(() => {}); // read in order below
      checks.push(p);
    }
  };
  const chains = [];
  let verifier = null;
  let current = -1;
  const finishBatch = () => {
    const summary = verifier.finish();
    const declared = header.batches[current];
    if (!equal(summary.head.eventId, declared.head)) {
      fail("E_HEADER_MISMATCH", "the header names another head than the chain ends with", {
        batchId: hex(declared.batchId),
        seq: summary.head.seq,
        field: "batches",
      });
    }
    lineage.finishBatch(declared.batchId);
    chains.push(summary);
  };
  for (let position = 0; position < events.length; position++) {
    schedule(position + LOOKAHEAD);
    const { batch } = events[position];
    if (batch !== current) {
      if (verifier !== null) finishBatch();
      current = batch;
      // 2. a batch must be the root or named as an input by an event verified earlier
      lineage.start(header.batches[current].batchId);
      verifier = new ChainVerifier({ batchId: header.batches[current].batchId, timeTolerance, now });
    }
    const event = await checks[position];
    checks[position] = null; // keep memory flat
    verifier.feed(event, position);
    const where = { position, batchId: hex(event.batchId), seq: event.seq, eventId: hex(event.eventId) };
    // 3.
    lineage.checkUpstream(event, where);
    if (onEvent) onEvent(current, event, position);
    lineage.consume(event, where);
  }
  if (error !== null) throw error;
  // 4.
  finishBatch();
  const signers = new Set(chains.flatMap((c) => [...c.signers.keys()]));
  if (header.keyIds.length !== signers.size || !header.keyIds.every((k) => signers.has(k))) {
    fail("E_HEADER_MISMATCH", "the header's keys are not exactly the keys that signed the events", { field: "keys" });
  }
  return { header, chains, lineage: lineage.links };
}
