// ocop-verify: verify OCOP provenance records in the browser (or Node 20), following docs/format.md.
//
//   verifyBundle(bytes, {trustedKeys | trustList + authority, root, now, timeTolerance})
//   verifySeal(urlOrText, {trustedKeys | trustList + authority, bundle | events, now})
//   verifyChain(events, {trustedKeys | trustList + authority, batchId, now, timeTolerance})
//   verifyTrustList(bytes, {authority: {keys, threshold}, now, intermediates})
//   verifyLogReceipt(receipt, {logKey, witnessKeys, witnesses, expect, origin, now})
//   ed25519Support()
//
// Each verify function resolves to a plain result object, never rejects for bad data:
//   {ok, code, message, where: {position, batchId, seq, eventId, keyId, field}, ...what was verified}
// `where` holds the members that apply, named as the Python library's error locations are: `position` is the 0-based
// place of the item in the input the function read (the n-th event of a chain or of a bundle's file).
// `code` is "OK" (or "SEAL_OK" / "SEAL_OLDER_HEAD" for seals) when ok, else the E_... code of the first failure,
// the same code the Python library gives. "E_ED25519_UNSUPPORTED" means this browser cannot check signatures
// (no Ed25519 in WebCrypto): nothing was verified, and nothing falls back to anything weaker.
// Bad options (a programming error, not the data's fault) throw a TypeError.

import { verifyBundleBytes } from "./bundle.js";
import { DEFAULT_TIME_TOLERANCE, verifyChain as verifyChainRaw } from "./chain.js";
import { VerifyError } from "./errors.js";
import { ed25519Support, KeyRing } from "./keys.js";
import { checkSealer, checkSealSignature, isoDay, parseSeal, SealChainCheck } from "./seal.js";
import { genesisClaims, TrustList, timeText, verifyTrustListBytes } from "./trust.js";
import { describeLeaf, parseVkey, verifyReceiptData } from "./tlog.js";
import { asBytes, fromHex, hex } from "./util.js";

export { ed25519Support } from "./keys.js";
export { TrustList } from "./trust.js";

const DAY_MICROS = 86_400_000_000n;
const CLAIMS = ["admin_code", "gln", "commune", "province", "gs1_prefixes", "glns", "admin_codes"];

// ---- options ----------------------------------------------------------------------------------------------

function micros(now, name = "now") {
  if (now === undefined || now === null) return null;
  if (typeof now === "bigint") return now;
  const ms = now instanceof Date ? now.getTime() : typeof now === "string" ? Date.parse(now) : NaN;
  if (!Number.isFinite(ms)) throw new TypeError(`${name} must be a Date, an RFC 3339 string or microseconds (BigInt)`);
  return BigInt(ms) * 1000n;
}

function tolerance(seconds) {
  if (seconds === undefined) return DEFAULT_TIME_TOLERANCE;
  if (!Number.isFinite(seconds) || seconds < 0) throw new TypeError("timeTolerance is a number of seconds >= 0");
  return BigInt(Math.round(seconds * 1e6));
}

function keyBytes(k) {
  return typeof k === "string" ? fromHex(k) : asBytes(k);
}

/** Pinned authority keys {keys, threshold}: distinct keys, 1 <= threshold <= their number. */
async function authorityPin(authority) {
  if (!authority || !Array.isArray(authority.keys)) throw new TypeError("authority must be {keys: [...], threshold}");
  const keys = [...(await KeyRing.of(authority.keys.map(keyBytes)))];
  const threshold = authority.threshold ?? 1;
  if (!Number.isInteger(threshold) || threshold < 1 || threshold > keys.length) {
    throw new TypeError(`threshold must be 1 to ${keys.length}`);
  }
  return { keys, threshold };
}

/** The trust list to use: an already verified TrustList, or bytes verified here against `authority`. */
async function trustFrom(options, now) {
  const { trustList } = options;
  if (trustList instanceof TrustList) return trustList;
  if (now === null) throw new TypeError("verifying a trust list needs now");
  const intermediates = (options.intermediates ?? []).map(asBytes);
  return verifyTrustListBytes(asBytes(trustList), await anchorOf(options), { now, intermediates });
}

/**
 * The trusted keys: {trust: null, ring} from trustedKeys (trusted at any time), or {trust, ring: every key of the
 * list, each with its window and status, which every verifier enforces} from a trust list.
 */
