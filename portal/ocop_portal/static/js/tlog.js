// The transparency log (docs/format.md §18): C2SP signed notes (signed-note v1.0.0), checkpoints (tlog-checkpoint
// v1.0.0), Ed25519 witness cosignatures (tlog-cosignature v1.0.1, cosignature/v1), RFC 9162 §2.1 Merkle proofs,
// and this project's log leaf and receipt (§18.2, §18.5), verified as §18.4 and §18.5 say.

import { decode } from "./cbor.js";
import { fail } from "./errors.js";
import { PublicKey } from "./keys.js";
import { parseTime, timeText } from "./trust.js";
import { concat, equal, hex, isPySpace, sha256, utf8, utf8Bytes } from "./util.js";

export const ED25519 = 0x01; // signed-note §Signature types
export const COSIGNATURE_V1 = 0x04; // tlog-cosignature
const MAX_NOTE_SIZE = 128 * 1024;
const MAX_NOTE_SIGNATURES = 100;
const MAX_TREE_SIZE = 2n ** 63n;
const MAX_PROOF_HASHES = 126;
const MAX_TIMESTAMP = 2n ** 63n - 1n;
const MAX_LEAF_SIZE = 256;
const MAX_RECEIPT_PROOF = 63;
const MAX_RECEIPT_SIZE = MAX_NOTE_SIZE + MAX_LEAF_SIZE + MAX_RECEIPT_PROOF * 34 + 64;
const LEAF_MAGIC = "ocop-log-leaf";
const RECEIPT_MAGIC = "ocop-log-receipt";
const TLOG_PROOF_HEADER = "c2sp.org/tlog-proof@v1";
const SIG_PREFIX = "\u2014 "; // em dash, space
const TOLERANCE = 300_000_000n; // microseconds: cosignatures up to 5 minutes after now still count
const EMPTY_ROOT_HEX = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

// ---- base64 (RFC 4648 §4), only in its one canonical spelling ------------------------------------------------

export function b64(bytes) {
  let s = "";
  for (const b of bytes) s += String.fromCharCode(b);
  return btoa(s);
}

/** Decode standard base64 with padding, refusing any other spelling of the same bytes (`code`, default E_NOTE). */
export function unb64(text, what, code = "E_NOTE") {
  if (typeof text !== "string" || text.length % 4 || !/^[A-Za-z0-9+/]*={0,2}$/.test(text)) {
    fail(code, `${what} is not base64`, { field: what });
  }
  const bytes = Uint8Array.from(atob(text), (c) => c.charCodeAt(0));
  if (b64(bytes) !== text) fail(code, `${what} is not canonical base64`, { field: what });
  return bytes;
}

// ---- keys ----------------------------------------------------------------------------------------------------

/** A key name: non-empty, no Unicode space, no "+", no control character (signed-note §Format). */
function checkName(name, what = "key name") {
  if (
    typeof name !== "string" ||
    name === "" ||
    name.includes("+") ||
    [...name].some((c) => isPySpace(c) || c < " " || c === "\x7f")
  ) {
    fail("E_NOTE", `${what} must be non-empty, without spaces or '+'`, { field: what });
  }
  return name;
}

async function keyHash(name, type, raw) {
  return (await sha256(concat(utf8Bytes(name), Uint8Array.of(0x0a, type), raw))).subarray(0, 4);
}

/** A note key {name, type, key: PublicKey, keyHash}: type 0x01 for a log, 0x04 for a witness (cosignature/v1). */
export async function noteKey(name, type, key) {
  try {
    checkName(name);
  } catch (e) {
    fail("E_VKEY", e.message, { field: "name" });
  }
  if (type !== ED25519 && type !== COSIGNATURE_V1) fail("E_VKEY", "only Ed25519 note keys (type 0x01 or 0x04)");
  const hash = await keyHash(name, type, key.raw);
  return { name, type, key, keyHash: hash, label: `${name}+${hex(hash)}` };
}

