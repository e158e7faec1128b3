// The JavaScript verifier against the committed vectors (tests/vectors/, docs/format.md §13) and the seal and
// trust-list fixtures (tests/js/fixtures.json): node --test tests/js
//
// Valid vectors must verify with exactly the intermediate values the JSON gives; every invalid vector must fail
// with the code it is named for. The public vectors (Wycheproof, CCTV, dCBOR) are the ones the Python suite uses,
// vendored in tests/external/vectors.

import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";

import { decode, encode } from "../../portal/ocop_portal/static/js/cbor.js";
import { verifyEquivocationProof } from "../../portal/ocop_portal/static/js/chain.js";
import { parseEvent } from "../../portal/ocop_portal/static/js/event.js";
import { KeyRing, keyIdOf, PublicKey } from "../../portal/ocop_portal/static/js/keys.js";
import {
  ed25519Support,
  verifyBundle,
  verifyChain,
  verifySeal,
  verifyTrustList,
} from "../../portal/ocop_portal/static/js/ocop-verify.js";
import { fromHex, hex } from "../../portal/ocop_portal/static/js/util.js";
import { verdict } from "./judge.mjs";

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = join(HERE, "..", "..");
const load = (path) => JSON.parse(readFileSync(join(ROOT, path), "utf8"));
const EVENTS = load("tests/vectors/events.json");
const EXTRAS = load("tests/vectors/bundle.json");
const INVALID = load("tests/vectors/invalid.json");
const FIXTURES = load("tests/js/fixtures.json");
const ALL_KEYS = EVENTS.keys.map((k) => k.public_key);
const NOW = INVALID.now;

test("this Node has Ed25519 in WebCrypto", async () => {
  assert.deepEqual(await ed25519Support(), { supported: true });
});

test("key vectors: COSE_Key bytes and RFC 9679 key ids", async () => {
  for (const k of EVENTS.keys) {
    const raw = fromHex(k.public_key);
    assert.equal(k.cose_key, `a301012006215820${k.public_key}`);
    assert.equal(hex(await keyIdOf(raw)), k.key_id);
    assert.equal((await PublicKey.from(raw)).keyIdHex, k.key_id);
  }
});

for (const batch of EVENTS.batches) {
  for (const v of batch.events) {
    test(`event ${v.name} parses with the vector's intermediate values`, async () => {
      const event = await parseEvent(fromHex(v.cose));
      assert.equal(hex(event.payload), v.payload);
      assert.equal(hex(event.protected), v.protected);
      assert.equal(hex(event.toBeSigned), v.to_be_signed);
      assert.equal(hex(event.signature), v.signature);
      assert.equal(hex(event.eventId), v.event_id);
      assert.equal(hex(event.batchId), batch.batch_id);
      assert.equal(Number(event.seq), v.seq);
      assert.equal(event.body.kind === "genesis" ? "genesis" : event.body.step, v.step);
      assert.equal(hex(event.keyId), EVENTS.keys.find((k) => k.name === v.signer).key_id);
      // the payload re-encodes to itself (the canonical form is what was signed)
      assert.deepEqual(encode(decode(event.payload, { maxSize: 65536, maxDepth: 4 })), event.payload);
    });
  }
  test(`chain ${batch.label} verifies`, async () => {
    const r = await verifyChain(
      batch.events.map((v) => fromHex(v.cose)),
      { trustedKeys: ALL_KEYS, batchId: batch.batch_id, now: NOW },
    );
    assert.equal(r.code, "OK", r.message);
    assert.equal(r.batchId, batch.batch_id);
    assert.equal(r.count, batch.events.length);
  });
}

test("the genesis carries Vietnamese text and an OCOP certificate", async () => {
  const genesis = (await parseEvent(fromHex(EVENTS.batches[0].events[0].cose))).body;
  assert.equal(genesis.product.name, "Đông trùng hạ thảo tươi");
  assert.equal(genesis.certificate.stars, 3n);
});

test("the bundle vector verifies", async () => {
  const b = EXTRAS.bundle;
  const r = await verifyBundle(fromHex(b.file), { trustedKeys: ALL_KEYS, root: b.root, now: NOW });
  assert.equal(r.code, "OK", r.message);
  assert.equal(r.root, b.root);
  assert.deepEqual(
    r.batches.map((c) => [c.batchId, c.count, c.head]),
    b.batches,
  );
  assert.equal(r.events.length, 6);
  assert.equal(r.lineage.length, 1);
  JSON.stringify(r); // a result is plain data
});

test("the equivocation vector verifies", async () => {
  const eq = EXTRAS.equivocation;
  const { batchId, seq } = await verifyEquivocationProof(fromHex(eq.proof), await KeyRing.of(ALL_KEYS));
  assert.equal(hex(batchId), eq.batch_id);
  assert.equal(Number(seq), eq.seq);
});

