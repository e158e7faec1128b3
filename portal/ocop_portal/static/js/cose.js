// COSE_Sign1 envelopes as docs/format.md §4 accepts them, and the ToBeSigned bytes of §6.

import { bstrHead, decode, encode } from "./cbor.js";
import { fail, located } from "./errors.js";
import { concat, sha256, utf8Bytes } from "./util.js";

const TBS_PREFIX = concat(Uint8Array.of(0x84, 0x6a), utf8Bytes("Signature1"));
const EMPTY_BSTR = Uint8Array.of(0x40);
const ALG_EDDSA = -8n;
const MAX_PROTECTED = 256;
const MAX_COSE_ITEMS = 16; // §4 step 3, §12

/** The Sig_structure ["Signature1", protected, h'', payload] of RFC 9052 §4.4 (§6). */
export function toBeSigned(protectedBytes, payload) {
  return concat(
    TBS_PREFIX,
    bstrHead(protectedBytes.length),
    protectedBytes,
    EMPTY_BSTR,
    bstrHead(payload.length),
    payload,
  );
}

/** The protected header {1: -8, 4: kid, 16: typ} in its deterministic encoding. */
export function protectedHeader(keyId, typ) {
  return concat(Uint8Array.of(0xa3, 0x01, 0x27, 0x04, 0x58, 0x20), keyId, Uint8Array.of(0x10), encode(typ));
}

function parseProtected(bytes) {
  const header = located({ field: "protected" }, () => decode(bytes, { maxSize: MAX_PROTECTED, maxDepth: 2 }));
  if (!(header instanceof Map)) fail("E_COSE", "protected header is not a map", { field: "protected" });
  // 11. crit: this verifier understands no optional header parameter, so any critical one fails closed.
  if (header.has(2n)) fail("E_CRIT", "protected header lists critical parameters", { field: "protected.crit" });
  const labels = [...header.keys()];
  if (labels.length !== 3 || !header.has(1n) || !header.has(4n) || !header.has(16n)) {
    fail("E_COSE", "protected header must hold exactly alg, kid and typ", { field: "protected" });
  }
  if (header.get(1n) !== ALG_EDDSA) fail("E_ALG", "algorithm is not EdDSA (-8)", { field: "protected.alg" });
  const kid = header.get(4n);
  const typ = header.get(16n);
  if (!(kid instanceof Uint8Array) || kid.length !== 32) {
    fail("E_COSE", "kid must be a 32-byte key thumbprint", { field: "protected.kid" });
  }
  if (typeof typ !== "string") fail("E_COSE", "typ must be text", { field: "protected.typ" });
  return { kid, typ };
}

/**
 * Parse a tagged COSE_Sign1 from untrusted bytes in the order of §4 (the signature is not checked here).
 * Returns {raw, protected, payload, signature, keyId, typ, toBeSigned, objectId}; objectId = SHA-256(ToBeSigned).
 */
export async function parseSign1(data, { typ, maxSize }) {
  // 1.
  if (data.length > maxSize) fail("E_SIZE", `${data.length} bytes exceeds the limit of ${maxSize}`);
  // 2. (one byte alone is no COSE_Sign1 either: the reference says E_COSE rather than decoding nothing)
  if (data.length < 2 || data[0] !== 0xd2) fail("E_COSE", "not a tagged COSE_Sign1 (tag 18)");
  // 3.–8. (an item budget of 16: an accepted envelope holds 5 data items)
  const items = decode(data.subarray(1), { maxSize, maxDepth: 2, maxItems: MAX_COSE_ITEMS });
  if (!Array.isArray(items) || items.length !== 4) fail("E_COSE", "COSE_Sign1 must be an array of four items");
  const [protectedBytes, unprotected, payload, signature] = items;
  if (!(protectedBytes instanceof Uint8Array)) {
    fail("E_COSE", "protected header must be a byte string", { field: "protected" });
  }
  if (!(unprotected instanceof Map) || unprotected.size !== 0) {
    fail("E_UNPROTECTED", "the unprotected header must be empty: anyone can change it", { field: "unprotected" });
  }
  if (!(payload instanceof Uint8Array))
    fail("E_COSE", "payload must be attached as a byte string", { field: "payload" });
  if (!(signature instanceof Uint8Array) || signature.length !== 64) {
    fail("E_COSE", "signature must be 64 bytes", { field: "signature" });
  }
  // 9.–15.
  const header = parseProtected(protectedBytes);
  // 16.
  if (header.typ !== typ) {
    fail("E_CONTENT_TYPE", `this is a ${JSON.stringify(header.typ)} object, not a ${JSON.stringify(typ)}`, {
      field: "protected.typ",
    });
  }
  const tbs = toBeSigned(protectedBytes, payload);
  return {
    raw: data,
    protected: protectedBytes,
    payload,
    signature,
    keyId: header.kid,
    typ: header.typ,
    toBeSigned: tbs,
    objectId: await sha256(tbs),
  };
}