/** Parse a verifier key `<name>+<8 hex digits of the key hash>+base64(type ‖ public key)` (signed-note). */
export async function parseVkey(text) {
  if (typeof text !== "string" || text.length > 1024) fail("E_VKEY", "not a verifier key");
  const trimmed = [...text];
  while (trimmed.length && isPySpace(trimmed[0])) trimmed.shift();
  while (trimmed.length && isPySpace(trimmed.at(-1))) trimmed.pop();
  const [name, hashHex = "", ...rest] = trimmed.join("").split("+");
  const key64 = rest.join("+");
  if (!/^[0-9a-f]{8}$/.test(hashHex)) fail("E_VKEY", "a verifier key's hash is 8 lowercase hex digits");
  let key;
  try {
    key = unb64(key64, "verifier key");
  } catch (e) {
    fail("E_VKEY", e.message);
  }
  if (key.length !== 33) fail("E_VKEY", "an Ed25519 verifier key is a type byte and 32 bytes");
  const made = await noteKey(name, key[0], await PublicKey.from(key.slice(1)));
  if (hex(made.keyHash) !== hashHex) fail("E_VKEY", "the verifier key's hash does not match its name and key");
  return made;
}

// ---- signed notes ----------------------------------------------------------------------------------------------

/** Parse a signed note (signed-note §Format) without verifying: {text, signatures: [{name, keyHash, signature}]}. */
export function parseNote(data) {
  const raw = typeof data === "string" ? utf8Bytes(data) : data;
  if (raw.length > MAX_NOTE_SIZE) fail("E_SIZE", `a note is at most ${MAX_NOTE_SIZE} bytes`);
  let msg;
  try {
    msg = utf8(raw);
  } catch {
    fail("E_NOTE", "a note is UTF-8");
  }
  if (/[\u0000-\u0009\u000b-\u001f]/.test(msg)) fail("E_NOTE", "a note has no control characters but newline");
  const split = msg.lastIndexOf("\n\n");
  if (split < 0) fail("E_NOTE", "no blank line before the signatures");
  const text = msg.slice(0, split + 1);
  const block = msg.slice(split + 2);
  if (!block.endsWith("\n")) fail("E_NOTE", "a note ends with a signature line and a newline");
  const lines = block.slice(0, -1).split("\n");
  if (lines.length > MAX_NOTE_SIGNATURES) fail("E_NOTE", `more than ${MAX_NOTE_SIGNATURES} signatures`);
  const seen = new Set();
  const signatures = [];
  lines.forEach((line, i) => {
    const where = `signature[${i}]`;
    if (!line.startsWith(SIG_PREFIX))
      fail("E_NOTE", "a signature line starts with an em dash and a space", { field: where });
    const body = line.slice(SIG_PREFIX.length);
    const space = body.indexOf(" ");
    const name = space < 0 ? body : body.slice(0, space);
    checkName(name, where);
    const sig64 = space < 0 ? "" : body.slice(space + 1);
    if (space < 0 || sig64 === "") fail("E_NOTE", "a signature line is a name, a space and base64", { field: where });
    const sig = unb64(sig64, where);
    if (sig.length < 5) fail("E_NOTE", "a signature is a key hash and at least one byte", { field: where });
    if (seen.has(line)) return; // identical lines count once
    seen.add(line);
    signatures.push({ name, keyHash: sig.subarray(0, 4), signature: sig.subarray(4) });
  });
  return { text, signatures };
}

function sameKey(a, b) {
  return a.name === b.name && a.type === b.type && a.key.hex === b.key.hex;
}

function cosignedMessage(timestamp, text) {
  // tlog-cosignature §Signed message: header line, time line, then the whole checkpoint note text.
  return utf8Bytes(`cosignature/v1\ntime ${timestamp}\n${text}`);
}

/**
 * Verify every signature line of a known key (same name and key hash); lines of unknown keys are ignored, a known
 * key's line that fails refuses the note (E_LOG_SIGNATURE). Returns [{key, timestamp (BigInt or null)}].
 */
