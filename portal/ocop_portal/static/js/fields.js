// The field rules shared by events, trust lists and seals, each written once (docs/format.md §7, §16; the
// reference's ocop_provenance/_fields.py). Each takes a decoded value and the field's dotted name, returns the value
// in its canonical form or throws E_FIELD naming the field. Text arrives NFC-checked by the CBOR decoder.

import { fail } from "./errors.js";
import { codePoints, isPySpace } from "./util.js";
import { CASEFOLD } from "./casefold.js";

export const MAX_TEXT = 256;
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/; // Unicode general category Cc (§7.3)
const ADMIN_CODE = /^[0-9]{2,10}$/;
const GS1_PREFIX = /^[0-9]{4,12}$/;

export const invalid = (message, field) => fail("E_FIELD", message, { field });

// §7.3's white space: empty, or only these (Unicode's White_Space less the controls, which are refused anyway).
const BLANK = /^[\u0020\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*$/;

/** §7.3: blank text (empty or only the named white space). */
export function isBlank(value) {
  return BLANK.test(value);
}

/** §7.3: text, not blank unless `empty`, at most `limit` code points, no control character. */
export function text(value, field, limit = MAX_TEXT, empty = false) {
  if (typeof value !== "string") invalid("expected text", field);
  if (!empty && isBlank(value)) invalid("must not be empty", field);
  if (codePoints(value) > limit) invalid(`longer than ${limit} characters`, field);
  if (CONTROL.test(value)) invalid("contains control characters", field);
  return value;
}

/** A Vietnamese administrative-unit code: 2 to 10 ASCII digits. */
export function adminCode(value, field) {
  if (typeof value !== "string" || !ADMIN_CODE.test(value)) {
    invalid("administrative-unit code must be 2-10 digits", field);
  }
  return value;
}

/** The GS1 mod-10 check digit of `digits` (weights 3, 1, 3, … from the right). */
export function gs1CheckDigit(digits) {
  let total = 0;
  for (let i = 0; i < digits.length; i++) total += Number(digits[digits.length - 1 - i]) * (i % 2 === 0 ? 3 : 1);
  return (10 - (total % 10)) % 10;
}

/** "length" or "check" if `value` is not a GS1 key of one of `lengths` digits, else null. */
export function gs1KeyProblem(value, lengths) {
  if (typeof value !== "string" || !/^[0-9]+$/.test(value) || !lengths.includes(value.length)) return "length";
  return gs1CheckDigit(value.slice(0, -1)) === Number(value.at(-1)) ? null : "check";
}

function gs1Key(value, field, lengths, padTo) {
  const problem = gs1KeyProblem(value, lengths);
  if (problem === "length") invalid(`must be ${lengths.join(" or ")} digits`, field);
  if (problem === "check") invalid("check digit is wrong", field);
  return value.padStart(padTo, "0");
}

/** A GTIN-8/12/13/14 as 14 digits, its check digit checked. */
export function gtin(value, field) {
  return gs1Key(value, field, [8, 12, 13, 14], 14);
}

/** A GS1 Global Location Number: 13 digits with a valid check digit. */
export function gln(value, field) {
  return gs1Key(value, field, [13], 13);
}

/** A GS1 Company Prefix a trust-list participant holds: 4 to 12 digits. */
export function gs1Prefix(value, field) {
  if (typeof value !== "string" || !GS1_PREFIX.test(value)) invalid("a GS1 Company Prefix is 4-12 digits", field);
  return value;
}

/** An integer (BigInt) from `low` to `high`. */
export function uint(value, field, low = 0n, high = 2n ** 63n - 1n) {
  if (typeof value !== "bigint" || value < low || value > high)
    invalid(`expected an integer from ${low} to ${high}`, field);
  return value;
}

// ---- names as people read them ----------------------------------------------------------------------------

/** Python's str.casefold (full case folding): the folding table where it differs from lowercasing, else lower. */
export function casefold(value) {
  let out = "";
  for (const ch of value) out += CASEFOLD.get(ch.codePointAt(0)) ?? ch.toLowerCase();
  return out;
}

/** Two names are the same when equal after case folding, with runs of white space as one space (the reference). */
export function sameName(a, b) {
  const norm = (s) => {
    const words = [];
    let word = "";
    for (const ch of casefold(s)) {
      if (isPySpace(ch)) {
        if (word) words.push(word);
        word = "";
      } else word += ch;
    }
    if (word) words.push(word);
    return words.join(" ");
  };
  return norm(a) === norm(b);
}
