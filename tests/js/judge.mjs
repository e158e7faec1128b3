// The verdict of the JavaScript verifier on one case of tests/js/cases.py: "OK", "SEAL_OK", "SEAL_OLDER_HEAD" or
// the E_... code of the first failure (what the Python library's python_verdict gives for the same case), and for
// chains and bundles where the failure is (what python_outcome gives).

import { decode } from "../../portal/ocop_portal/static/js/cbor.js";
import { verifyEquivocationProof } from "../../portal/ocop_portal/static/js/chain.js";
import { VerifyError } from "../../portal/ocop_portal/static/js/errors.js";
import { parseEvent } from "../../portal/ocop_portal/static/js/event.js";
import { KeyRing, PublicKey } from "../../portal/ocop_portal/static/js/keys.js";
import {
  verifyBundle,
  verifyChain,
  verifySeal,
  verifyTrustList,
} from "../../portal/ocop_portal/static/js/ocop-verify.js";
import { fromHex } from "../../portal/ocop_portal/static/js/util.js";

const bytes = (h) => fromHex(h);

async function trustOptions(c) {
  const authority = { keys: c.authority.keys, threshold: c.authority.threshold };
  const intermediates = (c.intermediates ?? []).map(bytes);
  if (!c.pinned) return { trustList: bytes(c.trust), authority, intermediates };
  const pinned = await verifyTrustList(bytes(c.pinned), { authority, now: c.now });
  if (!pinned.ok) return { failed: pinned.code };
  return { trustList: bytes(c.trust), pinned: pinned.trustList, authority, intermediates };
}

async function judge(c) {
  switch (c.kind) {
    case "cbor":
      decode(bytes(c.input), { maxSize: c.max_size ?? 1 << 20, maxDepth: c.max_depth, maxItems: c.max_items ?? null });
      return "OK";
    case "public_key":
      await PublicKey.from(bytes(c.input));
      return "OK";
    case "event":
      await parseEvent(bytes(c.input));
      return "OK";
    case "signature": {
      const key = await PublicKey.from(bytes(c.key));
      return (await key.verify(bytes(c.sig), bytes(c.msg))) ? "OK" : "E_SIGNATURE";
    }
    case "proof":
      await verifyEquivocationProof(bytes(c.input), await KeyRing.of(c.trusted));
      return "OK";
    case "chain": {
      const keys = c.trust ? await trustOptions(c) : { trustedKeys: c.trusted };
      if (keys.failed) return keys.failed;
      return located(await verifyChain(c.events.map(bytes), { ...keys, batchId: c.batch_id, now: c.now }));
    }
    case "bundle":
      return located(await verifyBundle(bytes(c.bundle), { trustedKeys: c.trusted, now: c.now }));
    case "trust": {
      const t = await trustOptions(c);
      if (t.failed) return t.failed;
      return (await verifyTrustList(t.trustList, { ...t, now: c.now })).code;
    }
    case "bundle_trust": {
      const t = await trustOptions(c);
      if (t.failed) return t.failed;
      return (await verifyBundle(bytes(c.bundle), { ...t, now: c.now })).code;
    }
    case "seal": {
      const keys = c.trust ? await trustOptions(c) : { trustedKeys: c.trusted };
      if (keys.failed) return keys.failed;
      const options = { ...keys, now: c.now };
      if (c.bundle) options.bundle = bytes(c.bundle);
      if (c.events) options.events = c.events.map(bytes);
      return (await verifySeal(c.text, options)).code;
    }
    default:
      throw new Error(`unknown case kind ${c.kind}`);
  }
}

/** A result's code, with where it failed: [code, {position, batch_id, seq}] (members that apply). */
function located(result) {
  const { position, batchId, seq } = result.where;
  const where = Object.fromEntries(
    Object.entries({ position, batch_id: batchId, seq }).filter(([, v]) => v !== undefined && v !== null),
  );
  return [result.code, where];
}

/** [code, where] (where only for chains and bundles; else {}). */
export async function outcome(c) {
  try {
    const r = await judge(c);
    return Array.isArray(r) ? r : [r, {}];
  } catch (e) {
    if (e instanceof VerifyError) return [e.code, {}];
    throw e;
  }
}

export async function verdict(c) {
  return (await outcome(c))[0];
}