export async function verifyNote(note, keys) {
  const known = new Map();
  for (const k of keys) {
    const id = `${k.name}\n${hex(k.keyHash)}`;
    if (known.has(id) && !sameKey(known.get(id), k)) fail("E_VKEY", `two different keys are named ${k.label}`);
    if (!known.has(id)) known.set(id, k);
  }
  const text = utf8Bytes(note.text);
  const verified = [];
  for (const sig of note.signatures) {
    const key = known.get(`${sig.name}\n${hex(sig.keyHash)}`);
    if (key === undefined) continue;
    let timestamp = null;
    let ok;
    if (key.type === COSIGNATURE_V1) {
      if (sig.signature.length !== 72) fail("E_LOG_SIGNATURE", `cosignature by ${key.label} is not 72 bytes`);
      timestamp = new DataView(sig.signature.buffer, sig.signature.byteOffset, 8).getBigUint64(0);
      ok =
        timestamp <= MAX_TIMESTAMP &&
        (await key.key.verify(sig.signature.subarray(8), cosignedMessage(timestamp, note.text)));
    } else {
      ok = sig.signature.length === 64 && (await key.key.verify(sig.signature, text));
    }
    if (!ok) fail("E_LOG_SIGNATURE", `the signature by ${key.label} does not verify`);
    verified.push({ key, timestamp });
  }
  return verified;
}

// ---- checkpoints -------------------------------------------------------------------------------------------------

/** Parse a checkpoint note text (tlog-checkpoint §Note text): {origin, size (BigInt), root, extensions}. */
export function parseCheckpoint(text) {
  const bad = (message, field) => fail("E_CHECKPOINT", message, field ? { field } : {});
  if (typeof text !== "string" || !text.endsWith("\n")) bad("a checkpoint ends with a newline");
  const lines = text.slice(0, -1).split("\n");
  if (lines.length < 3) bad("a checkpoint has an origin, a size and a root hash");
  const [origin, size, root64, ...extensions] = lines;
  if (!/^(0|[1-9][0-9]{0,19})$/.test(size)) bad("the tree size is decimal without leading zeroes", "size");
  const root = unb64(root64, "root_hash", "E_CHECKPOINT");
  if (origin === "" || /[\u0000-\u001f]/.test(origin)) bad("the origin is one non-empty line", "origin");
  if (BigInt(size) >= 2n ** 64n) bad("the tree size is an integer in [0, 2**64)", "size");
  if (root.length !== 32) bad("the root hash is 32 bytes", "root_hash");
  extensions.forEach((line, i) => {
    if (line === "" || /[\u0000-\u001f]/.test(line)) bad("an extension line is non-empty text", `extension[${i}]`);
  });
  return { origin, size: BigInt(size), root, extensions };
}

/**
 * Verify a signed checkpoint (§18.4): the log key signed it, every known signature verifies, the origin is the
 * expected one (default: the log key's name), and at least `witnesses` distinct witness keys cosigned it (not
 * counting cosignatures stamped after now + 5 minutes when `now`, in microseconds, is given).
 */
export async function openCheckpoint(data, { logKey, witnessKeys = [], witnesses = 0, origin = null, now = null }) {
  if (logKey.type !== ED25519) fail("E_VKEY", "a log key has signature type 0x01", { field: "log_key" });
  const distinct = new Set(witnessKeys.map((k) => k.key.hex));
  if (witnessKeys.some((k) => k.type !== COSIGNATURE_V1))
    fail("E_VKEY", "a witness key has signature type 0x04", { field: "witness_keys" });
  if (!Number.isInteger(witnesses) || witnesses < 0 || witnesses > distinct.size) {
    fail("E_LOG_RANGE", `witnesses must be between 0 and the ${distinct.size} witness keys`, { field: "witnesses" });
  }
  // 1.
  const note = typeof data === "object" && "signatures" in data ? data : parseNote(data);
  // 2.
  const verified = await verifyNote(note, [logKey, ...witnessKeys]);
  // 3. only a text the log signed is parsed
  if (!verified.some((v) => sameKey(v.key, logKey)))
    fail("E_LOG_SIGNATURE", `the checkpoint is not signed by the log key ${logKey.label}`);
  const checkpoint = parseCheckpoint(note.text);
  if (checkpoint.size === 0n && hex(checkpoint.root) !== EMPTY_ROOT_HEX) {
    fail("E_LOG_EMPTY_ROOT", "an empty tree's root is SHA-256 of nothing", { field: "root_hash" });
  }
  // 4.
  const expected = origin ?? logKey.name;
  if (checkpoint.origin !== expected)
    fail("E_LOG_ORIGIN", `the checkpoint is for log ${checkpoint.origin}, not ${expected}`, { field: "origin" });
  // 5. count public keys, not lines or names
  const cosigners = new Map();
  for (const v of verified) {
    if (v.key.type !== COSIGNATURE_V1 || cosigners.has(v.key.key.hex)) continue;
    if (now !== null && v.timestamp * 1_000_000n > now + TOLERANCE) continue;
    cosigners.set(v.key.key.hex, v);
  }
  if (cosigners.size < witnesses)
    fail("E_LOG_WITNESSES", `${cosigners.size} of the required ${witnesses} witnesses cosigned this checkpoint`);
  return { checkpoint, note, cosignatures: [...cosigners.values()] };
}

