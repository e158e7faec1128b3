// The JavaScript verifier against raw WebCrypto Ed25519, in one run: node benchmarks/js_verify.mjs BUNDLE KEYHEX [ROUNDS]
// (bench_js_verify.py builds the bundle and runs this). Rounds interleave the verifier and the raw primitive on the
// same events, so machine load hits both alike; each figure is the median round.
//
// * raw verify, one at a time: crypto.subtle.verify of every event's ToBeSigned bytes, awaited in turn;
// * raw verify, all at once: the same calls started together (WebCrypto runs them on its thread pool), which is
//   how the verifier calls it (64 events ahead of the chain walk);
// * parse only: envelope, payload rules and the re-encode check of every event, no signature (parseEvent);
// * verifyBundle: everything (framing, header, events, signatures, chain and lineage rules, header keys).

import { readFileSync } from "node:fs";

import { parseEvent } from "../portal/ocop_portal/static/js/event.js";
import { verifyBundle } from "../portal/ocop_portal/static/js/ocop-verify.js";
import { fromHex } from "../portal/ocop_portal/static/js/util.js";

// keys: comma-separated "keyIdHex:publicKeyHex" of the bundle's signers.
const [bundlePath, keysArg, roundsArg] = process.argv.slice(2);
const bundle = new Uint8Array(readFileSync(bundlePath));
const rounds = Number(roundsArg ?? 15);
const pairs = keysArg.split(",").map((p) => p.split(":"));
const trustedKeys = pairs.map(([, pk]) => pk);
const byKeyId = new Map();
for (const [kid, pk] of pairs) {
  byKeyId.set(kid, await crypto.subtle.importKey("raw", fromHex(pk), { name: "Ed25519" }, false, ["verify"]));
}
const hex = (b) => Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");

// The events' bytes, read once with the verifier itself (outside the timed part).
const first = await verifyBundle(bundle, { trustedKeys });
if (!first.ok) throw new Error(`the bundle does not verify: ${first.code} ${first.message}`);
const raws = [];
let at = 0;
const item = () => {
  const info = bundle[at] & 0x1f;
  const width = info < 24 ? 0 : 1 << (info - 24);
  let n = info < 24 ? info : 0;
  for (let i = 1; i <= width; i++) n = n * 256 + bundle[at + i];
  const out = bundle.subarray(at + 1 + width, at + 1 + width + n);
  at += 1 + width + n;
  return out;
};
item(); // the header
while (at < bundle.length) raws.push(item());
const parsed = [];
for (const raw of raws) parsed.push(await parseEvent(raw));
const n = parsed.length;
const keyOf = parsed.map((e) => byKeyId.get(hex(e.keyId)));

const figures = {
  "raw verify, one at a time": async () => {
    for (let i = 0; i < n; i++) {
      const e = parsed[i];
      if (!(await crypto.subtle.verify({ name: "Ed25519" }, keyOf[i], e.signature, e.toBeSigned))) throw new Error();
    }
  },
  "raw verify, all at once": async () => {
    const ok = await Promise.all(
      parsed.map((e, i) => crypto.subtle.verify({ name: "Ed25519" }, keyOf[i], e.signature, e.toBeSigned)),
    );
    if (!ok.every(Boolean)) throw new Error();
  },
  "parse only (parseEvent)": async () => {
    for (const raw of raws) await parseEvent(raw);
  },
  verifyBundle: async () => {
    if (!(await verifyBundle(bundle, { trustedKeys })).ok) throw new Error();
  },
};
const times = Object.fromEntries(Object.keys(figures).map((k) => [k, []]));
for (let r = 0; r < rounds; r++) {
  for (const [name, fn] of Object.entries(figures)) {
    const start = performance.now();
    await fn();
    times[name].push((performance.now() - start) / 1000);
  }
}
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const rate = (name) => n / median(times[name]);
const out = {
  node: process.version,
  events: n,
  bytes: bundle.length,
  rounds,
  rates: Object.fromEntries(Object.keys(figures).map((k) => [k, Math.round(rate(k))])),
  ratio_to_raw_one_at_a_time: rate("verifyBundle") / rate("raw verify, one at a time"),
  ratio_to_raw_all_at_once: rate("verifyBundle") / rate("raw verify, all at once"),
  batch_ms: median(times.verifyBundle) * 1000,
};
process.stdout.write(JSON.stringify(out));