async function keysFrom(options, now) {
  if (!options.trustList) return { trust: null, ring: await KeyRing.of(options.trustedKeys.map(keyBytes)) };
  const trust = await trustFrom(options, now);
  return { trust, ring: trust.keyRing() };
}

/** What a trust list is verified from: a TrustList verified before (`pinned`), or pinned authority keys. */
async function anchorOf(options) {
  return options.pinned instanceof TrustList ? options.pinned : authorityPin(options.authority);
}

// ---- results ----------------------------------------------------------------------------------------------

/** JSON-friendly copy: BigInt as Number when exact (else decimal text), bytes as hex, Maps as objects. */
export function plain(value) {
  if (typeof value === "bigint") return value >= -(2n ** 53n) && value <= 2n ** 53n ? Number(value) : value.toString();
  if (value instanceof Uint8Array) return hex(value);
  if (Array.isArray(value)) return value.map(plain);
  if (value instanceof Map) return Object.fromEntries([...value].map(([k, v]) => [String(k), plain(v)]));
  if (value !== null && typeof value === "object") {
    return Object.fromEntries(
      Object.entries(value)
        .filter(([, v]) => v !== undefined)
        .map(([k, v]) => [k, plain(v)]),
    );
  }
  return value;
}

function failure(error, extra = {}) {
  if (!(error instanceof VerifyError)) throw error;
  const result = { ok: false, code: error.code, message: error.message, where: plain(error.where), ...extra };
  if (error.proof) result.proof = plain(error.proof);
  if (error.code === "E_ED25519_UNSUPPORTED") result.unsupported = true;
  return result;
}

async function unsupported() {
  const support = await ed25519Support();
  if (support.supported) return null;
  return { ok: false, code: "E_ED25519_UNSUPPORTED", message: support.reason, where: {}, unsupported: true };
}

/** A participant as results name it: as the trust list names it. */
function named(p) {
  return { id: p.id, name: p.name, role: p.role, commune: p.commune, province: p.province };
}

function signerOf(event, trust) {
  const out = { keyId: hex(event.keyId) };
  const found = trust?.lookup(event.keyId);
  if (found) {
    out.participant = named(found.participant);
    out.problem = found.key.window.problemAt(event.body.time.micros)?.[0] ?? null;
  }
  return out;
}

/** Who signed a seal (its key was judged on the seal's date, when the seal's signature was checked). */
function sealSigner(key, trust) {
  const found = trust?.lookup(key.keyId);
  const out = { keyId: key.keyIdHex };
  if (found) out.participant = named(found.participant);
  return out;
}

/**
 * The audit's findings about one event (the reference's audit_bundle, in its order): its key is not in the list
 * (E_UNKNOWN_KEY) or may not sign at the time the event claims (E_KEY_*); else, for a genesis, each claim its
 * signer may not make (E_CLAIM_MISMATCH, E_GTIN_NOT_OWNED).
 */
function findingsOf(event, described, trust) {
  const where = {
    position: described.position,
    batchId: described.batchId,
    seq: described.seq,
    eventId: described.eventId,
    keyId: described.signer.keyId,
  };
  const found = trust.lookup(event.keyId);
  if (found === null) return [{ code: "E_UNKNOWN_KEY", ...where }];
  if (described.signer.problem) return [{ code: described.signer.problem, ...where }];
  if (event.body.kind !== "genesis") return [];
  return genesisClaims(found.participant, event.body).map((c) => ({ code: c.code, ...where, field: c.field }));
}

function describeEvent(event, position, trust) {
  const { body } = event;
  const out = {
    position,
    batchId: hex(event.batchId),
    seq: plain(event.seq),
    eventId: hex(event.eventId),
    kind: body.kind,
    step: body.kind === "genesis" ? "genesis" : body.step,
    time: body.time.text,
    where: plain(body.where),
    attachments: plain(body.attachments),
    data: plain(body.data),
    signer: signerOf(event, trust),
  };
  if (body.kind === "genesis") {
    Object.assign(out, {
      product: plain(body.product),
      producer: plain(body.producer),
      certificate: plain(body.certificate),
    });
  } else out.inputs = plain(body.inputs);
  return out;
}