// ---- RFC 9162 §2.1 Merkle proofs ---------------------------------------------------------------------------------

export function leafHash(leaf) {
  return sha256(concat(Uint8Array.of(0x00), leaf));
}

function nodeHash(left, right) {
  return sha256(concat(Uint8Array.of(0x01), left, right));
}

function checkHash(h, what, code) {
  if (!(h instanceof Uint8Array) || h.length !== 32) fail(code, `${what} is not a 32-byte hash`, { field: what });
}

function checkProof(proof, code) {
  if (proof.length > MAX_PROOF_HASHES) fail(code, `a proof has at most ${MAX_PROOF_HASHES} hashes`, { field: "proof" });
  proof.forEach((p, i) => {
    if (!(p instanceof Uint8Array) || p.length !== 32) fail(code, "a proof hash is 32 bytes", { field: `proof[${i}]` });
  });
  return [...proof];
}

/** RFC 9162 §2.1.3.2: the leaf with hash `leaf` is at `index` in the tree of `size` leaves with `root`. */
export async function verifyInclusion(leaf, index, size, proof, root) {
  const code = "E_LOG_INCLUSION";
  checkHash(leaf, "leaf hash", code);
  checkHash(root, "root hash", code);
  const path = checkProof(proof, code);
  index = BigInt(index);
  size = BigInt(size);
  // 1.
  if (index < 0n || index >= size)
    fail(code, `leaf index ${index} is not below the tree size ${size}`, { field: "index" });
  // 2.–3.
  let fn = index;
  let sn = size - 1n;
  let r = leaf;
  // 4.
  for (const p of path) {
    if (sn === 0n) fail(code, "inclusion proof has too many hashes", { field: "proof" });
    if (fn & 1n || fn === sn) {
      r = await nodeHash(p, r);
      while (!(fn & 1n) && fn) [fn, sn] = [fn >> 1n, sn >> 1n];
    } else r = await nodeHash(r, p);
    [fn, sn] = [fn >> 1n, sn >> 1n];
  }
  // 5.
  if (sn !== 0n) fail(code, "inclusion proof has too few hashes", { field: "proof" });
  if (!equal(r, root)) fail(code, "inclusion proof does not lead to the root hash", { field: "proof" });
}

/** RFC 9162 §2.1.4.2: the tree of `newSize` leaves extends the tree of `oldSize` (0 < oldSize <= newSize). */
export async function verifyConsistency(oldSize, newSize, oldRoot, newRoot, proof) {
  const code = "E_LOG_CONSISTENCY";
  checkHash(oldRoot, "old root hash", code);
  checkHash(newRoot, "new root hash", code);
  const path = checkProof(proof, code);
  oldSize = BigInt(oldSize);
  newSize = BigInt(newSize);
  if (oldSize < 0n || oldSize > newSize || newSize >= MAX_TREE_SIZE)
    fail(code, `no consistency from ${oldSize} to ${newSize} leaves`);
  if (oldSize === 0n) fail(code, "a consistency proof from the empty tree means nothing");
  if (oldSize === newSize) {
    if (path.length) fail(code, "equal sizes take an empty proof", { field: "proof" });
    if (!equal(oldRoot, newRoot)) fail(code, "two different roots for the same size");
    return;
  }
  // 1.
  if (path.length === 0) fail(code, "empty consistency proof between different sizes", { field: "proof" });
  // 2. a complete old tree is its own first node, left out of the proof
  if ((oldSize & (oldSize - 1n)) === 0n) path.unshift(oldRoot);
  // 3.–4.
  let fn = oldSize - 1n;
  let sn = newSize - 1n;
  while (fn & 1n) [fn, sn] = [fn >> 1n, sn >> 1n];
  // 5.
  let fr = path[0];
  let sr = path[0];
  // 6.
  for (const c of path.slice(1)) {
    if (sn === 0n) fail(code, "consistency proof has too many hashes", { field: "proof" });
    if (fn & 1n || fn === sn) {
      [fr, sr] = [await nodeHash(c, fr), await nodeHash(c, sr)];
      while (!(fn & 1n) && fn) [fn, sn] = [fn >> 1n, sn >> 1n];
    } else sr = await nodeHash(sr, c);
    [fn, sn] = [fn >> 1n, sn >> 1n];
  }
  // 7.
  if (sn !== 0n) fail(code, "consistency proof has too few hashes", { field: "proof" });
  if (!equal(fr, oldRoot)) fail(code, "consistency proof does not rebuild the old root", { field: "proof" });
  if (!equal(sr, newRoot)) fail(code, "consistency proof does not rebuild the new root", { field: "proof" });
}

