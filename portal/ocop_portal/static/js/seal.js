// Seals (docs/format.md §17): the URL form (GS1 Digital Link or OCOP link with ?s= digits), the OCOP1: text
// form, the statement rebuilt from them, the signature, and the checks against the sealed batch's chain.

import { decode, encode } from "./cbor.js";
import { parseSign1, protectedHeader, toBeSigned } from "./cose.js";
import { fail } from "./errors.js";
import { gs1KeyProblem } from "./fields.js";
import { genesisClaims, ownsGtin } from "./trust.js";
import { codePoints, concat, equal, fromHex, hex, sha256 } from "./util.js";

export const SEAL_TYP = "application/ocop-seal+cbor";
const TEXT_PREFIX = "OCOP1:";
const MAX_TEXT = 1400;
const MAX_SEAL = 1024;
const MAX_URL = 2048;
const MAX_RESOLVER = 200;
const KID_HINT = 4;
const HEAD_REF = 16;
const BATCH_REF = 8;
const SIG = 64;
const FIXED = 1 + KID_HINT + 2 + HEAD_REF; // bytes before the seq
const MAX_SEQ = 2n ** 63n - 1n;
const B45 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:";
/** The roles that may seal a product unless a policy names others (the reference's SEALING_ROLES). */
export const SEALING_ROLES = ["producer"];

