"""What each error code means, in words an auditor understands: the one lookup of plain-words explanations."""

from __future__ import annotations

from collections.abc import Mapping

__all__ = ["EXPLAIN", "EXPLAIN_SEAL", "explain", "explain_error", "explain_seal"]

#: What each error code means, in words an auditor understands.
EXPLAIN: Mapping[str, str] = {
    "E_SIGNATURE": "the signature does not match the recorded content: the record was changed after it was signed",
    "E_UNKNOWN_KEY": "it was signed by a key that is not among the trusted keys you gave (or not in the trust list)",
    "E_GENESIS": "the batch's history does not start with the event that opened the batch",
    "E_BATCH": "the event belongs to another batch than the one being checked",
    "E_SEQ": "events are missing or out of order in the batch's history",
    "E_DUPLICATE": "the same event appears twice",
    "E_FORK": "two different signed versions of the same step exist: the history was forked",
    "E_LINK": "the event does not link to the event before it: something was removed, inserted or replaced",
    "E_TIME": "the event claims a time earlier than the step before it",
    "E_FUTURE": "the event claims a time in the future",
    "E_EMPTY": "the batch has no events",
    "E_INPUT_MISSING": "a step says it used another batch, but that batch's records are not in the bundle",
    "E_INPUT_HEAD": "a step says it used another batch at a point in its history that the bundle does not show",
    "E_HEADER_MISMATCH": "the bundle's table of contents (its batches, heads or list of signers' keys) does not match "
    "the events it holds",
    "E_BUNDLE": "the file is not a well-formed ocop bundle",
    "E_BUNDLE_EXTRA": "the bundle holds a batch that nothing in it used",
    "E_BUNDLE_ORDER": "the batches in the bundle are in the wrong order",
    "E_TRUNCATED": "the file is cut short: events are missing at the end",
    "E_TRAILING": "there is extra data after the last event",
    "E_VERSION": "the bundle was written by an unsupported version of the format",
    "E_SIZE": "an item is larger than the format allows",
    "E_CBOR": "the bytes are damaged: they are not valid CBOR",
    "E_NONCANONICAL": "the bytes are not in their one canonical form: they were changed after signing",
    "E_SCHEMA": "the event's content is not in the expected structure: it was damaged or altered",
    "E_FIELD": "a field of the event holds an invalid value: it was damaged or altered",
    "E_COSE": "the signed envelope is damaged or not of the accepted kind",
    "E_TYPE": "the signed object is not a provenance event",
    "E_CONTENT_TYPE": "the signed object is not a provenance event",
    "E_ALG": "the signature uses an algorithm that is not accepted",
    "E_CRIT": "the signed object needs an extension this verifier does not know",
    "E_UNPROTECTED": "the envelope carries unsigned header data, which is not accepted",
    "E_WEAK_KEY": "a key is weak or malformed and can never be trusted",
    "E_KEY_FORMAT": "a key is not a valid Ed25519 key",
    "E_TAMPERED": "the stored record no longer matches what was signed: the ledger was edited outside ocop",
    "E_PASSPHRASE": "the passphrase is missing or wrong",
    "E_KEY_PERMS": "the key file can be read by other users; restrict it with chmod 600",
    "E_NOT_FOUND": "there is no such batch or key",
    "E_AMBIGUOUS": "several batches start with that prefix: give more characters",
    "E_CONFLICT": "another program added to the batch at the same moment: run the command again",
    "E_STORE": "the ledger cannot be read or written",
    "E_BUSY": "another program kept the ledger locked: run the command again when it has finished",
    "E_READ_ONLY": "the ledger's directory cannot be written",
    "E_CANT_OPEN": "the ledger cannot be opened",
    "E_NOT_LEDGER": "the ledger file is not an ocop ledger",
    "E_CORRUPT": "the ledger file is damaged: restore it from a backup",
    "E_DISK_FULL": "the disk is full: nothing was written",
    "E_LINEAGE_CYCLE": "a batch cannot be made, directly or indirectly, from itself",
    "E_CORRECTION_TARGET": "a correction names a step that is not in this batch's history as it names it (or names "
    "another correction): it was altered or made for another record",
    "E_CORRECTION_SIGNER": "a step was corrected by someone other than who signed it: the correction is shown, not "
    "applied",
    "E_ATTACHMENT_IO": "a file in the attachments folder cannot be read",
    # trust lists, policies and audits (ocop trust, ocop policy, ocop verify --trust)
    "E_KEY_REVOKED": "the signing key was revoked (lost or stolen): nothing it signed is trusted, whatever date it "
    "claims",
    "E_KEY_RETIRED": "the signing key had been retired before the time this step claims",
    "E_KEY_EXPIRED": "the step claims a time after the end of the signing key's validity window",
    "E_KEY_NOT_YET_VALID": "the step claims a time before the start of the signing key's validity window",
    "E_TRUST_ROLLBACK": "this trust list is older than one already trusted: an old list may still trust stolen keys",
    "E_TRUST_CONFLICT": "two different trust lists claim the same version: the authority contradicted itself",
    "E_TRUST_THRESHOLD": "too few of the authority's keys signed this list (each key counts once)",
    "E_TRUST_EXPIRED": "the trust list has expired: get the authority's current list",
    "E_CRITICAL_FIELD": "the list uses a feature this version of ocop does not understand and must not ignore",
    "E_ENVELOPE": "the file is not a well-formed signed trust list or policy",
    "E_DUPLICATE_KEY": "the same key is listed twice",
    "E_POLICY_AUTHORITY": "the policy is not signed by enough of the trust list's authority keys",
    "E_POLICY_EXPIRED": "the policy has expired",
    "E_POLICY_ROLE": "the step was not signed by a participant in a role the policy allows",
    "E_POLICY_MISSING_STEP": "a step the policy requires does not appear",
    "E_POLICY_ORDER": "a step appears before a step the policy puts first",
    "E_POLICY_DATA": "a key data element the policy requires is missing",
    "E_POLICY_ATTACHMENT": "an attachment the policy requires is missing",
    "E_POLICY_FIELD": "a field the policy requires (such as a location code) is missing",
    "E_POLICY_EXTRA_STEP": "the policy does not allow this step",
    "E_POLICY_THRESHOLD": "too few distinct participants signed a step that needs several",
    "E_POLICY_BATCH_DATA": "no step of the batch carries a data element the policy requires",
    "E_POLICY_PRODUCT": "the policy does not cover this product",
    "E_PINNED_FORK": "the bundle shows a different step than the one you saw before: the history was forked",
    "E_ROLLBACK": "the bundle ends before a step you already saw: later steps are being hidden",
    "E_LINEAGE_DEPTH": "the chain of batches made from batches is deeper than allowed",
    "E_LINEAGE_SIZE": "the lineage holds more batches than allowed",
    "E_PINNED_FORMAT": "the pinned-state file is not valid",
    "E_TRUST_STORE": "the trust store (the trust lists verified before, in $OCOP_HOME/trust) cannot be read or written",
    "E_TRUST_STORE_DAMAGED": "a list remembered in the trust store is damaged: remove that file, then verify again "
    "from the authority's pinned keys",
    "E_TRUST_STORE_NO_ANCHOR": "no list of this authority was verified before: give the authority's public keys",
    "E_TRUST_STORE_AMBIGUOUS": "lists of this name were verified from different keys: give the authority's public keys",
    "E_PINNED_LIST_UNANCHORED": "a pinned list is checked against the authority's keys: a list cannot vouch for itself",
    "E_LOG_MISSING": "there is no proof that this step was published in the portal's transparency log",
    "E_LOG_SIGNATURE": "the transparency log's signature is missing or wrong: the proof is not from this log",
    "E_LOG_ORIGIN": "the proof is from another transparency log than the one expected",
    "E_LOG_WITNESSES": "not enough independent witnesses confirmed the transparency log's state",
    "E_LOG_INCLUSION": "the proof does not show the step in the transparency log",
    "E_LOG_LEAF": "the log entry is about another step than the one in the bundle",
    "E_LOG_CONSISTENCY": "the transparency log rewrote its history: it does not extend what was seen before",
    "E_LOG_ROLLBACK": "the transparency log went back to an older, smaller state",
    "E_LOG_FORK": "the portal's transparency log holds another version of this batch's history",
}