function describeTrust(tl) {
  return {
    id: hex(tl.objectId),
    issuer: tl.issuer,
    version: plain(tl.version),
    issuedAt: timeText(tl.issuedAt),
    expires: timeText(tl.expires),
    participants: tl.participants.map((p) => ({
      id: p.id,
      name: p.name,
      role: p.role,
      keys: p.keys.map((k) => ({ keyId: k.key.keyIdHex, status: k.status })),
      // what the participant may claim, named as on the wire (as event bodies are)
      ...Object.fromEntries(CLAIMS.map((f) => [f, p[f]])),
    })),
  };
}

// ---- the API ------------------------------------------------------------------------------------------------

/**
 * Verify a trust list against pinned authority keys (docs/format.md §16).
 * @param {Uint8Array|ArrayBuffer} bytes the signed list
 * @param {{authority?: {keys: Array<string|Uint8Array>, threshold?: number}, pinned?: TrustList,
 *          now: Date|string|bigint, intermediates?: Array<Uint8Array>}} options: pinned authority keys, or a list
 *          verified before (its successors must be signed by its authority; an older version is E_TRUST_ROLLBACK)
 * @returns {Promise<object>} {ok, code, ..., trustList (a TrustList to pass to the other functions), summary}
 */
export async function verifyTrustList(bytes, options = {}) {
  const now = micros(options.now);
  if (now === null) throw new TypeError("verifyTrustList needs now");
  const missing = await unsupported();
  if (missing) return missing;
  try {
    const intermediates = (options.intermediates ?? []).map(asBytes);
    const tl = await verifyTrustListBytes(asBytes(bytes), await anchorOf(options), { now, intermediates });
    return {
      ok: true,
      code: "OK",
      message: "the trust list verifies",
      where: {},
      trustList: tl,
      summary: describeTrust(tl),
    };
  } catch (e) {
    return failure(e);
  }
}

/**
 * Verify a bundle offline (docs/format.md §10): every chain, lineage link and signature. With a trust list it is an
 * audit (the Python library's audit_bundle): each event's signer named as the list names it, and as findings (the
 * first is the code) each key that was not valid at the time its event claims and each genesis claim (producer name,
 * administrative-unit code, GLN, GTIN) its signer may not make.
 * @param {Uint8Array|ArrayBuffer} bytes the bundle file
 * @param {{trustedKeys?: Array<string|Uint8Array>, trustList?: Uint8Array|TrustList,
 *          authority?: {keys, threshold}, intermediates?: Array<Uint8Array>, root?: string|Uint8Array,
 *          now?: Date|string|bigint, timeTolerance?: number}} options
 */
export async function verifyBundle(bytes, options = {}) {
  const now = micros(options.now);
  const timeTolerance = tolerance(options.timeTolerance);
  const root = options.root === undefined || options.root === null ? null : keyBytes(options.root);
  if (!options.trustedKeys === !options.trustList) throw new TypeError("pass trustedKeys or trustList (one of them)");
  const missing = await unsupported();
  if (missing) return missing;
  let trust, ring;
  try {
    ({ trust, ring } = await keysFrom(options, now));
  } catch (e) {
    return failure(e, { stage: "trust" });
  }
  const events = [];
  const findings = [];
  let summary;
  try {
    // With a trust list this is an audit: keys and claims are judged per event and reported as findings (the
    // bundle verifier checks signatures only), so the whole record is shown with every problem in it.
    summary = await verifyBundleBytes(asBytes(bytes), trust === null ? ring : ring.withoutWindows(), {
      root,
      timeTolerance,
      now,
      onEvent: (_batch, event, position) => {
        const described = describeEvent(event, position, trust);
        events.push(described);
        if (trust !== null) findings.push(...findingsOf(event, described, trust));
      },
    });
  } catch (e) {
    return failure(e, { events });
  }
  const first = findings[0];
  const messages = {
    E_CLAIM_MISMATCH: "the record claims what its signer may not: the trust list records otherwise",
    E_GTIN_NOT_OWNED: "the product's GTIN is not under any of its signer's GS1 Company Prefixes",
  };
  return {
    ok: findings.length === 0,
    code: first ? first.code : "OK",
    message: first
      ? (messages[first.code] ?? "a signer's key was not valid at the time its event claims")
      : "the bundle verifies",
    where: first ? Object.fromEntries(Object.entries(first).filter(([k]) => k !== "code")) : {},
    findings,
    root: hex(summary.header.root),
    batches: summary.chains.map((c) => ({ batchId: hex(c.batchId), count: c.count, head: hex(c.head.eventId) })),
    events,
    lineage: plain(summary.lineage),
    trustList: trust === null ? null : describeTrust(trust),
  };
}

