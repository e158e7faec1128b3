// Trust lists (docs/format.md §16): the multi-signed envelope, the payload, verification from pinned authority
// keys, and the status of a participant's key at the time an event claims (or on the day a seal carries).

import { decode, encode, isNfc } from "./cbor.js";
import { parseSign1 } from "./cose.js";
import { fail, VerifyError } from "./errors.js";
import { checkPublicKey, KeyRing, PublicKey } from "./keys.js";
import { codePoints, equal, hex, pyStrip, sha256 } from "./util.js";

export const TRUST_TYP = "application/ocop-trust+cbor";
const MAX_DOCUMENT = 4 << 20;
const MAX_SIGNATURES = 32;
const MAX_PARTICIPANTS = 20000;
const MAX_KEYS_PER_PARTICIPANT = 16;
const MAX_AUTHORITY_KEYS = 16;
const KNOWN_LABELS = [0n, 1n, 2n, 3n, 4n, 5n, 6n, 7n];
const ROLES = ["producer", "processor", "lab", "certifier", "distributor", "retailer"];
const STATUSES = ["active", "retired", "revoked"];
const PARTICIPANT_FIELDS = ["id", "name", "role", "admin_code", "gln", "keys"];
const KEY_FIELDS = ["key", "not_before", "not_after", "status", "status_time"];
const TIME = /^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z$/;
const ID = /^[a-z0-9][a-z0-9._-]{0,63}$/;
const ADMIN = /^[0-9]{2,10}$/;
const GLN = /^[0-9]{13}$/;
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;
const DAY = 86_400_000_000n;
const HOUR = 3_600_000_000n;

const schema = (message, field) => fail("E_SCHEMA", message, { field });
const invalid = (message, field) => fail("E_FIELD", message, { field });

// ---- the multi-signed envelope ------------------------------------------------------------------------------

/** Parse a multi-signed envelope (signatures not checked): {payload, signatures, objectId = SHA-256(payload)}. */
export async function parseDocument(bytes, typ) {
  if (bytes.length > MAX_DOCUMENT) fail("E_SIZE", `${bytes.length} bytes exceeds the limit of ${MAX_DOCUMENT}`);
  const items = decode(bytes, { maxSize: MAX_DOCUMENT, maxDepth: 2 });
  if (!Array.isArray(items) || items.length < 1 || items.length > MAX_SIGNATURES) {
    fail("E_ENVELOPE", `expected an array of 1 to ${MAX_SIGNATURES} signatures`);
  }
  const signatures = [];
  for (const [index, item] of items.entries()) {
    if (!(item instanceof Uint8Array)) fail("E_ENVELOPE", "each signature is a COSE_Sign1 in a byte string", { index });
    signatures.push(await parseSign1(item, { typ, maxSize: MAX_DOCUMENT }));
  }
  const payload = signatures[0].payload;
  if (!signatures.every((s) => equal(s.payload, payload)))
    fail("E_ENVELOPE", "the signatures cover different payloads");
  return { payload, signatures, objectId: await sha256(payload) };
}

/** The raw bytes (hex) of the distinct keys among `keys` that validly signed the document. */
export async function signedBy(doc, keys) {
  const ring = new KeyRing(keys);
  const good = new Set();
  for (const sig of doc.signatures) {
    for (const key of ring.candidates(sig.keyId)) {
      if (!good.has(key.hex) && (await key.verify(sig.signature, sig.toBeSigned))) good.add(key.hex);
    }
  }
  return good;
}

// ---- field rules of trust lists ---------------------------------------------------------------------------

function textField(value, field) {
  if (typeof value !== "string" || pyStrip(value) === "") schema("expected non-empty text", field);
  if (codePoints(value) > 256) invalid("longer than 256 characters", field);
  if (!isNfc(value)) fail("E_NONCANONICAL", "text must be in Unicode NFC form", { field });
  if (CONTROL.test(value)) invalid("contains control characters", field);
  return value;
}

function uintField(value, field, minimum = 0n) {
  if (typeof value !== "bigint" || value < minimum || value >= 2n ** 63n)
    schema(`expected an integer >= ${minimum}`, field);
  return value;
}