const GS1_82 = /^[!"%&'()*+,\-./0-9:;<=>?A-Z_a-z]{1,20}$/; // GS1 General Specifications, figure 7.11-1
const HOST = /^(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)*[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?::[0-9]{1,5})?$/;
const PREFIX_SEGMENT = /^[A-Za-z0-9._~-]{1,64}$/;
const QUERY_ITEM = /^[A-Za-z0-9._~-]+=[A-Za-z0-9._~%-]*$/;
const AI_ORDER = ["22", "10", "21"];
const AI_FIELD = { 22: "cpv", 10: "lot", 21: "serial" };

const err = (code, message, field) => fail(code, message, field === undefined ? {} : { field });

// ---- encodings ----------------------------------------------------------------------------------------------

/** Strict base45 (RFC 9285): E_SEAL_ENCODING for a character outside the alphabet, a bad length or range. */
export function base45Decode(text) {
  const values = [...text].map((c) => {
    const v = B45.indexOf(c);
    if (v < 0) err("E_SEAL_ENCODING", "character outside the base45 alphabet");
    return v;
  });
  if (values.length % 3 === 1) err("E_SEAL_ENCODING", "base45 text has an impossible length");
  const out = [];
  for (let i = 0; i < values.length; i += 3) {
    const group = values.slice(i, i + 3);
    const n = group.reduce((sum, v, k) => sum + v * 45 ** k, 0);
    if (group.length === 3) {
      if (n > 0xffff) err("E_SEAL_ENCODING", "base45 group out of range");
      out.push(n >> 8, n & 0xff);
    } else {
      if (n > 0xff) err("E_SEAL_ENCODING", "base45 group out of range");
      out.push(n);
    }
  }
  return Uint8Array.from(out);
}

/** The fewest decimal digits d with 10^d >= 256^n. */
function digitCount(n) {
  let d = 0;
  while (10n ** BigInt(d) < 256n ** BigInt(n)) d++;
  return d;
}

const DIGITS_TO_BYTES = new Map();
for (let n = FIXED + 1 + SIG; n <= FIXED + 9 + SIG; n++) DIGITS_TO_BYTES.set(digitCount(n), n);

function fromDigits(digits) {
  const n = DIGITS_TO_BYTES.get(digits.length);
  if (n === undefined) err("E_SEAL_TRUNCATED", `${digits.length} seal digits: the seal is truncated or padded`, "s");
  if (!/^[0-9]+$/.test(digits)) err("E_SEAL_ENCODING", "the seal must be decimal digits", "s");
  let value = BigInt(digits);
  if (value >= 256n ** BigInt(n)) err("E_SEAL_ENCODING", "seal digits out of range", "s");
  const out = new Uint8Array(n);
  for (let i = n - 1; i >= 0; i--) {
    out[i] = Number(value & 0xffn);
    value >>= 8n;
  }
  return out;
}

/** Unsigned LEB128 in shortest form, at most 9 bytes: [value, bytes used]. */
function readUvarint(bytes) {
  let n = 0n;
  for (let i = 0; i < Math.min(bytes.length, 9); i++) {
    const b = bytes[i];
    n |= BigInt(b & 0x7f) << BigInt(7 * i);
    if (!(b & 0x80)) {
      if (b === 0 && i > 0) err("E_SEAL_ENCODING", "seq is not in shortest form", "s");
      return [n, i + 1];
    }
  }
  return err("E_SEAL_TRUNCATED", "the seal ends inside the seq", "s");
}

// ---- Digital Link --------------------------------------------------------------------------------------------

/** A GTIN-8/12/13/14 as 14 digits: E_GTIN (length or characters), E_GTIN_CHECK (check digit). */
function normaliseGtin(value, field = "gtin") {
  const problem = gs1KeyProblem(value, [8, 12, 13, 14]);
  if (problem === "length") err("E_GTIN", "a GTIN is 8, 12, 13 or 14 digits", field);
  if (problem === "check") err("E_GTIN_CHECK", "the GTIN check digit is wrong", field);
  return value.padStart(14, "0");
}

function checkValue(value, field) {
  if (!GS1_82.test(value)) err("E_DL_CHARSET", `${field} must be 1-20 characters of GS1's 82-character set`, field);
  return value;
}

function checkResolver(resolver) {
  const m = /^(https?):\/\/([^/?#]+)((?:\/[^/?#]+)*)$/.exec(resolver);
  if (m === null) err("E_DL_SYNTAX", "the resolver must look like https://host[/prefix]", "resolver");
  if (!HOST.test(m[2]))
    err("E_DL_SYNTAX", "the resolver host must be a lower-case DNS name (no user-info)", "resolver");
  for (const seg of m[3].split("/").slice(1)) {
    if (!PREFIX_SEGMENT.test(seg) || seg === "01" || seg === "ocop") {
      err("E_DL_SYNTAX", `resolver path segment ${JSON.stringify(seg)} is not allowed`, "resolver");
    }
  }
}

/** The rules a link's parts obey whoever built it (the reference's DigitalLink constructor). */
function checkLink(link) {
  checkResolver(link.resolver);
  if ((link.gtin === null) === (link.batchRef === null))
    err("E_DL_SYNTAX", "a link has either a GTIN or a batch reference", "gtin");
  if (link.gtin !== null) link.gtin = normaliseGtin(link.gtin);
  else {
    if (!(link.batchRef instanceof Uint8Array) || link.batchRef.length !== BATCH_REF) {
      err("E_DL_SYNTAX", `batch_ref must be ${BATCH_REF} bytes`, "batch_ref");
    }
    if (link.cpv !== null) err("E_DL_SYNTAX", "the OCOP form has no variant (AI 22)", "cpv");
    if (link.lot === null) err("E_DL_SYNTAX", "the OCOP form needs a lot", "lot");
  }
  for (const name of ["cpv", "lot", "serial"]) if (link[name] !== null) checkValue(link[name], name);
  for (const [k, v] of link.query)
    if (!QUERY_ITEM.test(`${k}=${v}`)) err("E_DL_QUERY", `query parameter ${k} is not allowed`, "query");
  return link;
}

function decodeValue(raw, field) {
  if (/%(?![0-9A-Fa-f]{2})/.test(raw)) err("E_DL_SYNTAX", `invalid percent-escape in ${field}`, field);
  const bytes = [];
  for (let i = 0; i < raw.length; i++) {
    if (raw[i] === "%") {
      bytes.push(parseInt(raw.slice(i + 1, i + 3), 16));
      i += 2;
    } else bytes.push(raw.charCodeAt(i));
  }
  if (bytes.some((b) => b > 0x7f))
    err("E_DL_CHARSET", `${field} must be 1-20 characters of GS1's 82-character set`, field);
  return checkValue(String.fromCharCode(...bytes), field);
}

/** Parse a GS1 Digital Link URI (uncompressed) or an OCOP link (§17 URL form). */
export function parseDigitalLink(url) {
  if (typeof url !== "string") err("E_DL_SYNTAX", "expected text");
  if (url.length > MAX_URL) err("E_DL_SYNTAX", `longer than ${MAX_URL} characters`);
  if (!/^[\x20-\x7f]*$/.test(url) || url.includes(" ")) err("E_DL_SYNTAX", "a URI is printable ASCII without spaces");
  if (url.includes("#")) err("E_DL_SYNTAX", "fragments are not part of a Digital Link here");
  const m = /^(https?):\/\/([^/?]+)(\/[^?]*)(?:\?(.*))?$/.exec(url);
  if (m === null) err("E_DL_SYNTAX", "not an http(s) URI with a path");
  const [, scheme, host, path, queryText] = m;
  if (host.includes("@") || !HOST.test(host))
    err("E_DL_SYNTAX", "the host must be a lower-case DNS name without user-info", "resolver");
  const segments = path.split("/").slice(1);
  if (segments.some((s) => s === "")) err("E_DL_SYNTAX", "empty path segment");
  let query = [];
  if (queryText !== undefined) {
    const items = queryText.split("&");
    if (!items.every((i) => QUERY_ITEM.test(i))) err("E_DL_QUERY", "malformed query", "query");
    query = items.map((i) => [i.slice(0, i.indexOf("=")), i.slice(i.indexOf("=") + 1)]);
  }
  const at = segments.findIndex((s) => s === "01" || s === "ocop");
  if (at < 0) err("E_DL_SYNTAX", "no /01/ (GTIN) or /ocop/ segment");
  const resolver = `${scheme}://${host}${segments
    .slice(0, at)
    .map((s) => `/${s}`)
    .join("")}`;
  const rest = segments.slice(at);
  const link = { resolver, gtin: null, batchRef: null, cpv: null, lot: null, serial: null, query };
  if (rest[0] === "ocop") {
    if (rest.length !== 3 && rest.length !== 4) err("E_DL_SYNTAX", "the OCOP form is /ocop/BATCH/LOT[/SERIAL]");
    if (!/^[0-9a-f]{16}$/.test(rest[1]))
      err("E_DL_SYNTAX", "the batch reference is 16 lower-case hex digits", "batch_ref");
    link.batchRef = fromHex(rest[1]);
    link.lot = decodeValue(rest[2], "lot");
    if (rest.length === 4) link.serial = decodeValue(rest[3], "serial");
    return checkLink(link);
  }
  if (rest.length % 2) err("E_DL_SYNTAX", "every AI in the path needs a value");
  link.gtin = normaliseGtin(rest[1]);
  let last = -1;
  for (let j = 2; j < rest.length; j += 2) {
    const position = AI_ORDER.indexOf(rest[j]);
    if (position < 0) err("E_DL_QUALIFIER", `AI ${rest[j]} is not a key qualifier of GTIN (22, 10, 21)`);
    if (position <= last) err("E_DL_ORDER", "key qualifiers must appear once each, in the order 22, 10, 21");
    last = position;
    link[AI_FIELD[rest[j]]] = decodeValue(rest[j + 1], AI_FIELD[rest[j]]);
  }
  return checkLink(link);
}

// ---- the statement ------------------------------------------------------------------------------------------

/** Check a statement {resolver, gtin, batchRef, lot, serial, seq, head, sealedOn (days)} (the reference's rules). */
function checkStatement(st) {
  if (codePoints(st.resolver) > MAX_RESOLVER) err("E_FIELD", "resolver too long", "resolver");
  const link = checkLink({
    resolver: st.resolver,
    gtin: st.gtin,
    batchRef: st.batchRef,
    cpv: null,
    lot: st.lot,
    serial: st.serial,
    query: [],
  });
  st.gtin = link.gtin;
  if (typeof st.seq !== "bigint" || st.seq < 0n || st.seq > MAX_SEQ) err("E_FIELD", "seq out of range", "seq");
  if (!(st.head instanceof Uint8Array) || st.head.length !== HEAD_REF)
    err("E_FIELD", `head must be ${HEAD_REF} bytes`, "head");
  if (st.sealedOn < 0 || st.sealedOn > 0xffff) err("E_FIELD", "sealed_on out of range (1970-2149)", "sealed_on");
  return st;
}

/** The payload that is signed (§17 seal payload). */
export function statementPayload(st) {
  const m = new Map([
    [0n, 1n],
    [1n, st.resolver],
    [4n, st.lot],
    [6n, st.seq],
    [7n, st.head],
    [8n, BigInt(st.sealedOn)],
  ]);
  if (st.gtin !== null) m.set(2n, st.gtin);
  else m.set(3n, st.batchRef);
  if (st.serial !== null) m.set(5n, st.serial);
  return encode(m);
}

function statementFromPayload(payload) {
  const m = decode(payload, { maxSize: MAX_SEAL, maxDepth: 1 });
  if (!(m instanceof Map)) err("E_SCHEMA", "seal payload must be a map");
  if (m.get(0n) !== 1n) err("E_VERSION", "unsupported seal version", "v");
  const allowed = [0n, 1n, 2n, 3n, 4n, 5n, 6n, 7n, 8n];
  if (![...m.keys()].every((k) => allowed.includes(k)) || ![1n, 4n, 6n, 7n, 8n].every((k) => m.has(k))) {
    err("E_SCHEMA", "seal payload labels are wrong");
  }
  const types = {
    1: "string",
    2: "string",
    3: "bytes",
    4: "string",
    5: "string",
    6: "bigint",
    7: "bytes",
    8: "bigint",
  };
  for (const [label, kind] of Object.entries(types)) {
    const v = m.get(BigInt(label));
    const ok = kind === "bytes" ? v instanceof Uint8Array : typeof v === kind;
    if (m.has(BigInt(label)) && !ok) err("E_SCHEMA", `seal label ${label} has the wrong type`);
  }
  const days = m.get(8n);
  if (days < 0n || days > 0xffffn) err("E_FIELD", "sealed_on out of range", "sealed_on");
  const gtin = m.get(2n) ?? null;
  if (gtin !== null && codePoints(gtin) !== 14) err("E_NONCANONICAL", "a sealed GTIN has 14 digits", "gtin");
  const st = checkStatement({
    resolver: m.get(1n),
    gtin,
    batchRef: m.get(3n) ?? null,
    lot: m.get(4n),
    serial: m.get(5n) ?? null,
    seq: m.get(6n),
    head: m.get(7n),
    sealedOn: Number(days),
  });
  if (!equal(statementPayload(st), payload)) err("E_NONCANONICAL", "seal payload is not in its one encoding");
  return st;
}

// ---- parsing ------------------------------------------------------------------------------------------------

function parseUrl(text) {
  const link = parseDigitalLink(text);
  if (link.query.length === 0) err("E_SEAL_MISSING", "the link carries no seal (no ?s=)", "s");
  if (link.query.length !== 1 || link.query[0][0] !== "s")
    err("E_DL_QUERY", "a sealed link carries exactly one query parameter, s", "query");
  if (link.cpv !== null) err("E_DL_QUALIFIER", "seals do not cover a variant (AI 22)", "cpv");
  if (link.lot === null) err("E_DL_SYNTAX", "a sealed link names its lot (AI 10)", "lot");
  const blob = fromDigits(link.query[0][1]);
  if (blob[0] !== 1) err("E_VERSION", `unsupported seal version ${blob[0]}`, "s");
  const [seq, used] = readUvarint(blob.subarray(FIXED, blob.length - SIG));
  if (FIXED + used + SIG !== blob.length)
    err("E_SEAL_TRUNCATED", "the seal's parts do not add up: truncated or altered", "s");
  const statement = checkStatement({
    resolver: link.resolver,
    gtin: link.gtin,
    batchRef: link.batchRef,
    lot: link.lot,
    serial: link.serial,
    seq,
    head: blob.slice(1 + KID_HINT + 2, FIXED),
    sealedOn: (blob[1 + KID_HINT] << 8) | blob[2 + KID_HINT],
  });
  return { statement, kidHint: blob.slice(1, 1 + KID_HINT), signature: blob.slice(blob.length - SIG), form: "url" };
}

async function parseText(text) {
  const cose = await parseSign1(base45Decode(text.slice(TEXT_PREFIX.length)), { typ: SEAL_TYP, maxSize: MAX_SEAL });
  return {
    statement: statementFromPayload(cose.payload),
    kidHint: cose.keyId,
    signature: cose.signature,
    form: "text",
  };
}

/** Read a seal from its URL or text form without verifying it. */
export async function parseSeal(text) {
  if (typeof text !== "string") err("E_SEAL_PREFIX", "expected text");
  if (codePoints(text) > MAX_TEXT) err("E_SIZE", `longer than ${MAX_TEXT} characters`);
  if (text.startsWith(TEXT_PREFIX)) return parseText(text);
  if (text.startsWith("https://") || text.startsWith("http://")) return parseUrl(text);
  return err("E_SEAL_PREFIX", "not a seal: expected OCOP1: or an http(s) link");
}

// ---- verification -------------------------------------------------------------------------------------------

/**
 * Check the signature of a parsed seal (§17 checks 2–3): every key of `ring` whose id starts with the hint is tried
 * (a hint, not an authenticator), each only if its window allows a seal of that date (keys from a trust list).
 * The COSE_Sign1 is rebuilt for each candidate key. Resolves to {seal: {raw, keyId, sealId}, key}; E_UNKNOWN_KEY
 * when no key matches, the first refused key's E_KEY_* when none that was tried verifies, else E_SIGNATURE.
 */
export async function checkSealSignature(unverified, ring) {
  const hint = unverified.kidHint;
  const matching = ring.withPrefix(hint);
  if (matching.length === 0)
    fail("E_UNKNOWN_KEY", "the seal is signed by a key that is not trusted", { keyId: hex(hint) });
  const payload = statementPayload(unverified.statement);
  let refused = null;
  for (const key of matching) {
    const problem = ring.window(key)?.problemOn(unverified.statement.sealedOn) ?? null;
    if (problem !== null) {
      refused ??= { key, problem, holder: ring.window(key).holder };
      continue;
    }
    const prot = protectedHeader(key.keyId, SEAL_TYP);
    const tbs = toBeSigned(prot, payload);
    if (await key.verify(unverified.signature, tbs)) {
      const raw = concat(
        Uint8Array.of(0xd2, 0x84),
        encode(prot),
        Uint8Array.of(0xa0),
        encode(payload),
        encode(unverified.signature),
      );
      return { seal: { raw, keyId: key.keyId, sealId: await sha256(tbs) }, key };
    }
  }
  if (refused !== null) {
    const who = refused.holder ? `${refused.holder}, ` : "";
    fail(refused.problem[0], `${who}for a seal dated ${isoDay(unverified.statement.sealedOn)}: ${refused.problem[1]}`, {
      keyId: refused.key.keyIdHex,
    });
  }
  return fail("E_SIGNATURE", "the seal's signature does not verify: altered or not this signer's", {
    keyId: hex(hint),
  });
}

/**
 * §17 check 5, with a trust list: the sealer's role may seal (`sealers`: the producer, unless a policy says
 * otherwise; E_SEAL_ROLE) and a sealed GTIN is under one of its GS1 Company Prefixes (E_GTIN_NOT_OWNED). Returns the
 * sealer's participant entry.
 */
export function checkSealer(statement, keyId, trust, sealers = SEALING_ROLES) {
  const { participant } = trust.lookup(keyId); // the key verified, so the list holds it
  if (!sealers.includes(participant.role)) {
    const who = `${participant.name} (${participant.role})`;
    fail("E_SEAL_ROLE", `${who} may not seal products: sealing is for ${sealers.join(" or ")}`, { keyId: hex(keyId) });
  }
  if (statement.gtin !== null && !ownsGtin(participant, statement.gtin)) {
    fail("E_GTIN_NOT_OWNED", `GTIN ${statement.gtin} belongs to none of ${participant.name}'s GS1 Company Prefixes`, {
      keyId: hex(keyId),
      field: "gtin",
    });
  }
  return participant;
}

/**
 * Checks a seal against the sealed batch's verified events, fed in chain order (§17 checks against a chain); with a
 * trust list, the genesis's claims must also be its signer's.
 */
export class SealChainCheck {
  constructor(statement, keyId, trust = null) {
    this.st = statement;
    this.keyId = hex(keyId);
    this.trust = trust;
    this.genesis = null;
    this.sealed = null;
    this.signers = new Set();
    this.steps = [];
    this.total = 0;
  }

  feed(event) {
    const st = this.st;
    this.total += 1;
    if (this.genesis === null) {
      this.genesis = event;
      // 1. the same product and batch
      const body = event.body;
      const same =
        body.kind === "genesis" &&
        body.product.lot === st.lot &&
        (st.gtin !== null ? body.product.gtin === st.gtin : equal(event.eventId.subarray(0, BATCH_REF), st.batchRef));
      if (!same) fail("E_SEAL_BATCH", "the seal is for another batch or product");
      // 1b. with a trust list: what the genesis claims must be its signer's
      const found = this.trust?.lookup(event.keyId) ?? null;
      if (found !== null) {
        const [first] = genesisClaims(found.participant, body);
        if (first) fail(first.code, first.message, { field: first.field, eventId: hex(event.eventId) });
      }
    }
    if (event.seq <= st.seq) {
      this.steps.push(event);
      this.signers.add(hex(event.keyId));
      if (event.seq === st.seq) this.sealed = event;
    }
  }

  finish() {
    const st = this.st;
    if (this.genesis === null) fail("E_SEAL_ROLLBACK", "the chain has no events");
    // 2. the chain reaches the sealed seq
    if (this.sealed === null) {
      fail(
        "E_SEAL_ROLLBACK",
        `the seal covers seq ${st.seq} but the chain ends at seq ${this.total - 1}: truncated or rolled back`,
      );
    }
    // 3. the event there is the sealed head
    if (!equal(this.sealed.eventId.subarray(0, HEAD_REF), st.head)) {
      fail("E_SEAL_HEAD", `the event at seq ${st.seq} is not the one sealed`, { eventId: hex(this.sealed.eventId) });
    }
    // 4. the seal's signer signed one of the sealed events
    if (!this.signers.has(this.keyId))
      fail("E_SEAL_SIGNER", "the seal's signer signed none of the sealed events", { keyId: this.keyId });
    // 5. not dated before the head it seals (one day of slack for time zones)
    if (st.sealedOn < daysOf(this.sealed.body.time.localDate) - 1)
      fail("E_SEAL_TIME", "the seal is dated before the head it seals");
    return { genesis: this.genesis, covered: Number(st.seq) + 1, total: this.total, steps: this.steps };
  }
}

/** Days since 1970-01-01 of a YYYY-MM-DD date. */
function daysOf(isoDate) {
  const [y, m, d] = isoDate.split("-").map(Number);
  const t = new Date(0);
  t.setUTCFullYear(y, m - 1, d);
  return Math.round(t.getTime() / 86400000);
}

export function isoDay(days) {
  return new Date(days * 86400000).toISOString().slice(0, 10);
}