/**
 * Verify one batch's events (docs/format.md §8.2), given as COSE bytes in chain order. With a trust list, every key
 * must be valid at the time its event claims: the first that is not fails the chain (E_KEY_*).
 * @param {Array<Uint8Array>} events
 * @param {{trustedKeys?, trustList?, authority?, intermediates?, batchId?: string|Uint8Array, now?,
 *          timeTolerance?}} options
 */
export async function verifyChain(events, options = {}) {
  const now = micros(options.now);
  const timeTolerance = tolerance(options.timeTolerance);
  const batchId = options.batchId === undefined || options.batchId === null ? null : keyBytes(options.batchId);
  if (!options.trustedKeys === !options.trustList) throw new TypeError("pass trustedKeys or trustList (one of them)");
  const missing = await unsupported();
  if (missing) return missing;
  let trust, ring;
  try {
    ({ trust, ring } = await keysFrom(options, now));
  } catch (e) {
    return failure(e, { stage: "trust" });
  }
  const described = [];
  try {
    // With a trust list, every key is judged at the time its event claims: the first that may not sign fails.
    const summary = await verifyChainRaw(events.map(asBytes), ring, {
      batchId,
      timeTolerance,
      now,
      onEvent: (event, position) => described.push(describeEvent(event, position, trust)),
    });
    return {
      ok: true,
      code: "OK",
      message: "the chain verifies",
      where: {},
      batchId: hex(summary.batchId),
      count: summary.count,
      events: described,
    };
  } catch (e) {
    return failure(e, { events: described });
  }
}

/**
 * Verify a seal (docs/format.md §17) from its URL or OCOP1: text, optionally against the sealed batch's bundle or
 * events (COSE bytes in chain order). With a trust list the sealer's key must be usable on the seal's date, the
 * sealer must be a producer (E_SEAL_ROLE) owning the sealed GTIN (E_GTIN_NOT_OWNED), every key of the chain valid
 * at its event's time, and the genesis's claims its signer's (E_CLAIM_MISMATCH, E_GTIN_NOT_OWNED). The result says
 * what was and was not established (`checked`, `notChecked`, named as the Python library names them).
 * @param {string} text what the QR code holds
 * @param {{trustedKeys?, trustList?, authority?, intermediates?, bundle?: Uint8Array, events?: Array<Uint8Array>,
 *          now?: Date|string|bigint}} options
 */