test("a forked chain carries the equivocation proof", async () => {
  const v = INVALID.vectors.find((x) => x.name === "forked-batch");
  const r = await verifyChain(v.input.map(fromHex), { trustedKeys: ALL_KEYS, now: NOW });
  assert.equal(r.code, "E_FORK");
  const proof = encode(
    new Map([
      [0n, "ocop-equivocation"],
      [1n, [fromHex(r.proof.eventA), fromHex(r.proof.eventB)]],
    ]),
  );
  const checked = await verifyEquivocationProof(proof, await KeyRing.of(ALL_KEYS));
  assert.equal(Number(checked.seq), 2);
});

for (const v of INVALID.vectors) {
  test(`invalid vector ${v.name} fails with ${v.expected_code}`, async () => {
    const trusted = (v.trusted ?? EVENTS.keys.map((k) => k.name)).map(
      (n) => EVENTS.keys.find((k) => k.name === n).public_key,
    );
    const c =
      v.kind === "chain"
        ? { kind: "chain", events: v.input, trusted, batch_id: v.batch_id, now: NOW }
        : v.kind === "bundle"
          ? { kind: "bundle", bundle: v.input, trusted, now: NOW }
          : { kind: v.kind, input: v.input };
    assert.equal(await verdict(c), v.expected_code);
  });
}

for (const c of FIXTURES.cases) {
  test(`fixture ${c.name}: ${c.expected}`, async () => {
    const resolved = Object.fromEntries(Object.entries(c).map(([k, v]) => [k, FIXTURES.blobs[v] ?? v]));
    assert.equal(await verdict(resolved), c.expected);
  });
}

test("a seal names its signer as the trust list names it", async () => {
  const c = FIXTURES.cases.find((x) => x.name === "seal-trust-with-bundle");
  const r = await verifySeal(c.text, {
    trustList: fromHex(FIXTURES.blobs[c.trust] ?? c.trust),
    authority: c.authority,
    bundle: fromHex(FIXTURES.blobs[c.bundle] ?? c.bundle),
    now: c.now,
  });
  assert.equal(r.code, "SEAL_OLDER_HEAD");
  assert.deepEqual(r.signer.participant, {
    id: "nghi-son",
    name: "Công ty TNHH Nông nghiệp Nghi Sơn",
    role: "producer",
    commune: "Phường Nghi Sơn",
    province: "Thanh Hóa",
  });
  assert.deepEqual(r.checked, ["signature", "signer-trusted", "signer-role", "gtin-owner", "chain", "genesis-claims"]);
  assert.deepEqual(r.notChecked, []);
  assert.equal(r.chain.covered, 4);
  assert.equal(r.chain.total, 5);
  assert.equal(r.chain.productName, "Đông trùng hạ thảo sấy thăng hoa");
  JSON.stringify(r);
});

test("a verified trust list can be reused, and a bundle's events are named by it", async () => {
  const c = FIXTURES.cases.find((x) => x.name === "bundle-trust-ok");
  const t = await verifyTrustList(fromHex(FIXTURES.blobs[c.trust] ?? c.trust), { authority: c.authority, now: c.now });
  assert.equal(t.code, "OK");
  assert.equal(t.summary.issuer, "Văn phòng Điều phối Chương trình OCOP tỉnh Thanh Hóa");
  const r = await verifyBundle(fromHex(FIXTURES.blobs[c.bundle] ?? c.bundle), { trustList: t.trustList, now: c.now });
  assert.equal(r.code, "OK");
  assert.deepEqual(
    r.events.map((e) => e.signer.participant.role),
    ["producer", "processor", "lab", "producer", "producer", "producer", "producer"],
  );
});

test("a retired key is reported at the event that claims a later time", async () => {
  const c = FIXTURES.cases.find((x) => x.name === "bundle-retired-key");
  const r = await verifyBundle(fromHex(FIXTURES.blobs[c.bundle] ?? c.bundle), {
    trustList: fromHex(FIXTURES.blobs[c.trust] ?? c.trust),
    authority: c.authority,
    now: c.now,
  });
  assert.equal(r.ok, false);
  assert.equal(r.code, "E_KEY_RETIRED");
  assert.equal(r.where.seq, 1);
  assert.equal(r.where.position, 1);
  assert.equal(r.findings.length, 1);
});

test("a genesis claim its signer may not make is a finding that names the field", async () => {
  const c = FIXTURES.cases.find((x) => x.name === "bundle-claims-mismatch");
  const r = await verifyBundle(fromHex(FIXTURES.blobs[c.bundle] ?? c.bundle), {
    trustList: fromHex(FIXTURES.blobs[c.trust] ?? c.trust),
    authority: c.authority,
    now: c.now,
  });
  assert.equal(r.code, "E_CLAIM_MISMATCH");
  assert.deepEqual(
    r.findings.map((f) => [f.code, f.position, f.seq, f.field]),
    [["E_CLAIM_MISMATCH", 0, 0, "producer.name"]],
  );
  assert.equal(r.where.field, "producer.name");
  assert.equal(r.events[0].signer.participant.name, "Công ty TNHH Nông nghiệp Nghi Sơn");
  assert.equal(r.events[0].producer.name, "Hộ kinh doanh Lê Thị Hoa");
});