/** UTC time text YYYY-MM-DDTHH:MM:SSZ as microseconds since 1970 (regex: E_SCHEMA; impossible values: E_FIELD). */
export function parseTime(value, field) {
  if (typeof value !== "string" || !TIME.test(value)) schema("expected UTC time text YYYY-MM-DDTHH:MM:SSZ", field);
  const [y, mo, d, h, mi, s] = value.match(/[0-9]+/g).map(Number);
  const dim = [31, y % 4 === 0 && (y % 100 !== 0 || y % 400 === 0) ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
  if (y < 1 || mo < 1 || mo > 12 || d < 1 || d > dim[mo - 1] || h > 23 || mi > 59 || s > 59) {
    invalid("not a valid date-time", field);
  }
  const t = new Date(0);
  t.setUTCFullYear(y, mo - 1, d);
  t.setUTCHours(h, mi, s, 0);
  return BigInt(t.getTime()) * 1000n;
}

/** The reference writes times with strftime, whose %Y does not pad years before 1000 ("999-01-01T…"). */
export function timeText(micros) {
  const t = new Date(Number(micros / 1000n));
  const p = (n) => String(n).padStart(2, "0");
  const date = `${t.getUTCFullYear()}-${p(t.getUTCMonth() + 1)}-${p(t.getUTCDate())}`;
  return `${date}T${p(t.getUTCHours())}:${p(t.getUTCMinutes())}:${p(t.getUTCSeconds())}Z`;
}

function labelled(value, names, where, required) {
  if (!(value instanceof Map)) schema("expected a map", where);
  for (const k of value.keys()) {
    if (typeof k !== "bigint" || k < 0n || k >= BigInt(names.length)) schema("unknown label", where);
  }
  for (const label of required)
    if (!value.has(BigInt(label))) schema(`missing ${names[label]}`, `${where}.${names[label]}`);
  const out = {};
  for (const [k, v] of value) out[names[Number(k)]] = v;
  return out;
}

function listField(value, field, limit, empty = false) {
  if (!Array.isArray(value) || (value.length === 0 && !empty)) schema("expected a non-empty array", field);
  if (value.length > limit) fail("E_SIZE", `more than ${limit} items`, { field });
  return value;
}

function keyField(raw, field) {
  if (!(raw instanceof Uint8Array)) schema("expected a 32-byte Ed25519 public key", field);
  try {
    checkPublicKey(raw);
  } catch (e) {
    if (e instanceof VerifyError) e.where.field = field;
    throw e;
  }
  return raw;
}

// ---- the payload ------------------------------------------------------------------------------------------

function participantKey(value, where) {
  const k = labelled(value, KEY_FIELDS, where, [0, 1, 2, 3]);
  const out = {
    raw: keyField(k.key, `${where}.key`),
    notBefore: parseTime(k.not_before, `${where}.not_before`),
    notAfter: parseTime(k.not_after, `${where}.not_after`),
    status: k.status,
    statusTime: "status_time" in k ? parseTime(k.status_time, `${where}.status_time`) : null,
  };
  if (!STATUSES.includes(out.status)) invalid(`status must be one of ${STATUSES.join(", ")}`, `${where}.status`);
  if (out.notAfter <= out.notBefore) invalid("not_after must be later than not_before", `${where}.not_after`);
  if (out.status === "retired" && out.statusTime === null)
    invalid("a retired key needs its retirement time", `${where}.status_time`);
  if (out.status === "active" && out.statusTime !== null)
    invalid("an active key has no status time", `${where}.status_time`);
  return out;
}

function participant(value, where) {
  const p = labelled(value, PARTICIPANT_FIELDS, where, [0, 1, 2, 5]);
  const keys = listField(p.keys, `${where}.keys`, MAX_KEYS_PER_PARTICIPANT).map((k, j) =>
    participantKey(k, `${where}.keys[${j}]`),
  );
  const name = textField(p.name, `${where}.name`);
  if (typeof p.id !== "string" || !ID.test(p.id))
    invalid("participant id must be 1-64 of a-z 0-9 . _ -", `${where}.id`);
  if (!ROLES.includes(p.role)) invalid(`role must be one of ${ROLES.join(", ")}`, `${where}.role`);
  const admin = p.admin_code ?? null;
  const gln = p.gln ?? null;
  if (admin !== null && (typeof admin !== "string" || !ADMIN.test(admin)))
    invalid("administrative-unit code must be 2-10 digits", `${where}.admin_code`);
  if (gln !== null && (typeof gln !== "string" || !GLN.test(gln))) invalid("GLN must be 13 digits", `${where}.gln`);
  return { id: p.id, name, role: p.role, admin_code: admin, gln, keys };
}

/** Decode and check a trust list payload (§16) in the reference's order; keys are validated, not yet imported. */
function decodePayload(payload) {
  const m = decode(payload, { maxSize: MAX_DOCUMENT, maxDepth: 6 });
  if (!(m instanceof Map) || ![...m.keys()].every((k) => typeof k === "bigint" && k >= 0n)) {
    schema("a trust list payload is a map with unsigned integer labels", "payload");
  }
  if (m.get(0n) !== 1n) fail("E_VERSION", "unsupported trust list format", { field: "v" });
  if (KNOWN_LABELS.slice(0, 7).some((label) => !m.has(label))) schema("missing labels", "payload");
  let critical = [];
  if (m.has(7n)) {
    critical = listField(m.get(7n), "crit", 64).map((c) => uintField(c, "crit"));
    if (critical.some((label) => !m.has(label))) schema("crit names a label which is absent", "crit");
    if (critical.some((label) => !KNOWN_LABELS.includes(label))) {
      fail("E_CRITICAL_FIELD", "the list marks labels as critical that this verifier does not understand", {
        field: "crit",
      });
    }
  }
  const auth = labelled(m.get(5n), ["threshold", "keys"], "authority", [0, 1]);
  const authorityKeys = listField(auth.keys, "authority.keys", MAX_AUTHORITY_KEYS).map((k, i) =>
    keyField(k, `authority.keys[${i}]`),
  );
  if (new Set(authorityKeys.map(hex)).size !== authorityKeys.length) {
    fail("E_DUPLICATE_KEY", "an authority key is listed twice", { field: "authority.keys" });
  }
  const threshold = uintField(auth.threshold, "authority.threshold", 1n);
  const participants = listField(m.get(6n), "participants", MAX_PARTICIPANTS, true).map((p, i) =>
    participant(p, `participants[${i}]`),
  );
  const list = {
    issuer: textField(m.get(1n), "issuer"),
    version: uintField(m.get(2n), "version", 1n),
    issuedAt: parseTime(m.get(3n), "issued_at"),
    expires: parseTime(m.get(4n), "expires"),
    threshold,
    authorityKeys,
    participants,
    critical,
    extensions: new Map([...m].filter(([k]) => !KNOWN_LABELS.includes(k))),
  };
  if (threshold > BigInt(authorityKeys.length)) invalid("threshold exceeds the authority keys", "authority.threshold");
  if (list.expires <= list.issuedAt) invalid("expires must be later than issued_at", "expires");
  const ids = new Set();
  const seen = new Set(authorityKeys.map(hex));
  participants.forEach((p, i) => {
    if (ids.has(p.id)) fail("E_DUPLICATE", `participant id ${p.id} appears twice`, { field: "participants" });
    ids.add(p.id);
    for (const k of p.keys) {
      if (seen.has(hex(k.raw)))
        fail("E_DUPLICATE_KEY", "a key appears twice in the list", { field: `participants[${i}].keys` });
      seen.add(hex(k.raw));
    }
  });
  if (!equal(encode(canonicalPayload(list)), payload)) {
    fail("E_NONCANONICAL", "the trust list is not in its one canonical form", { field: "payload" });
  }
  return list;
}

function canonicalPayload(list) {
  const byBytes = (a, b) => (hex(a) < hex(b) ? -1 : hex(a) > hex(b) ? 1 : 0);
  const keyMap = (k) => {
    const m = new Map([
      [0n, k.raw],
      [1n, timeText(k.notBefore)],
      [2n, timeText(k.notAfter)],
      [3n, k.status],
    ]);
    if (k.statusTime !== null) m.set(4n, timeText(k.statusTime));
    return m;
  };
  const participantMap = (p) => {
    const m = new Map([
      [0n, p.id],
      [1n, p.name],
      [2n, p.role],
      [5n, [...p.keys].sort((a, b) => byBytes(a.raw, b.raw)).map(keyMap)],
    ]);
    if (p.admin_code !== null) m.set(3n, p.admin_code);
    if (p.gln !== null) m.set(4n, p.gln);
    return m;
  };
  const m = new Map(list.extensions);
  m.set(0n, 1n);
  m.set(1n, list.issuer);
  m.set(2n, list.version);
  m.set(3n, timeText(list.issuedAt));
  m.set(4n, timeText(list.expires));
  m.set(
    5n,
    new Map([
      [0n, list.threshold],
      [1n, [...list.authorityKeys].sort(byBytes)],
    ]),
  );
  m.set(6n, [...list.participants].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)).map(participantMap));
  if (list.critical.length)
    m.set(
      7n,
      [...list.critical].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)),
    );
  return m;
}

