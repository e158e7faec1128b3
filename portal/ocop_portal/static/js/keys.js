// Ed25519 public keys, key ids and signature checks (docs/format.md §3), on WebCrypto.
//
// WebCrypto imports small-order and non-canonical public keys and, depending on the engine, may accept a
// small-order R: the rules of §3.1 and §3.2 are checked here with BigInt before WebCrypto sees anything, so the
// answer never depends on the browser.

import { fail } from "./errors.js";
import { concat, fromHex, hex, sha256 } from "./util.js";

const P = 2n ** 255n - 19n;
const L = 2n ** 252n + 27742317777372353535851937790883648493n;
const D = (-121665n * modPow(121666n, P - 2n, P)) % P;
const ORDER8_A = "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05";
const ORDER8_B = "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a";
// y-coordinates of the eight points of small order (identity, order 2, 4 and 8), whatever the sign bit.
const SMALL_ORDER_Y = new Set([0n, 1n, P - 1n, littleEndian(fromHex(ORDER8_A)), littleEndian(fromHex(ORDER8_B))]);
const COSE_KEY_PREFIX = fromHex("a301012006215820"); // {1: 1 (OKP), -1: 6 (Ed25519), -2: h'…'} (RFC 9679)
const ED25519 = { name: "Ed25519" };

function modPow(base, exp, mod) {
  let result = 1n;
  base %= mod;
  while (exp > 0n) {
    if (exp & 1n) result = (result * base) % mod;
    base = (base * base) % mod;
    exp >>= 1n;
  }
  return result;
}

function littleEndian(bytes) {
  let n = 0n;
  for (let i = bytes.length - 1; i >= 0; i--) n = (n << 8n) | BigInt(bytes[i]);
  return n;
}

/** y (bit 255 cleared) and the sign bit of a 32-byte point encoding. */
function decodeY(raw) {
  return [littleEndian(raw) & ((1n << 255n) - 1n), raw[31] >> 7];
}

/**
 * Refuse a public key that must never enter a key ring (§3.1): wrong length E_KEY_FORMAT; y >= p, a point of
 * small order, or x = 0 with the sign bit set E_WEAK_KEY; not on the curve E_KEY_FORMAT.
 */
export function checkPublicKey(raw) {
  if (!(raw instanceof Uint8Array) || raw.length !== 32) {
    fail("E_KEY_FORMAT", `an Ed25519 public key is 32 bytes, got ${raw?.length ?? "none"}`);
  }
  const [y, sign] = decodeY(raw);
  if (y >= P) fail("E_WEAK_KEY", "non-canonical public key encoding (y >= p)");
  if (SMALL_ORDER_Y.has(y)) fail("E_WEAK_KEY", "public key is a point of small order");
  // x² = u / v with u = y² − 1 and v = d·y² + 1 (never 0: d is not a square), a square exactly when u·v is.
  // u = 0 (x = 0) only for y = ±1, which the small-order rule already refused; the sign rule stays for §3.1.
  const y2 = (y * y) % P;
  const u = (y2 - 1n + P) % P;
  const v = (D * y2 + 1n) % P;
  if (u === 0n && sign) fail("E_WEAK_KEY", "non-canonical public key encoding (x = 0, sign set)");
  if (u !== 0n && modPow((u * v) % P, (P - 1n) / 2n, P) !== 1n) {
    fail("E_KEY_FORMAT", "public key is not a point on Ed25519");
  }
}

/** The key id: RFC 9679 COSE Key Thumbprint, SHA-256 over a3 01 01 20 06 21 58 20 ‖ x (§3.3). */
export function keyIdOf(raw) {
  return sha256(concat(COSE_KEY_PREFIX, raw));
}

/** A validated public key with its id and its WebCrypto handle. Build with `PublicKey.from(raw)`. */
export class PublicKey {
  constructor(raw, keyId, cryptoKey) {
    this.raw = raw;
    this.keyId = keyId;
    this.hex = hex(raw);
    this.keyIdHex = hex(keyId);
    this.cryptoKey = cryptoKey;
  }

  /** Validate `raw` (§3.1) and import it. Throws E_KEY_FORMAT / E_WEAK_KEY, or E_ED25519_UNSUPPORTED. */
  static async from(raw) {
    checkPublicKey(raw);
    const bytes = raw.slice();
    let cryptoKey;
    try {
      cryptoKey = await crypto.subtle.importKey("raw", bytes, ED25519, false, ["verify"]);
    } catch (e) {
      if (e?.name === "NotSupportedError") fail("E_ED25519_UNSUPPORTED", "this browser has no Ed25519 in WebCrypto");
      fail("E_KEY_FORMAT", "the public key cannot be imported");
    }
    return new PublicKey(bytes, await keyIdOf(bytes), cryptoKey);
  }

  /**
   * Check a signature (§3.2). R must be a canonical encoding of a point not of small order and S < L; the rest is
   * RFC 8032 §5.1.7, which WebCrypto performs.
   */
  async verify(signature, message) {
    if (signature.length !== 64) return false;
    const [rY] = decodeY(signature.subarray(0, 32));
    if (rY >= P || SMALL_ORDER_Y.has(rY)) return false;
    if (littleEndian(signature.subarray(32)) >= L) return false;
    return crypto.subtle.verify(ED25519, this.cryptoKey, signature, message);
  }
}

