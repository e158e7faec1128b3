// An independent verifier for our receipts: sigstore-js (@sigstore/verify 3.1.1, pinned in package-lock.json).
//
// Reads {"cases": [{log: {origin, public_key (hex)}, leaf (base64), index, proof: [base64], checkpoint (note text)}]}
// on stdin and prints {"versions": {...}, "results": [{ok, code, message}]}.
//
// Each case goes through sigstore's own code paths: the log's key becomes a TrustedRoot (protobuf-specs JSON, the
// format Sigstore's trust roots ship in) turned into trust material by the public toTrustMaterial(); the receipt
// becomes a transparency-log entry whose canonicalized body is our leaf, checked by verifyTLogInclusion() (signed
// note parsing, the log's Ed25519 signature found by its C2SP key ID, checkpoint parsing, RFC 6962 inclusion).
// verifyTLogInclusion is not exported from the package root, so it is loaded from its built module.
'use strict';

const crypto = require('node:crypto');
const fs = require('node:fs');
const path = require('node:path');
const { TrustedRoot } = require('@sigstore/protobuf-specs');
const { toTrustMaterial } = require('@sigstore/verify');
const { verifyTLogInclusion } = require('@sigstore/verify/dist/tlog');

function trustedRoot(origin, rawKey) {
  const key = crypto.createPublicKey({
    key: { kty: 'OKP', crv: 'Ed25519', x: rawKey.toString('base64url') },
    format: 'jwk',
  });
  const spki = key.export({ type: 'spki', format: 'der' });
  // C2SP signed-note: key ID = SHA-256(key name || 0x0A || 0x01 || 32-byte Ed25519 key)[:4], computed here.
  const noteKeyId = crypto
    .createHash('sha256')
    .update(Buffer.concat([Buffer.from(origin + '\n', 'utf8'), Buffer.from([0x01]), rawKey]))
    .digest()
    .subarray(0, 4);
  return TrustedRoot.fromJSON({
    mediaType: 'application/vnd.dev.sigstore.trustedroot+json;version=0.2',
    tlogs: [
      {
        baseUrl: 'https://' + origin,
        hashAlgorithm: 'SHA2_256',
        publicKey: {
          rawBytes: spki.toString('base64'),
          keyDetails: 'PKIX_ED25519',
          validFor: { start: '2020-01-01T00:00:00Z' },
        },
        logId: { keyId: crypto.createHash('sha256').update(spki).digest('base64') },
        checkpointKeyId: { keyId: noteKeyId.toString('base64') },
      },
    ],
    certificateAuthorities: [],
    ctlogs: [],
    timestampAuthorities: [],
  });
}

function check(c) {
  const material = toTrustMaterial(trustedRoot(c.log.origin, Buffer.from(c.log.public_key, 'hex')));
  const entry = {
    logIndex: String(c.index),
    canonicalizedBody: Buffer.from(c.leaf, 'base64'),
    inclusionProof: {
      logIndex: String(c.index),
      hashes: c.proof.map((h) => Buffer.from(h, 'base64')),
      checkpoint: { envelope: c.checkpoint },
    },
  };
  try {
    verifyTLogInclusion(entry, material.tlogs);
    return { ok: true };
  } catch (e) {
    return { ok: false, code: e.code || e.name, message: String(e.message) };
  }
}

function version(pkg) {
  const file = path.join(__dirname, 'node_modules', pkg, 'package.json');
  return JSON.parse(fs.readFileSync(file, 'utf8')).version;
}

const request = JSON.parse(fs.readFileSync(0, 'utf8'));
const out = {
  versions: {
    node: process.versions.node,
    '@sigstore/verify': version('@sigstore/verify'),
    '@sigstore/core': version('@sigstore/core'),
  },
  results: (request.cases || []).map(check),
};
process.stdout.write(JSON.stringify(out));