// ---- a verified trust list ----------------------------------------------------------------------------------

/** A trust list whose signatures have been checked: only `verifyTrustListBytes` makes one. */
export class TrustList {
  constructor(list, keys, objectId) {
    Object.assign(this, list);
    this.objectId = objectId;
    this.authority = { threshold: list.threshold, keys: list.authorityKeys.map((raw) => keys.get(hex(raw))) };
    this.byKeyId = new Map();
    for (const p of this.participants) {
      for (const k of p.keys) {
        k.key = keys.get(hex(k.raw));
        this.byKeyId.set(k.key.keyIdHex, { participant: p, key: k });
      }
    }
  }

  /** Every participant key, whatever its status (for signature checks; status is judged separately). */
  keyRing() {
    return new KeyRing(this.participants.flatMap((p) => p.keys.map((k) => k.key)));
  }

  lookup(keyId) {
    return this.byKeyId.get(typeof keyId === "string" ? keyId : hex(keyId)) ?? null;
  }

  /** The status of a key for an event claiming time `t` (µs): null when it may sign, else [code, reason]. */
  static problemAt(k, t) {
    if (k.status === "revoked") return ["E_KEY_REVOKED", "the key is revoked: nothing it signed is trusted"];
    if (t < k.notBefore) return ["E_KEY_NOT_YET_VALID", `the key is valid from ${timeText(k.notBefore)}`];
    if (t >= k.notAfter) return ["E_KEY_EXPIRED", `the key was valid until ${timeText(k.notAfter)} (exclusive)`];
    if (k.status === "retired" && k.statusTime !== null && t >= k.statusTime) {
      return ["E_KEY_RETIRED", `the key was retired at ${timeText(k.statusTime)}`];
    }
    return null;
  }