const DAY = 86_400_000_000n; // microseconds
const HOUR = 3_600_000_000n;

/** UTC text of microseconds since 1970, for messages. */
function utcText(micros) {
  return `${new Date(Number(micros / 1000n)).toISOString().slice(0, 19)}Z`;
}

/**
 * When a key may sign (from a trust list, §16): `notBefore` <= t < `notAfter` (microseconds), never when revoked,
 * and for a retired key only before `statusTime`. `holder` names who holds it, for messages.
 */
export class KeyWindow {
  constructor({ notBefore, notAfter, status = "active", statusTime = null, holder = null }) {
    Object.assign(this, { notBefore, notAfter, status, statusTime, holder });
  }

  /** [code, reason] if the key may not sign an event claiming time `t` (µs), else null. */
  problemAt(t) {
    if (this.status === "revoked") return ["E_KEY_REVOKED", "the key is revoked: nothing it signed is trusted"];
    if (t < this.notBefore) return ["E_KEY_NOT_YET_VALID", `the key is valid from ${utcText(this.notBefore)}`];
    if (t >= this.notAfter) return ["E_KEY_EXPIRED", `the key was valid until ${utcText(this.notAfter)} (exclusive)`];
    if (this.status === "retired" && this.statusTime !== null && t >= this.statusTime) {
      return ["E_KEY_RETIRED", `the key was retired at ${utcText(this.statusTime)}`];
    }
    return null;
  }

  /**
   * [code, reason] if the key may not have signed a seal dated `day` (days since 1970), else null: it must have
   * been usable at some instant of that calendar day in some time zone, [day 00:00 − 14 h, day+1 00:00 + 12 h) UTC
   * (ADR 0045). A revoked key never is.
   */
  problemOn(day) {
    if (this.status === "revoked") return this.problemAt(this.notBefore);
    const start = BigInt(day) * DAY - 14n * HOUR;
    const end = BigInt(day + 1) * DAY + 12n * HOUR;
    let stop = this.notAfter;
    if (this.status === "retired" && this.statusTime !== null && this.statusTime < stop) stop = this.statusTime;
    if (this.notBefore >= end) return this.problemAt(start);
    if (stop <= start) return this.problemAt(start > this.notBefore ? start : this.notBefore);
    return null;
  }
}

/**
 * Trusted keys looked up by key id (a kid is a hint: every key with that id is a candidate), each optionally with
 * the window in which it may sign (keys from a trust list); a verifier enforces the window on every path.
 */
export class KeyRing {
  /** `keys`: PublicKey objects; `windows`: key hex -> KeyWindow (a key without one may sign at any time). */
  constructor(keys, windows = new Map()) {
    this.byId = new Map();
    this.windows = windows;
    for (const key of keys) {
      const list = this.byId.get(key.keyIdHex) ?? [];
      if (!list.some((k) => k.hex === key.hex)) list.push(key);
      this.byId.set(key.keyIdHex, list);
    }
  }

  /** Build a ring from raw keys (Uint8Array or hex), validating each; they may sign at any time. */
  static async of(raws) {
    const keys = [];
    for (const raw of raws) keys.push(raw instanceof PublicKey ? raw : await PublicKey.from(asKeyBytes(raw)));
    return new KeyRing(keys);
  }

  candidates(keyId) {
    return this.byId.get(typeof keyId === "string" ? keyId : hex(keyId)) ?? [];
  }

  withPrefix(prefix) {
    const p = hex(prefix);
    return [...this].filter((k) => k.keyIdHex.startsWith(p));
  }

  /** When `key` may sign, or null if at any time. */
  window(key) {
    return this.windows.get(key.hex) ?? null;
  }

  /** The same keys, each trusted at any time (an audit judges key status itself and reports it). */
  withoutWindows() {
    return new KeyRing([...this]);
  }

  *[Symbol.iterator]() {
    for (const list of this.byId.values()) yield* list;
  }
}

function asKeyBytes(raw) {
  return typeof raw === "string" ? fromHex(raw) : raw;
}

// RFC 8032 §7.1 test 1: the empty message. Verifying it tells whether this engine has Ed25519 at all.
const PROBE_KEY = "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a";
const PROBE_SIG =
  "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b";
let support = null;

/**
 * Whether this engine verifies Ed25519 in WebCrypto (current Chromium, Firefox, Safari and Node 20 do).
 * Resolves to {supported: true} or {supported: false, reason}; never falls back to anything else.
 */
export function ed25519Support() {
  support ??= (async () => {
    try {
      if (!globalThis.crypto?.subtle) return { supported: false, reason: "no WebCrypto (crypto.subtle) here" };
      const key = await crypto.subtle.importKey("raw", fromHex(PROBE_KEY), ED25519, false, ["verify"]);
      const ok = await crypto.subtle.verify(ED25519, key, fromHex(PROBE_SIG), new Uint8Array(0));
      return ok ? { supported: true } : { supported: false, reason: "Ed25519 in WebCrypto gave a wrong answer" };
    } catch (e) {
      return { supported: false, reason: `no Ed25519 in WebCrypto (${e?.name ?? "error"})` };
    }
  })();
  return support;
}
