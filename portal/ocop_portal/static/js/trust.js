// Trust lists (docs/format.md §16): the multi-signed envelope, the payload, verification from pinned authority
// keys, and the status of a participant's key at the time an event claims (or on the day a seal carries).

import { decode, encode } from "./cbor.js";
import { parseSign1 } from "./cose.js";
import { fail, VerifyError } from "./errors.js";
import { checkPublicKey, KeyRing, KeyWindow, PublicKey } from "./keys.js";
import { adminCode, gln, gs1Prefix, invalid, sameName, text, uint } from "./fields.js";
import { equal, hex, sha256 } from "./util.js";

export const TRUST_TYP = "application/ocop-trust+cbor";
const MAX_DOCUMENT = 4 << 20;
const MAX_SIGNATURES = 32;
const MAX_PARTICIPANTS = 20000;
const MAX_KEYS_PER_PARTICIPANT = 16;
const MAX_AUTHORITY_KEYS = 16;
const MAX_CLAIMS = 64;
// Most CBOR items a trust list payload may hold, counted before it is decoded (the reference's MAX_DOCUMENT_ITEMS).
export const MAX_DOCUMENT_ITEMS = 500_000;
// Most CBOR items of the multi-signed envelope: the array and its byte strings (§16 step 2).
const MAX_ENVELOPE_ITEMS = 1 + MAX_SIGNATURES;
const KNOWN_LABELS = [0n, 1n, 2n, 3n, 4n, 5n, 6n, 7n];
const ROLES = ["producer", "processor", "lab", "certifier", "distributor", "retailer"];
const STATUSES = ["active", "retired", "revoked"];
// Participant labels 0-10 (labels 6-10, what a participant may claim, are optional).
const PARTICIPANT_FIELDS = [
  "id",
  "name",
  "role",
  "admin_code",
  "gln",
  "keys",
  "commune",
  "province",
  "gs1_prefixes",
  "glns",
  "admin_codes",
];
const KEY_FIELDS = ["key", "not_before", "not_after", "status", "status_time"];
const TIME = /^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z$/;
const ID = /^[a-z0-9][a-z0-9._-]{0,63}$/;

const schema = (message, field) => fail("E_SCHEMA", message, { field });

// ---- the multi-signed envelope ------------------------------------------------------------------------------