  /**
   * The status of a key for a seal dated `day` (days since 1970): usable at some instant of that calendar day in
   * some time zone, i.e. in [day 00:00 − 14 h, day+1 00:00 + 12 h) UTC (ADR 0045).
   */
  static problemOn(k, day) {
    if (k.status === "revoked") return TrustList.problemAt(k, k.notBefore);
    const start = BigInt(day) * DAY - 14n * HOUR;
    const end = BigInt(day + 1) * DAY + 12n * HOUR;
    let stop = k.notAfter;
    if (k.status === "retired" && k.statusTime !== null && k.statusTime < stop) stop = k.statusTime;
    if (k.notBefore >= end) return TrustList.problemAt(k, start);
    if (stop <= start) return TrustList.problemAt(k, start > k.notBefore ? start : k.notBefore);
    return null;
  }

  /** Keys whose id starts with `hint` and that were usable on `day`; E_KEY_* when some match but none was. */
  keysForSeal(hint, day) {
    const usable = [];
    let refused = null;
    for (const p of this.participants) {
      for (const k of p.keys) {
        if (!k.key.keyIdHex.startsWith(hex(hint))) continue;
        const problem = TrustList.problemOn(k, day);
        if (problem === null) usable.push(k.key);
        else refused ??= { p, k, problem };
      }
    }
    if (usable.length === 0 && refused !== null) {
      fail(refused.problem[0], `${refused.p.name} (${refused.p.role}), for this seal's date: ${refused.problem[1]}`, {
        keyId: refused.k.key.keyIdHex,
      });
    }
    return usable;
  }
}

async function importKeys(list) {
  const keys = new Map();
  for (const raw of [...list.authorityKeys, ...list.participants.flatMap((p) => p.keys.map((k) => k.raw))]) {
    if (!keys.has(hex(raw))) keys.set(hex(raw), await PublicKey.from(raw));
  }
  return keys;
}

/**
 * Verify a trust list (§16 "Verifying a list") against an anchor: {keys: [PublicKey], threshold} pinned out of
 * band, or a TrustList verified before. `intermediates` (oldest first) carry the authority across rotations.
 * `now` is microseconds since 1970 (BigInt). Resolves to the TrustList.
 */
export async function verifyTrustListBytes(bytes, anchor, { now, intermediates = [] }) {
  let current = anchor;
  let last = anchor instanceof TrustList ? anchor : null;
  for (const raw of [...intermediates, bytes]) {
    // 1.
    const doc = await parseDocument(raw, TRUST_TYP);
    const list = decodePayload(doc.payload);
    const tl = new TrustList(list, await importKeys(list), doc.objectId);
    // 2.
    if (current instanceof TrustList) {
      if (tl.version < current.version) {
        fail("E_TRUST_ROLLBACK", `version ${tl.version} is older than the pinned version ${current.version}`, {
          field: "version",
        });
      }
      if (tl.version === current.version) {
        if (!equal(tl.objectId, current.objectId)) {
          fail("E_TRUST_CONFLICT", `two different lists claim version ${tl.version}`, { field: "version" });
        }
        last = current;
        continue;
      }
    }
    // 3.
    const previous = current instanceof TrustList ? current.authority : current;
    for (const pin of [previous, tl.authority]) {
      const count = (await signedBy(doc, pin.keys)).size;
      if (BigInt(count) < BigInt(pin.threshold)) {
        fail(
          "E_TRUST_THRESHOLD",
          `version ${tl.version}: ${count} distinct valid authority signature(s), ${pin.threshold} required`,
        );
      }
    }
    current = last = tl;
  }
  // 4.
  if (now >= last.expires) {
    fail("E_TRUST_EXPIRED", `trust list version ${last.version} expired at ${timeText(last.expires)}`, {
      field: "expires",
    });
  }
  return last;
}
