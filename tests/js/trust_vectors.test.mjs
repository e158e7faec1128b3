// The JavaScript verifier against tests/vectors/trust.json (docs/format.md §16-§17): every trust-list vector, and
// every seal vector that needs no process policy (policies and audits are the Python library's alone), give the
// code the file names. node --test tests/js

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";

import { verifySeal, verifyTrustList } from "../../portal/ocop_portal/static/js/ocop-verify.js";
import { fromHex } from "../../portal/ocop_portal/static/js/util.js";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const DOC = JSON.parse(readFileSync(join(ROOT, "tests/vectors/trust.json"), "utf8"));
const KEYS = Object.fromEntries(DOC.keys.map((k) => [k.name, k.public_key]));
const BY_NAME = Object.fromEntries(DOC.vectors.map((v) => [v.name, v]));

/** Verify the trust-list vector `name` from its anchor (pinned keys, or the list vector it names). */
async function list(name) {
  const v = BY_NAME[name];
  const options = { now: v.now };
  if (v.anchor.list) {
    const anchor = await list(v.anchor.list);
    assert.equal(anchor.code, "OK", `anchor ${v.anchor.list}: ${anchor.message}`);
    options.pinned = anchor.trustList;
  } else {
    options.authority = { keys: v.anchor.keys.map((k) => KEYS[k]), threshold: v.anchor.threshold };
  }
  return verifyTrustList(fromHex(v.input), options);
}

for (const v of DOC.vectors.filter((x) => x.kind === "trust_list")) {
  test(`trust list ${v.name}: ${v.expected_code}`, async () => {
    const r = await list(v.name);
    assert.equal(r.code, v.expected_code, r.message);
    if (v.expected_field) assert.equal(r.where.field, v.expected_field);
  });
}

for (const v of DOC.vectors.filter((x) => x.kind === "seal" && !x.policy)) {
  test(`seal ${v.name}: ${v.expected_code}`, async () => {
    const trust = await list(v.trust);
    assert.equal(trust.code, "OK");
    const options = { trustList: trust.trustList, now: v.now };
    if (v.bundle) options.bundle = fromHex(v.bundle);
    const r = await verifySeal(v.input, options);
    assert.equal(r.code, v.expected_code, r.message);
    if (v.expected_field) assert.equal(r.where.field, v.expected_field);
  });
}