test("with a trust list a chain fails at the first key that may not sign then, naming its position", async () => {
  const c = FIXTURES.cases.find((x) => x.name === "chain-trust-retired-key");
  const r = await verifyChain(c.events.map(fromHex), {
    trustList: fromHex(FIXTURES.blobs[c.trust] ?? c.trust),
    authority: c.authority,
    now: c.now,
  });
  assert.equal(r.code, "E_KEY_RETIRED");
  assert.deepEqual([r.where.position, r.where.seq], [1, 1]);
  assert.equal(r.where.index, undefined);
});

test("a weak trusted key is refused before anything is verified", async () => {
  const r = await verifyBundle(fromHex(EXTRAS.bundle.file), { trustedKeys: ["00".repeat(32)], now: NOW });
  assert.equal(r.code, "E_WEAK_KEY");
  assert.equal(r.stage, "trust");
});

test("bad options are a TypeError, not a verdict", async () => {
  await assert.rejects(verifyBundle(fromHex(EXTRAS.bundle.file), {}), TypeError);
  await assert.rejects(verifyTrustList(new Uint8Array(1), { authority: { keys: [] } }), TypeError);
});

test("without Ed25519 in WebCrypto the result says so and verifies nothing", () => {
  // A fresh process whose WebCrypto refuses Ed25519, as an older browser does.
  const script = `
    const subtle = globalThis.crypto.subtle;
    const refuse = async () => { throw new DOMException("Unrecognized algorithm name", "NotSupportedError"); };
    Object.defineProperty(subtle, "importKey", { value: refuse });
    const { verifyBundle } = await import(${JSON.stringify(join(ROOT, "portal/ocop_portal/static/js/ocop-verify.js"))});
    const r = await verifyBundle(new Uint8Array([0x40]), { trustedKeys: [], now: new Date() });
    process.stdout.write(JSON.stringify(r));`;
  const r = JSON.parse(execFileSync(process.execPath, ["--input-type=module", "-e", script], { encoding: "utf8" }));
  assert.equal(r.ok, false);
  assert.equal(r.code, "E_ED25519_UNSUPPORTED");
  assert.equal(r.unsupported, true);
});

// ---- public vectors, vendored in tests/external/vectors (SOURCES.md there); a missing file fails -----------

const shared = (name) => load(`tests/external/vectors/${name}`);

test("RFC 8032 §7.1 tests 1-3 verify, and not for another message", async () => {
  const vectors = [
    [
      "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a",
      "",
      "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b",
    ],
    [
      "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c",
      "72",
      "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00",
    ],
    [
      "fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025",
      "af82",
      "6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac18ff9b538d16f290ae67f760984dc6594a7c15e9716ed28dc027beceea1ec40a",
    ],
  ];
  for (const [pk, msg, sig] of vectors) {
    const key = await PublicKey.from(fromHex(pk));
    assert.equal(await key.verify(fromHex(sig), fromHex(msg)), true);
    assert.equal(await key.verify(fromHex(sig), fromHex(`${msg}00`)), false);
  }
});

test("Wycheproof Ed25519: every case gives its expected answer", async () => {
  const data = shared("wycheproof_ed25519_test.json");
  const wrong = [];
  for (const group of data.testGroups) {
    const key = await PublicKey.from(fromHex(group.publicKey.pk));
    for (const t of group.tests) {
      if ((await key.verify(fromHex(t.sig), fromHex(t.msg))) !== (t.result === "valid")) wrong.push(t.tcId);
    }
  }
  assert.deepEqual(wrong, []);
});

test("CCTV: low-order and non-canonical keys are E_WEAK_KEY; 43 signatures verify", async () => {
  let weak = 0;
  let accepted = 0;
  for (const v of shared("cctv_ed25519vectors.json")) {
    const flags = new Set(v.flags ?? []);
    if (flags.has("low_order_A") || flags.has("non_canonical_A")) {
      await assert.rejects(PublicKey.from(fromHex(v.key)), (e) => e.code === "E_WEAK_KEY");
      weak++;
      continue;
    }
    const key = await PublicKey.from(fromHex(v.key));
    if (await key.verify(fromHex(v.sig), new TextEncoder().encode(v.msg))) {
      accepted++;
      for (const f of ["low_order_R", "non_canonical_R", "low_order_residue", "reencoded_k"])
        assert.equal(flags.has(f), false);
    }
  }
  assert.equal(weak, 526);
  assert.equal(accepted, 43);
});

test("dCBOR: every invalid vector is refused", () => {
  const codes = new Set(["E_CBOR", "E_TYPE", "E_NONCANONICAL", "E_TRAILING"]);
  for (const v of shared("dcbor_invalid.json")) {
    assert.throws(
      () => decode(fromHex(v.hex), { maxSize: 65536, maxDepth: 8 }),
      (e) => codes.has(e.code),
      v.diagnostic,
    );
  }
});