export async function verifySeal(text, options = {}) {
  const now = micros(options.now);
  if (!options.trustedKeys === !options.trustList) throw new TypeError("pass trustedKeys or trustList (one of them)");
  if (options.bundle && options.events) throw new TypeError("pass a bundle or events, not both");
  const missing = await unsupported();
  if (missing) return missing;
  let trust, ring;
  try {
    ({ trust, ring } = await keysFrom(options, now));
  } catch (e) {
    return failure(e, { stage: "trust" });
  }
  let unverified;
  let checked;
  const done = ["signature", "signer-trusted"];
  const missed = [];
  try {
    // 1. syntax; 2–3. a trusted key whose id starts with the hint (and, from a trust list, usable on the seal's
    // date) made the signature over the rebuilt COSE_Sign1
    unverified = await parseSeal(text);
    const st = unverified.statement;
    checked = await checkSealSignature(unverified, ring);
    // 4. not sealed after now (one day of slack)
    if (now !== null && BigInt(st.sealedOn) > now / DAY_MICROS + 1n) {
      throw new VerifyError("E_SEAL_FUTURE", `sealed on ${isoDay(st.sealedOn)}, after now`);
    }
    // 5. with a trust list: the sealer's role may seal (the producer: process policies are not verified here) and
    // a sealed GTIN is its own
    if (trust !== null) {
      checkSealer(st, checked.key.keyId, trust);
      done.push("signer-role", "gtin-owner");
    } else missed.push("signer-role", "gtin-owner");
  } catch (e) {
    return failure(e);
  }
  const st = unverified.statement;
  const result = {
    ok: true,
    code: "SEAL_OK",
    message: "the seal verifies",
    where: {},
    form: unverified.form,
    keyId: hex(checked.key.keyId),
    sealId: hex(checked.seal.sealId),
    signer: sealSigner(checked.key, trust),
    checked: done,
    notChecked: missed,
    statement: {
      resolver: st.resolver,
      gtin: st.gtin,
      batchRef: st.batchRef === null ? null : hex(st.batchRef),
      lot: st.lot,
      serial: st.serial,
      seq: plain(st.seq),
      head: hex(st.head),
      sealedOn: isoDay(st.sealedOn),
    },
    chain: null,
  };
  if (!options.bundle && !options.events) {
    missed.push("chain");
    return result;
  }
  // 6. the chain verifies (every key judged at its event's time), is the sealed batch, its genesis claims are its
  // signer's (with a trust list), it reaches the sealed seq, holds the sealed head, and the sealer signed in it
  const check = new SealChainCheck(st, checked.key.keyId, trust);
  const events = [];
  try {
    if (options.bundle) {
      await verifyBundleBytes(asBytes(options.bundle), ring, {
        now,
        onEvent: (batch, event, position) => {
          if (batch !== 0) return;
          events.push(describeEvent(event, position, trust));
          check.feed(event);
        },
      });
    } else {
      await verifyChainRaw(options.events.map(asBytes), ring, {
        now,
        onEvent: (event, position) => {
          events.push(describeEvent(event, position, trust));
          check.feed(event);
        },
      });
    }
    done.push("chain");
    if (trust !== null) done.push("genesis-claims");
    const info = check.finish();
    const genesis = info.genesis.body;
    result.chain = {
      batchId: hex(info.genesis.eventId),
      productName: genesis.product.name,
      declaredProducer: genesis.producer.name,
      province: genesis.producer.province,
      ocopStars: genesis.certificate === null ? null : plain(genesis.certificate.stars),
      covered: info.covered,
      total: info.total,
      events,
    };
    if (info.covered < info.total) result.code = "SEAL_OLDER_HEAD";
    return result;
  } catch (e) {
    return failure(e, { statement: result.statement, events });
  }
}

/**
 * Verify a transparency-log receipt (docs/format.md §18.5): the leaf names the expected head, the checkpoint is
 * signed by the log and cosigned by at least `witnesses` of the witness keys, and the inclusion proof leads from the
 * leaf to the checkpoint's root.
 * @param {Uint8Array|string} receipt the receipt's CBOR bytes, or its C2SP tlog-proof text
 * @param {{logKey: string, witnessKeys?: Array<string>, witnesses?: number, origin?: string,
 *          expect?: {batchId: string|Uint8Array, seq: number|bigint, eventId: string|Uint8Array},
 *          now?: Date|string|bigint}} options: keys as C2SP verifier keys (vkeys)
 */
export async function verifyLogReceipt(receipt, options = {}) {
  const now = micros(options.now);
  if (typeof options.logKey !== "string") throw new TypeError("logKey is the log's verifier key (vkey text)");
  const witnesses = options.witnesses ?? 0;
  const expect = options.expect
    ? {
        batchId: keyBytes(options.expect.batchId),
        seq: BigInt(options.expect.seq),
        eventId: keyBytes(options.expect.eventId),
      }
    : null;
  const missing = await unsupported();
  if (missing) return missing;
  try {
    const logKey = await parseVkey(options.logKey);
    const witnessKeys = [];
    for (const vkey of options.witnessKeys ?? []) witnessKeys.push(await parseVkey(vkey));
    const data = typeof receipt === "string" ? receipt : asBytes(receipt);
    const r = await verifyReceiptData(data, {
      logKey,
      witnessKeys,
      witnesses,
      expect,
      origin: options.origin ?? null,
      now,
    });
    return {
      ok: true,
      code: "OK",
      message: "the log includes this head",
      where: {},
      leaf: describeLeaf(r.leaf),
      index: plain(r.index),
      checkpoint: { origin: r.checkpoint.origin, size: plain(r.checkpoint.size), root: hex(r.checkpoint.root) },
      witnesses: r.cosignatures.map((c) => ({
        name: c.key.name,
        time: new Date(Number(c.timestamp) * 1000).toISOString(),
      })),
    };
  } catch (e) {
    return failure(e);
  }
}
