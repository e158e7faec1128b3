// Events: the payload rules of docs/format.md §7 and the event envelope (§4 with the event content type).
//
// A payload is decoded (§7.7) in the document's phases: the structure of the whole payload (E_SCHEMA), then every
// value in label order, depth first (E_FIELD), then the event is rebuilt from the decoded values in canonical form
// and encoded again: any difference from the received bytes is E_NONCANONICAL (§7.7 step 6).

import { decode, encode } from "./cbor.js";
import { parseSign1 } from "./cose.js";
import { fail } from "./errors.js";
import { adminCode, gln, gtin, invalid, text } from "./fields.js";
import { codePoints, equal } from "./util.js";

export const EVENT_TYP = "application/ocop-event+cbor";
export const MAX_EVENT_SIZE = 65536;
const PAYLOAD_DEPTH = 4;
const MAX_VALUE_TEXT = 1024;
const MAX_INPUTS = 64;
const MAX_ATTACHMENTS = 32;
const MAX_DATA_ITEMS = 64;
const MAX_ATTACHMENT_SIZE = 2n ** 53n;
const MAX_SEQ = 2n ** 63n;
// §19: a correction's business step, and how far back it may reach.
export const CORRECTION_STEP = "ocop:correcting";
export const MAX_CORRECTION_DISTANCE = 4096n;