/** Parse a multi-signed envelope (signatures not checked): {payload, signatures, objectId = SHA-256(payload)}. */
export async function parseDocument(bytes, typ) {
  if (bytes.length > MAX_DOCUMENT) fail("E_SIZE", `${bytes.length} bytes exceeds the limit of ${MAX_DOCUMENT}`);
  const items = decode(bytes, { maxSize: MAX_DOCUMENT, maxDepth: 2, maxItems: MAX_ENVELOPE_ITEMS });
  if (!Array.isArray(items) || items.length < 1 || items.length > MAX_SIGNATURES) {
    fail("E_ENVELOPE", `expected an array of 1 to ${MAX_SIGNATURES} signatures`);
  }
  const signatures = [];
  for (const [index, item] of items.entries()) {
    if (!(item instanceof Uint8Array))
      fail("E_ENVELOPE", "each signature is a COSE_Sign1 in a byte string", { position: index });
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

/** UTC time text YYYY-MM-DDTHH:MM:SSZ as microseconds since 1970 (regex: E_SCHEMA; impossible values and years
 * outside 1970-9999: E_FIELD). */
export function parseTime(value, field) {
  if (typeof value !== "string" || !TIME.test(value)) schema("expected UTC time text YYYY-MM-DDTHH:MM:SSZ", field);
  const [y, mo, d, h, mi, s] = value.match(/[0-9]+/g).map(Number);
  const dim = [31, y % 4 === 0 && (y % 100 !== 0 || y % 400 === 0) ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
  if (y < 1 || mo < 1 || mo > 12 || d < 1 || d > dim[mo - 1] || h > 23 || mi > 59 || s > 59) {
    invalid("not a valid date-time", field);
  }
  if (y < 1970 || y > 9999) invalid("year out of range", field);
  return BigInt(Date.UTC(y, mo - 1, d, h, mi, s)) * 1000n;
}

/** The canonical UTC text of a time (years are 1970-9999, so always four digits). */
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

const byText = (a, b) => (a < b ? -1 : a > b ? 1 : 0);

/** Labels 8-10: distinct codes, each by its rule, kept sorted (the canonical form). */
function claims(values, rule, field) {
  const items = values.map((v) => rule(v, field));
  if (items.length > MAX_CLAIMS) invalid(`more than ${MAX_CLAIMS} items`, field);
  if (new Set(items).size !== items.length) invalid("an item is listed twice", field);
  return items.sort(byText);
}

function participant(value, where) {
  const p = labelled(value, PARTICIPANT_FIELDS, where, [0, 1, 2, 5]);
  const keys = listField(p.keys, `${where}.keys`, MAX_KEYS_PER_PARTICIPANT).map((k, j) =>
    participantKey(k, `${where}.keys[${j}]`),
  );
  const lists = {};
  for (const name of ["gs1_prefixes", "glns", "admin_codes"]) {
    lists[name] = name in p ? listField(p[name], `${where}.${name}`, MAX_CLAIMS) : [];
  }
  // the participant's own rules, in the reference's order
  if (typeof p.id !== "string" || !ID.test(p.id))
    invalid("participant id must be 1-64 of a-z 0-9 . _ -", `${where}.id`);
  const name = text(p.name, `${where}.name`);
  if (!ROLES.includes(p.role)) invalid(`role must be one of ${ROLES.join(", ")}`, `${where}.role`);
  return {
    id: p.id,
    name,
    role: p.role,
    admin_code: p.admin_code == null ? null : adminCode(p.admin_code, `${where}.admin_code`),
    gln: p.gln == null ? null : gln(p.gln, `${where}.gln`),
    commune: p.commune == null ? null : text(p.commune, `${where}.commune`),
    province: p.province == null ? null : text(p.province, `${where}.province`),
    gs1_prefixes: claims(lists.gs1_prefixes, gs1Prefix, `${where}.gs1_prefixes`),
    glns: claims(lists.glns, gln, `${where}.glns`),
    admin_codes: claims(lists.admin_codes, adminCode, `${where}.admin_codes`),
    keys,
  };
}

/**
 * Decode and check a trust list payload (§16) in the reference's order, after its signatures were counted; keys
 * are validated, not yet imported.
 */
function decodePayload(payload) {
  const m = decode(payload, { maxSize: MAX_DOCUMENT, maxDepth: 6, maxItems: MAX_DOCUMENT_ITEMS });
  if (!(m instanceof Map) || ![...m.keys()].every((k) => typeof k === "bigint" && k >= 0n)) {
    schema("a trust list payload is a map with unsigned integer labels", "payload");
  }
  if (m.get(0n) !== 1n) fail("E_VERSION", "unsupported trust list format", { field: "v" });
  if (KNOWN_LABELS.slice(0, 7).some((label) => !m.has(label))) schema("missing labels", "payload");
  let critical = [];
  if (m.has(7n)) {
    critical = listField(m.get(7n), "crit", 64).map((c) => uint(c, "crit"));
    if (new Set(critical).size !== critical.length) schema("crit lists a label twice", "crit");
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
  const threshold = uint(auth.threshold, "authority.threshold", 1n);
  const participants = listField(m.get(6n), "participants", MAX_PARTICIPANTS, true).map((p, i) =>
    participant(p, `participants[${i}]`),
  );
  const version = uint(m.get(2n), "version", 1n);
  const issuedAt = parseTime(m.get(3n), "issued_at");
  const expires = parseTime(m.get(4n), "expires");
  if (threshold > BigInt(authorityKeys.length)) invalid("threshold exceeds the authority keys", "authority.threshold");
  const list = {
    issuer: text(m.get(1n), "issuer"),
    version,
    issuedAt,
    expires,
    threshold,
    authorityKeys,
    participants,
    critical,
    extensions: new Map([...m].filter(([k]) => !KNOWN_LABELS.includes(k))),
  };
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
    const optional = [
      [3n, p.admin_code],
      [4n, p.gln],
      [6n, p.commune],
      [7n, p.province],
      [8n, p.gs1_prefixes.length ? p.gs1_prefixes : null],
      [9n, p.glns.length ? p.glns : null],
      [10n, p.admin_codes.length ? p.admin_codes : null],
    ];
    for (const [label, value] of optional) if (value !== null) m.set(label, value);
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
        k.window = new KeyWindow({ ...k, holder: `${p.name} (${p.role})` });
        this.byKeyId.set(k.key.keyIdHex, { participant: p, key: k });
      }
    }
  }

  /** Every participant key with its window and status, which every verifier then enforces. */
  keyRing() {
    const keys = this.participants.flatMap((p) => p.keys);
    return new KeyRing(
      keys.map((k) => k.key),
      new Map(keys.map((k) => [k.key.hex, k.window])),
    );
  }

  /** {participant, key} holding the key with this id, or null. */
  lookup(keyId) {
    return this.byKeyId.get(typeof keyId === "string" ? keyId : hex(keyId)) ?? null;
  }
}

/**
 * Whether `gtin` (14 digits) belongs to one of the participant's GS1 Company Prefixes: in the 14-digit form the
 * company prefix starts after the first digit (GS1 General Specifications §3.3.2).
 */
export function ownsGtin(participant, gtin) {
  return gtin.length === 14 && participant.gs1_prefixes.some((p) => gtin.startsWith(p, 1));
}

/**
 * What a genesis claims that its signer may not (the reference's genesis_claims): [{code, field, message}] in order
 * — the producer's name (as people read it), administrative-unit code and GLN must be the participant's
 * (E_CLAIM_MISMATCH), the product's GTIN under one of its GS1 Company Prefixes (E_GTIN_NOT_OWNED).
 */
export function genesisClaims(participant, genesis) {
  const out = [];
  const { producer, product } = genesis;
  const claim = (code, field, message) => out.push({ code, field, message });
  if (!sameName(producer.name, participant.name)) {
    claim(
      "E_CLAIM_MISMATCH",
      "producer.name",
      `the record names its producer "${producer.name}", but it was signed by ${participant.name}`,
    );
  }
  if (
    producer.admin_code !== null &&
    !(producer.admin_code === participant.admin_code || participant.admin_codes.includes(producer.admin_code))
  ) {
    claim(
      "E_CLAIM_MISMATCH",
      "producer.admin_code",
      `administrative-unit code ${producer.admin_code} is not one ${participant.name} may claim`,
    );
  }
  if (producer.gln !== null && !(producer.gln === participant.gln || participant.glns.includes(producer.gln))) {
    claim("E_CLAIM_MISMATCH", "producer.gln", `GLN ${producer.gln} is not one ${participant.name} may claim`);
  }
  if (product.gtin !== null && !ownsGtin(participant, product.gtin)) {
    claim(
      "E_GTIN_NOT_OWNED",
      "product.gtin",
      `GTIN ${product.gtin} belongs to none of ${participant.name}'s GS1 Company Prefixes`,
    );
  }
  return out;
}

async function importKeys(list) {
  const keys = new Map();
  for (const raw of [...list.authorityKeys, ...list.participants.flatMap((p) => p.keys.map((k) => k.raw))]) {
    if (!keys.has(hex(raw))) keys.set(hex(raw), await PublicKey.from(raw));
  }
  return keys;
}

/** E_TRUST_THRESHOLD unless at least `pin.threshold` distinct keys of `pin.keys` validly signed the document. */
async function requireThreshold(doc, pin, what) {
  const count = (await signedBy(doc, pin.keys)).size;
  if (BigInt(count) < BigInt(pin.threshold)) {
    fail("E_TRUST_THRESHOLD", `${what}: ${count} distinct valid authority signature(s), ${pin.threshold} required`);
  }
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
    // 1. the envelope, and the authority it must follow over the payload bytes, before the payload is decoded
    const doc = await parseDocument(raw, TRUST_TYP);
    await requireThreshold(
      doc,
      current instanceof TrustList ? current.authority : current,
      "the list by the authority it must follow",
    );
    // 2. the payload
    const list = decodePayload(doc.payload);
    const tl = new TrustList(list, await importKeys(list), doc.objectId);
    // 3. versions move forward (before the list's own authority: docs/format.md §16)
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
    // 4. its own authority
    await requireThreshold(doc, tl.authority, `version ${tl.version} by its own authority`);
    current = last = tl;
  }
  // 5.
  if (now >= last.expires) {
    fail("E_TRUST_EXPIRED", `trust list version ${last.version} expired at ${timeText(last.expires)}`, {
      field: "expires",
    });
  }
  return last;
}