#: What each seal, QR and image code means (``ocop qr``), consulted before :data:`EXPLAIN`.
EXPLAIN_SEAL: Mapping[str, str] = {
    "E_SEAL_PREFIX": "this is not an ocop seal: neither a sealed web link nor OCOP1: text",
    "E_SEAL_MISSING": "the link carries no seal (no ?s= digits): it cannot be verified offline",
    "E_SEAL_TRUNCATED": "the seal is cut short or padded: the code was damaged or altered",
    "E_SEAL_ENCODING": "the seal's digits or characters are damaged or altered",
    "E_SEAL_BATCH": "the seal is for another batch, product or lot than the bundle",
    "E_SEAL_HEAD": "the bundle's history differs from the one that was sealed: it was rewritten",
    "E_SEAL_ROLLBACK": "the bundle's history is shorter than the sealed one: steps were removed (truncated or rolled "
    "back)",
    "E_SEAL_SIGNER": "the seal was signed by a key that signed none of the sealed steps",
    "E_SEAL_FUTURE": "the seal claims a date in the future",
    "E_SEAL_TIME": "the seal is dated before the step it seals",
    "E_SIGNATURE": "the seal's signature does not match its content: the code was altered, or signed by another key",
    "E_UNKNOWN_KEY": "the seal was signed by a key that is not among the trusted keys",
    "E_KEY_REVOKED": "the seal's key is revoked in the trust list: nothing it signed is trusted",
    "E_KEY_RETIRED": "the seal's key was retired before the seal's date",
    "E_KEY_EXPIRED": "the seal's key had expired by the seal's date",
    "E_KEY_NOT_YET_VALID": "the seal's key was not yet valid on the seal's date",
    "E_CONTENT_TYPE": "the code holds a signed object that is not a seal (for example a provenance event)",
    "E_COSE": "the code holds a damaged signed object",
    "E_VERSION": "the seal was made by an unsupported version of the format",
    "E_DL_SYNTAX": "the link is not a well-formed GS1 Digital Link",
    "E_DL_ORDER": "the link's parts are in the wrong order for a GS1 Digital Link",
    "E_DL_QUALIFIER": "the link carries a part that seals do not cover",
    "E_DL_CHARSET": "the link holds characters that GS1 does not allow",
    "E_DL_QUERY": "the link carries unexpected query parameters",
    "E_GTIN": "the link's GTIN is malformed",
    "E_GTIN_CHECK": "the link's GTIN has a wrong check digit: a digit was changed",
    "E_NO_CODE": "no QR code was found in the image: photograph the code closer, flat and in focus",
    "E_MANY_CODES": "the image holds several different QR codes: photograph only one",
    "E_IMAGE_FORMAT": "the image is not a readable PNG or JPEG",
    "E_IMAGE_TOO_LARGE": "the image has too many pixels, or would take too much memory, to be read safely",
    "E_IMAGE_TIMEOUT": "reading the image took too long and was stopped: photograph only the code, closer",
    "E_IMAGE_DECODER": "the separate process that reads images could not start or stopped: try again",
    "E_MISSING_EXTRA": "drawing and reading QR codes needs the qr extra: pip install 'ocop-provenance[qr]'",
    "E_QR_CAPACITY": "the text is too long for a QR code",
    "E_LABEL_MODULE": "the code would print too small for a phone to read: print it larger (larger modules or labels, "
    "fewer lines of text)",
    "E_LABEL_TEXT": "a line of the label does not fit it, or holds a character the embedded font cannot print",
    "E_LABEL_DATE": "the batch's record does not hold the date asked for: give it on the command line",
}


def explain(code: str) -> str | None:
    """The plain-words explanation of ``code``, or None."""
    return EXPLAIN.get(code)


def explain_seal(code: str) -> str | None:
    """The explanation of ``code`` for a seal or QR code (``ocop qr``), falling back to :func:`explain`."""
    return EXPLAIN_SEAL.get(code) or EXPLAIN.get(code)


def explain_error(code: str) -> str | None:
    """The explanation of an error that stopped a command: :func:`explain`'s, else the seal, QR, image or label
    one (an unreadable photo or a label that cannot print has no other)."""
    return EXPLAIN.get(code) or EXPLAIN_SEAL.get(code)