/**
 * §18.6: refuse `offered` unless it extends `previous` (two parsed checkpoints of verified notes): the same origin
 * (E_LOG_ORIGIN), not smaller (E_LOG_ROLLBACK), consistent by `proof` (E_LOG_CONSISTENCY; empty after size 0).
 */
export async function checkExtends(previous, offered, proof) {
  if (offered.origin !== previous.origin)
    fail("E_LOG_ORIGIN", `a checkpoint of log ${offered.origin} offered for ${previous.origin}`);
  if (offered.size < previous.size)
    fail("E_LOG_ROLLBACK", `the log went back from ${previous.size} to ${offered.size} leaves`);
  if (previous.size === 0n) {
    if (proof.length) fail("E_LOG_CONSISTENCY", "no proof is sent after an empty tree");
    return;
  }
  await verifyConsistency(previous.size, offered.size, previous.root, offered.root, proof);
}

// ---- leaf and receipt (§18.2, §18.5) ------------------------------------------------------------------------------

function id32(value, field) {
  if (!(value instanceof Uint8Array) || value.length !== 32) fail("E_FIELD", "expected a 32-byte id", { field });
  return value;
}

function uint(value, field, limit) {
  if (typeof value !== "bigint" || value < 0n || value > limit)
    fail("E_FIELD", `expected an integer in [0, ${limit}]`, { field });
  return value;
}

function hasExactly(m, count) {
  return m.size === count && [...Array(count).keys()].every((label) => m.has(BigInt(label)));
}

/** Parse a log leaf (§18.2): {batchId, seq, headId, logged (µs), raw}. */
export function parseLeaf(bytes) {
  const m = decode(bytes, { maxSize: MAX_LEAF_SIZE, maxDepth: 1 });
  if (!(m instanceof Map) || m.get(0n) !== LEAF_MAGIC) fail("E_SCHEMA", "not a log leaf", { field: "leaf" });
  if (m.get(1n) !== 1n) fail("E_VERSION", "unsupported log leaf version", { field: "leaf.version" });
  if (!hasExactly(m, 6)) fail("E_SCHEMA", "a log leaf has exactly the labels 0-5", { field: "leaf" });
  return {
    batchId: id32(m.get(2n), "leaf.batch_id"),
    seq: uint(m.get(3n), "leaf.seq", MAX_TREE_SIZE - 1n),
    headId: id32(m.get(4n), "leaf.head_id"),
    logged: parseTime(m.get(5n), "leaf.logged"),
    raw: bytes,
  };
}

function receiptFields(leaf, index, proof, checkpoint) {
  if (!(leaf instanceof Uint8Array) || leaf.length < 1 || leaf.length > MAX_LEAF_SIZE) {
    fail("E_FIELD", "the leaf is 1 to 256 bytes", { field: "receipt.leaf" });
  }
  uint(index, "receipt.index", MAX_TREE_SIZE - 1n);
  if (!Array.isArray(proof) || proof.length > MAX_RECEIPT_PROOF) {
    fail("E_SCHEMA", `expected at most ${MAX_RECEIPT_PROOF} proof hashes`, { field: "receipt.proof" });
  }
  proof.forEach((h, i) => id32(h, `receipt.proof[${i}]`));
  if (!(checkpoint instanceof Uint8Array) || checkpoint.length < 1 || checkpoint.length > MAX_NOTE_SIZE) {
    fail("E_FIELD", "the checkpoint is a signed note of at most 128 KiB", { field: "receipt.checkpoint" });
  }
  return { leaf, index, proof, checkpoint };
}

