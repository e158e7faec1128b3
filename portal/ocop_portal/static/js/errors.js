// One error type with a stable code (the codes of docs/format.md §14, shared with the Python library).

/**
 * A refusal: `code` is the stable E_... code, `where` says where (position, batchId, seq, eventId, keyId, field: the
 * Python library's error locations, position being the 0-based place of the item in the input read).
 * Thrown inside the verifier; the public functions of ocop-verify.js turn it into a result object.
 */
export class VerifyError extends Error {
  constructor(code, message, where = {}) {
    super(message);
    this.name = "VerifyError";
    this.code = code;
    this.where = { ...where };
  }
}

export function fail(code, message, where) {
  throw new VerifyError(code, message, where);
}

/** Run `fn` and add `extra` to the where of a VerifyError it throws (existing entries are kept). */
export function located(extra, fn) {
  try {
    return fn();
  } catch (e) {
    if (e instanceof VerifyError) {
      for (const [k, v] of Object.entries(extra)) if (e.where[k] === undefined) e.where[k] = v;
    }
    throw e;
  }
}