const CBV_BUSINESS_STEPS = new Set(
  `accepting arriving assembling collecting commissioning consigning creating_class_instance cycle_counting
  decommissioning departing destroying disassembling dispensing encoding entering_exiting holding inspecting
  installing killing loading other packing picking receiving removing repackaging repairing replacing reserving
  retail_selling shipping staging_outbound stock_taking stocking storing transporting unloading unpacking
  void_shipping sensor_reporting sampling`.split(/\s+/),
);
const CUSTOM_STEP = /^[a-z][a-z0-9-]{0,31}:[a-z][a-z0-9_]{0,63}$/;
const DATA_KEY = /^[A-Za-z][A-Za-z0-9_.:-]{0,63}$/;
const MEDIA_TYPE = /^[a-z0-9][a-z0-9!#$&^_.+-]{0,63}\/[a-z0-9][a-z0-9!#$&^_.+-]{0,126}$/;
const GS1_LOT = /^[!"%-/0-9:-?A-Z_a-z]{1,20}$/;

// The payload labels (§7.1) and the label sets of each kind of event.
// prettier-ignore
const [V, BATCH, SEQ, PREV, TIME, STEP, WHERE, INPUTS, ATTACHMENTS, DATA, PRODUCT, PRODUCER, CERTIFICATE, CORRECTS] =
  [0n, 1n, 2n, 3n, 4n, 5n, 6n, 7n, 8n, 9n, 10n, 11n, 12n, 13n];
const GENESIS_REQUIRED = [V, SEQ, TIME, PRODUCT, PRODUCER];
const GENESIS_OPTIONAL = [WHERE, ATTACHMENTS, DATA, CERTIFICATE];
const STEP_REQUIRED = [V, BATCH, SEQ, PREV, TIME, STEP, WHERE];
const STEP_OPTIONAL = [INPUTS, ATTACHMENTS, DATA, CORRECTS];
// Nested maps: member names in label order (§7.2).
const PRODUCT_FIELDS = ["name", "lot", "quantity", "unit", "gtin"];
const PRODUCER_FIELDS = ["name", "admin_code", "commune", "province", "gln"];
const CERTIFICATE_FIELDS = ["stars", "number", "issued"];
const LOCATION_FIELDS = ["name", "admin_code", "lat_e6", "lon_e6", "gln"];
const INPUT_FIELDS = ["batch_id", "seq", "head"];
const ATTACHMENT_FIELDS = ["name", "media_type", "size", "sha256"];
const CORRECTION_FIELDS = ["seq", "event_id", "reason", "data"];

const schema = (message, field) => fail("E_SCHEMA", message, { field });

// ---- field rules ------------------------------------------------------------------------------------------

function optionalText(value, field) {
  return value === undefined ? null : text(value, field);
}

function optionalAdminCode(value, field) {
  return value === undefined ? null : adminCode(value, field);
}

function bytes32(value, field) {
  if (!(value instanceof Uint8Array) || value.length !== 32) invalid("expected 32 bytes", field);
  return value;
}

function isInt(value) {
  return typeof value === "bigint";
}

const pad = (n, width = 2) => String(n).padStart(width, "0");

// §7.4: the RFC 3339 profile of event times: seconds always, six fraction digits only when the fraction is not
// zero, a numeric offset (never "Z", never "-00:00").
const EVENT_TIME =
  /^([0-9]{4})-([0-9]{2})-([0-9]{2})T([0-9]{2}):([0-9]{2}):([0-9]{2})(\.[0-9]{6})?([+-])([0-9]{2}):([0-9]{2})$/;
const MINUTE = 60_000_000n; // microseconds

function daysIn(y, m) {
  return m === 2 ? (y % 4 === 0 && (y % 100 !== 0 || y % 400 === 0) ? 29 : 28) : [4, 6, 9, 11].includes(m) ? 30 : 31;
}

/**
 * §7.4: `time` in the profile, a valid date and time with an offset of hours 00-23 and minutes 00-59, year
 * 1970-9999 (else E_FIELD; not text, or longer than 40 characters: E_SCHEMA). Returns {text: the canonical
 * spelling, compared later by the re-encode rule, micros: UTC microseconds, localDate}. +07:60 is E_FIELD (it is not
 * another spelling of +08:00; ambiguity 11, settled).
 */
function eventTime(value, field) {
  if (typeof value !== "string" || codePoints(value) > 40) schema("expected RFC 3339 text", field);
  const m = EVENT_TIME.exec(value);
  if (m === null || m[7] === ".000000" || (m[8] === "-" && m[9] === "00" && m[10] === "00")) {
    invalid("not a date-time in the profile YYYY-MM-DDTHH:MM:SS[.ffffff]+HH:MM", field);
  }
  const [y, mo, d, h, mi, s] = m.slice(1, 7).map(Number);
  const us = m[7] === undefined ? 0 : Number(m[7].slice(1));
  const offset = (m[8] === "-" ? -1 : 1) * (Number(m[9]) * 60 + Number(m[10])); // minutes
  if (y < 1 || mo < 1 || mo > 12 || d < 1 || d > daysIn(y, mo) || h > 23 || mi > 59 || s > 59) {
    invalid("not a valid date-time", field);
  }
  if (Number(m[9]) > 23 || Number(m[10]) > 59) invalid("UTC offset out of range", field);
  if (y < 1970 || y > 9999) invalid("year out of range", field);
  const local = `${pad(y, 4)}-${pad(mo)}-${pad(d)}`;
  const zone = `${offset < 0 ? "-" : "+"}${pad(Math.floor(Math.abs(offset) / 60))}:${pad(Math.abs(offset) % 60)}`;
  const text = `${local}T${pad(h)}:${pad(mi)}:${pad(s)}${us ? `.${pad(us, 6)}` : ""}${zone}`;
  const utcMillis = BigInt(Date.UTC(y, mo - 1, d, h, mi, s));
  return { text, micros: utcMillis * 1000n + BigInt(us) - BigInt(offset) * MINUTE, localDate: local };
}

/**
 * A nested map (§7.2): a map; no label outside 0..names.length-1; the first `required` labels present; no null
 * member (checked in label order). E_SCHEMA with the field.
 */
function members(value, names, where, required) {
  if (!(value instanceof Map)) schema("expected a map", where);
  for (const k of value.keys()) {
    if (!isInt(k) || k < 0n || k >= BigInt(names.length)) schema("unknown label", where);
  }
  for (let label = 0; label < required; label++) {
    if (!value.has(BigInt(label))) schema(`missing ${names[label]}`, `${where}.${names[label]}`);
  }
  for (const k of [...value.keys()].sort((a, b) => (a < b ? -1 : 1))) {
    if (value.get(k) === null) schema("null: an absent member is left out", `${where}.${names[Number(k)]}`);
  }
  const out = {};
  for (const [k, v] of value) out[names[Number(k)]] = v;
  return out;
}

function nonEmptyArray(value, where) {
  if (!Array.isArray(value) || value.length === 0) schema("expected a non-empty array", where);
  return value;
}

// §7.6: a quantity is text spelled DIGIT+ ["." DIGIT+], at most 64 characters; its canonical form drops leading
// zeros and trailing fractional zeros and has at most 18 integer and 9 fractional digits (else E_FIELD); another
// spelling of a valid value is left to the re-encode rule (E_NONCANONICAL).
const QUANTITY = /^(0|[1-9][0-9]{0,17})(\.[0-9]{0,8}[1-9])?$/;
const DECIMAL = /^([0-9]+)(?:\.([0-9]+))?$/;

function quantity(value, field) {
  if (typeof value !== "string") invalid("expected decimal text", field);
  if (QUANTITY.test(value)) return value;
  const m = codePoints(value) <= 64 ? DECIMAL.exec(value) : null;
  if (m === null) invalid("not a decimal number (digits, optionally a point and more digits)", field);
  const whole = m[1].replace(/^0+/, "") || "0";
  const fraction = (m[2] ?? "").replace(/0+$/, "");
  const out = fraction ? `${whole}.${fraction}` : whole;
  if (!QUANTITY.test(out)) invalid("more than 18 integer or 9 fractional digits", field);
  return out;
}

// §7.2: the certificate's date, YYYY-MM-DD naming a real date (years 0001-9999).
const DATE = /^([0-9]{4})-([0-9]{2})-([0-9]{2})$/;

function issuedDate(value, field) {
  const m = DATE.exec(value);
  if (m === null) invalid("not a date written YYYY-MM-DD", field);
  const [y, mo, d] = m.slice(1).map(Number);
  if (y < 1 || mo < 1 || mo > 12 || d < 1 || d > daysIn(y, mo)) invalid("not a valid date", field);
  return value;
}

function product(value) {
  const p = members(value, PRODUCT_FIELDS, "product", 4);
  const out = {
    name: text(p.name, "product.name"),
    lot: text(p.lot, "product.lot", 64),
    quantity: quantity(p.quantity, "product.quantity"),
    unit: text(p.unit, "product.unit", 32),
    gtin: null,
  };
  if (p.gtin !== undefined) {
    out.gtin = gtin(p.gtin, "product.gtin");
    if (!GS1_LOT.test(out.lot)) invalid("with a GTIN, the lot must be 1-20 characters of GS1's set", "product.lot");
  }
  return out;
}

function producer(value) {
  const p = members(value, PRODUCER_FIELDS, "producer", 1);
  return {
    name: text(p.name, "producer.name"),
    admin_code: optionalAdminCode(p.admin_code, "producer.admin_code"),
    commune: optionalText(p.commune, "producer.commune"),
    province: optionalText(p.province, "producer.province"),
    gln: p.gln === undefined ? null : gln(p.gln, "producer.gln"),
  };
}

function certificate(value) {
  const c = members(value, CERTIFICATE_FIELDS, "certificate", 3);
  if (!isInt(c.stars) || ![3n, 4n, 5n].includes(c.stars)) invalid("OCOP stars must be 3, 4 or 5", "certificate.stars");
  return {
    stars: c.stars,
    number: text(c.number, "certificate.number", 64),
    issued: issuedDate(c.issued, "certificate.issued"),
  };
}

function location(value) {
  const l = members(value, LOCATION_FIELDS, "where", 1);
  const out = {
    name: text(l.name, "where.name"),
    admin_code: optionalAdminCode(l.admin_code, "where.admin_code"),
    lat_e6: l.lat_e6 ?? null,
    lon_e6: l.lon_e6 ?? null,
    gln: null,
  };
  // At label 2, before either range: both or neither (field where.lat_e6).
  if ((out.lat_e6 === null) !== (out.lon_e6 === null)) invalid("latitude and longitude go together", "where.lat_e6");
  for (const [name, bound] of [
    ["lat_e6", 90000000n],
    ["lon_e6", 180000000n],
  ]) {
    const v = out[name];
    if (v !== null && (!isInt(v) || v > bound || v < -bound)) invalid("coordinate out of range", `where.${name}`);
  }
  if (l.gln !== undefined) out.gln = gln(l.gln, "where.gln");
  return out;
}

function attachment(value) {
  const a = members(value, ATTACHMENT_FIELDS, "attachments", 4);
  const name = text(a.name, "attachments.name");
  if (name.includes("/") || name.includes("\\") || name === "." || name === "..") {
    invalid("file name must not contain directories", "attachments.name");
  }
  if (typeof a.media_type !== "string" || !MEDIA_TYPE.test(a.media_type)) {
    invalid("not a media type (type/subtype, lowercase)", "attachments.media_type");
  }
  if (!isInt(a.size) || a.size < 0n || a.size > MAX_ATTACHMENT_SIZE) invalid("size out of range", "attachments.size");
  return { name, media_type: a.media_type, size: a.size, sha256: bytes32(a.sha256, "attachments.sha256") };
}

// Members in label order: batch_id, seq, head, then the seq-0 rule (§7.2).
function input(value) {
  const i = members(value, INPUT_FIELDS, "inputs", 3);
  const batchId = bytes32(i.batch_id, "inputs.batch_id");
  if (!isInt(i.seq) || i.seq < 0n || i.seq >= MAX_SEQ) invalid("seq must be a non-negative integer", "inputs.seq");
  const head = bytes32(i.head, "inputs.head");
  if (i.seq === 0n && !equal(head, batchId)) {
    invalid("an input at seq 0 must name the genesis event as head", "inputs.head");
  }
  return { batch_id: batchId, seq: i.seq, head };
}

function inputs(value, batch) {
  countAtMost(value, MAX_INPUTS, "inputs");
  const out = [];
  const seen = new Set();
  for (const item of value) {
    const ref = input(item);
    const id = ref.batch_id.join();
    if (batch !== undefined && equal(ref.batch_id, batch)) invalid("a batch cannot consume itself", "inputs");
    if (seen.has(id)) invalid("the same input batch is listed twice", "inputs");
    seen.add(id);
    out.push(ref);
  }
  return out;
}

function data(value, where = "data") {
  if (value.size > MAX_DATA_ITEMS) invalid(`more than ${MAX_DATA_ITEMS} key data elements`, where);
  const out = new Map();
  for (const [k, v] of value) {
    if (typeof k !== "string" || !DATA_KEY.test(k)) invalid("key data element names must match the pattern", where);
    if (typeof v === "boolean") out.set(k, v);
    else if (isInt(v)) {
      if (v >= MAX_SEQ) invalid(`${k} is out of the 64-bit range`, `${where}.${k}`);
      out.set(k, v);
    } else out.set(k, text(v, `${where}.${k}`, MAX_VALUE_TEXT, true));
  }
  return out;
}

/** §19.1, structure (§7.7 step 4a): a correction's declaration has labels 0-2, maybe 3, and its data is a map. */
function correctionStructure(value) {
  const c = members(value, CORRECTION_FIELDS, "corrects", 3);
  if (c.data !== undefined && (!(c.data instanceof Map) || c.data.size === 0)) {
    schema("corrected data must be a non-empty map", "corrects.data");
  }
}

/** §19.1, values (§7.7 step 4b): the corrected step's seq and id, a reason, maybe the corrected values. */
function correction(value) {
  const c = members(value, CORRECTION_FIELDS, "corrects", 3);
  if (!isInt(c.seq) || c.seq < 1n || c.seq >= MAX_SEQ) invalid("expected an integer of at least 1", "corrects.seq");
  return {
    seq: c.seq,
    event_id: bytes32(c.event_id, "corrects.event_id"),
    reason: text(c.reason, "corrects.reason", MAX_VALUE_TEXT),
    data: c.data === undefined ? null : data(c.data, "corrects.data"),
  };
}

/** §19.1 rules 1, 3 and 4: what ties a step to its correction, as [field, message], or null. */
function correctionRule(body) {
  const c = body.corrects;
  if (c === null) {
    return body.step === CORRECTION_STEP ? ["corrects", "a correction step must name the step it corrects"] : null;
  }
  if (body.step !== CORRECTION_STEP) return ["step", `a correction's business step is ${CORRECTION_STEP}`];
  if (c.seq >= body.seq) return ["corrects.seq", "a correction corrects an earlier step of its batch"];
  if (body.seq - c.seq > MAX_CORRECTION_DISTANCE) {
    return ["corrects.seq", `a correction reaches at most ${MAX_CORRECTION_DISTANCE} steps back`];
  }
  if (body.inputs.length) return ["inputs", "a correction consumes no batch"];
  if (body.data.size) return ["data", "a correction carries its corrected values in corrects.data"];
  return null;
}

function countAtMost(items, limit, field) {
  if (items.length > limit) invalid(`more than ${limit} items`, field);
}

// ---- the payload ------------------------------------------------------------------------------------------

const byLabel = (m) => [...m.keys()].sort((a, b) => (a < b ? -1 : 1));

/** §7.7 step 4a: structure, over the whole payload, in label order (E_SCHEMA). */
function structure(m) {
  for (const label of byLabel(m)) {
    const value = m.get(label);
    if (label === TIME) {
      if (typeof value !== "string" || codePoints(value) > 40) schema("expected RFC 3339 text", "time");
    } else if (label === INPUTS) {
      for (const item of nonEmptyArray(value, "inputs")) members(item, INPUT_FIELDS, "inputs", 3);
    } else if (label === ATTACHMENTS) {
      for (const item of nonEmptyArray(value, "attachments")) members(item, ATTACHMENT_FIELDS, "attachments", 4);
    } else if (label === WHERE) members(value, LOCATION_FIELDS, "where", 1);
    else if (label === PRODUCT) members(value, PRODUCT_FIELDS, "product", 4);
    else if (label === PRODUCER) members(value, PRODUCER_FIELDS, "producer", 1);
    else if (label === DATA) {
      if (!(value instanceof Map) || value.size === 0) schema("data must be a non-empty map", "data");
    } else if (label === CERTIFICATE) {
      const issued = members(value, CERTIFICATE_FIELDS, "certificate", 3).issued;
      if (typeof issued !== "string" || codePoints(issued) !== 10) {
        schema("expected a YYYY-MM-DD date", "certificate.issued");
      }
    } else if (label === CORRECTS) correctionStructure(value);
  }
}

/** §7.7 step 4b: every value through its rule, in label order, depth first (E_FIELD with the field). */
function values(m) {
  const v = {};
  for (const label of byLabel(m)) {
    const value = m.get(label);
    if (label === BATCH) v.batch = bytes32(value, "batch");
    else if (label === SEQ) {
      if (value !== 0n && value >= MAX_SEQ) invalid("a step's seq is below 2^63", "seq");
    } else if (label === PREV) v.prev = bytes32(value, "prev");
    else if (label === TIME) v.time = eventTime(value, "time");
    else if (label === STEP) {
      if (typeof value !== "string" || !(CBV_BUSINESS_STEPS.has(value) || CUSTOM_STEP.test(value))) {
        invalid("neither a GS1 CBV 2.0 business step nor a namespaced step like ocop:drying", "step");
      }
      v.step = value;
    } else if (label === WHERE) v.where = location(value);
    else if (label === INPUTS) v.inputs = inputs(value, v.batch);
    else if (label === ATTACHMENTS) {
      countAtMost(value, MAX_ATTACHMENTS, "attachments");
      v.attachments = value.map(attachment);
    } else if (label === DATA) v.data = data(value);
    else if (label === PRODUCT) v.product = product(value);
    else if (label === PRODUCER) v.producer = producer(value);
    else if (label === CERTIFICATE) v.certificate = certificate(value);
    else if (label === CORRECTS) v.corrects = correction(value);
  }
  return v;
}

/** Decode and check an event payload (§7.7); returns the body with canonical values. */
export function decodePayload(payload) {
  // 1.
  const m = decode(payload, { maxSize: MAX_EVENT_SIZE, maxDepth: PAYLOAD_DEPTH });
  // 2.
  if (!(m instanceof Map)) schema("event payload must be a map");
  if (m.get(V) !== 1n) fail("E_VERSION", "unsupported format version", { field: "v" });
  // 3.
  const seq = m.get(SEQ);
  if (!isInt(seq) || seq < 0n) schema("seq must be a non-negative integer", "seq");
  const genesis = seq === 0n;
  const [required, optional] = genesis ? [GENESIS_REQUIRED, GENESIS_OPTIONAL] : [STEP_REQUIRED, STEP_OPTIONAL];
  if (required.some((label) => !m.has(label))) schema("missing labels");
  for (const k of m.keys()) if (!required.includes(k) && !optional.includes(k)) schema("label not allowed here");
  // 4. structure over the whole payload, then the values in label order
  structure(m);
  const v = values(m);
  const body = genesis
    ? {
        kind: "genesis",
        seq: 0n,
        product: v.product,
        producer: v.producer,
        where: v.where ?? null,
        certificate: v.certificate ?? null,
        time: v.time,
      }
    : { kind: "step", seq, batch: v.batch, prev: v.prev, time: v.time, step: v.step, where: v.where, inputs: v.inputs ?? [], corrects: v.corrects ?? null };
  body.attachments = v.attachments ?? [];
  body.data = v.data ?? new Map();
  if (body.kind === "step") {
    const broken = correctionRule(body);
    if (broken !== null) invalid(broken[1], broken[0]);
  }
  // 5. the re-encode rule
  if (!equal(encode(canonicalMap(body)), payload)) {
    fail("E_NONCANONICAL", "payload is not in its one canonical form (NFC text, 14-digit GTIN, quantity, time)");
  }
  return body;
}

function record(obj, names) {
  const out = new Map();
  names.forEach((name, label) => {
    if (obj[name] !== null && obj[name] !== undefined) out.set(BigInt(label), obj[name]);
  });
  return out;
}

/** The event map rebuilt from checked values: optional members absent, canonical text (§7.7 step 5). */
function canonicalMap(body) {
  const m = new Map([[V, 1n]]);
  if (body.kind === "step") m.set(BATCH, body.batch);
  m.set(SEQ, body.seq);
  if (body.kind === "step") m.set(PREV, body.prev);
  m.set(TIME, body.time.text);
  if (body.kind === "step") m.set(STEP, body.step);
  if (body.where) m.set(WHERE, record(body.where, LOCATION_FIELDS));
  if (body.inputs?.length)
    m.set(
      INPUTS,
      body.inputs.map((i) => record(i, INPUT_FIELDS)),
    );
  if (body.attachments.length)
    m.set(
      ATTACHMENTS,
      body.attachments.map((a) => record(a, ATTACHMENT_FIELDS)),
    );
  if (body.data.size) m.set(DATA, body.data);
  if (body.kind === "step" && body.corrects) {
    const c = body.corrects;
    const declaration = new Map([
      [0n, c.seq],
      [1n, c.event_id],
      [2n, c.reason],
    ]);
    if (c.data !== null) declaration.set(3n, c.data);
    m.set(CORRECTS, declaration);
  }
  if (body.kind === "genesis") {
    m.set(PRODUCT, record(body.product, PRODUCT_FIELDS));
    m.set(PRODUCER, record(body.producer, PRODUCER_FIELDS));
    if (body.certificate) m.set(CERTIFICATE, record(body.certificate, CERTIFICATE_FIELDS));
  }
  return m;
}

/**
 * Parse an event from untrusted bytes without checking its signature (§8.2 steps 1–2). Returns {raw, protected,
 * payload, signature, keyId, toBeSigned, eventId, body, batchId}; batchId is the event's own id for a genesis.
 */
export async function parseEvent(bytes) {
  const cose = await parseSign1(bytes, { typ: EVENT_TYP, maxSize: MAX_EVENT_SIZE });
  const body = decodePayload(cose.payload);
  return {
    raw: cose.raw,
    protected: cose.protected,
    payload: cose.payload,
    signature: cose.signature,
    keyId: cose.keyId,
    toBeSigned: cose.toBeSigned,
    eventId: cose.objectId,
    body,
    batchId: body.kind === "genesis" ? cose.objectId : body.batch,
    seq: body.seq,
  };
}