/** Parse a receipt (§18.5), as deterministic CBOR bytes or as C2SP tlog-proof text: {leaf, index, proof, checkpoint}. */
export function parseReceipt(data) {
  if (typeof data === "string") return parseTlogProof(data);
  const m = decode(data, { maxSize: MAX_RECEIPT_SIZE, maxDepth: 2 });
  if (!(m instanceof Map) || m.get(0n) !== RECEIPT_MAGIC) fail("E_SCHEMA", "not a log receipt", { field: "receipt" });
  if (m.get(1n) !== 1n) fail("E_VERSION", "unsupported log receipt version", { field: "receipt.version" });
  if (!hasExactly(m, 6)) fail("E_SCHEMA", "a log receipt has exactly the labels 0-5", { field: "receipt" });
  return receiptFields(m.get(2n), m.get(3n), m.get(4n), m.get(5n));
}

function parseTlogProof(text) {
  if (text.length > MAX_RECEIPT_SIZE * 2) fail("E_SIZE", "tlog-proof too large");
  const sep = text.indexOf("\n\n");
  const lines = (sep < 0 ? text : text.slice(0, sep)).split("\n");
  if (sep < 0 || lines.length < 3 || lines[0] !== TLOG_PROOF_HEADER) fail("E_NOTE", "not a c2sp.org/tlog-proof@v1");
  if (!lines[1].startsWith("extra "))
    fail("E_NOTE", "the tlog-proof carries no leaf in its extra line", { field: "extra" });
  if (!/^index (0|[1-9][0-9]{0,18})$/.test(lines[2])) fail("E_NOTE", "malformed index line", { field: "index" });
  return receiptFields(
    unb64(lines[1].slice("extra ".length), "extra"),
    BigInt(lines[2].slice("index ".length)),
    lines.slice(3).map((h, i) => unb64(h, `proof[${i}]`)),
    utf8Bytes(text.slice(sep + 2)),
  );
}

/**
 * Verify a receipt offline (§18.5, in the order of tlog-proof §Verifying): the leaf parses; it names the expected
 * head {batchId, seq, eventId} if one is given (E_LOG_LEAF); the checkpoint verifies (§18.4); the inclusion proof
 * leads from the leaf to the checkpoint's root (E_LOG_INCLUSION). Resolves to {leaf, index, checkpoint}.
 */
export async function verifyReceiptData(
  data,
  { logKey, witnessKeys = [], witnesses = 0, expect = null, origin = null, now = null },
) {
  const receipt = typeof data === "object" && "checkpoint" in data && "proof" in data ? data : parseReceipt(data);
  // 1.
  const leaf = parseLeaf(receipt.leaf);
  const hash = await leafHash(leaf.raw);
  // 2.
  if (
    expect &&
    (!equal(leaf.batchId, expect.batchId) || leaf.seq !== BigInt(expect.seq) || !equal(leaf.headId, expect.eventId))
  ) {
    fail(
      "E_LOG_LEAF",
      `the receipt logs seq ${leaf.seq} of batch ${hex(leaf.batchId).slice(0, 16)}, not the expected head`,
      {
        eventId: hex(expect.eventId),
      },
    );
  }
  // 3.
  const opened = await openCheckpoint(receipt.checkpoint, { logKey, witnessKeys, witnesses, origin, now });
  // 4.
  await verifyInclusion(hash, receipt.index, opened.checkpoint.size, receipt.proof, opened.checkpoint.root);
  return {
    leaf,
    leafHash: hash,
    index: receipt.index,
    checkpoint: opened.checkpoint,
    cosignatures: opened.cosignatures,
  };
}

export function describeLeaf(leaf) {
  return { batchId: hex(leaf.batchId), seq: Number(leaf.seq), headId: hex(leaf.headId), logged: timeText(leaf.logged) };
}
