"""What each error code means, in words an auditor understands: the one lookup of plain-words explanations."""

from __future__ import annotations

from collections.abc import Mapping

from ..i18n import N_, gettext

__all__ = ["EXPLAIN", "EXPLAIN_SEAL", "explain", "explain_error", "explain_seal"]

#: What each error code means, in words an auditor understands (English: :func:`explain` translates).
EXPLAIN: Mapping[str, str] = {
    "E_SIGNATURE": N_("the signature does not match the recorded content: the record was changed after it was signed"),
    "E_UNKNOWN_KEY": N_(
        "it was signed by a key that is not among the trusted keys you gave (or not in the trust list)"
    ),
    "E_GENESIS": N_("the batch's history does not start with the event that opened the batch"),
    "E_BATCH": N_("the event belongs to another batch than the one being checked"),
    "E_SEQ": N_("events are missing or out of order in the batch's history"),
    "E_DUPLICATE": N_("the same event appears twice"),
    "E_FORK": N_("two different signed versions of the same step exist: the history was forked"),
    "E_LINK": N_("the event does not link to the event before it: something was removed, inserted or replaced"),
    "E_TIME": N_("the event claims a time earlier than the step before it"),
    "E_FUTURE": N_("the event claims a time in the future"),
    "E_EMPTY": N_("the batch has no events"),
    "E_INPUT_MISSING": N_("a step says it used another batch, but that batch's records are not in the bundle"),
    "E_INPUT_HEAD": N_("a step says it used another batch at a point in its history that the bundle does not show"),
    "E_HEADER_MISMATCH": N_(
        "the bundle's table of contents (its batches, heads or list of signers' keys) does not match "
        "the events it holds"
    ),
    "E_BUNDLE": N_("the file is not a well-formed ocop bundle"),
    "E_BUNDLE_EXTRA": N_("the bundle holds a batch that nothing in it used"),
    "E_BUNDLE_ORDER": N_("the batches in the bundle are in the wrong order"),
    "E_TRUNCATED": N_("the file is cut short: events are missing at the end"),
    "E_TRAILING": N_("there is extra data after the last event"),
    "E_VERSION": N_("the bundle was written by an unsupported version of the format"),
    "E_SIZE": N_("an item is larger than the format allows"),
    "E_CBOR": N_("the bytes are damaged: they are not valid CBOR"),
    "E_NONCANONICAL": N_("the bytes are not in their one canonical form: they were changed after signing"),
    "E_SCHEMA": N_("the event's content is not in the expected structure: it was damaged or altered"),
    "E_FIELD": N_("a field of the event holds an invalid value: it was damaged or altered"),
    "E_COSE": N_("the signed envelope is damaged or not of the accepted kind"),
    "E_TYPE": N_("the signed object is not a provenance event"),
    "E_CONTENT_TYPE": N_("the signed object is not a provenance event"),
    "E_ALG": N_("the signature uses an algorithm that is not accepted"),
    "E_CRIT": N_("the signed object needs an extension this verifier does not know"),
    "E_UNPROTECTED": N_("the envelope carries unsigned header data, which is not accepted"),
    "E_WEAK_KEY": N_("a key is weak or malformed and can never be trusted"),
    "E_KEY_FORMAT": N_("a key is not a valid Ed25519 key"),
    "E_TAMPERED": N_("the stored record no longer matches what was signed: the ledger was edited outside ocop"),
    "E_PASSPHRASE": N_("the passphrase is missing or wrong"),
    "E_KEY_PERMS": N_("the key file can be read by other users; restrict it with chmod 600"),
    "E_NOT_FOUND": N_("there is no such batch or key"),
    "E_AMBIGUOUS": N_("several batches start with that prefix: give more characters"),
    "E_CONFLICT": N_("another program added to the batch at the same moment: run the command again"),
    "E_STORE": N_("the ledger cannot be read or written"),
    "E_BUSY": N_("another program kept the ledger locked: run the command again when it has finished"),
    "E_READ_ONLY": N_("the ledger's directory cannot be written"),
    "E_CANT_OPEN": N_("the ledger cannot be opened"),
    "E_NOT_LEDGER": N_("the ledger file is not an ocop ledger"),
    "E_CORRUPT": N_("the ledger file is damaged: restore it from a backup"),
    "E_DISK_FULL": N_("the disk is full: nothing was written"),
    "E_LINEAGE_CYCLE": N_("a batch cannot be made, directly or indirectly, from itself"),
    "E_CORRECTION_TARGET": N_(
        "a correction names a step that is not in this batch's history as it names it (or names "
        "another correction): it was altered or made for another record"
    ),
    "E_CORRECTION_SIGNER": N_(
        "a step was corrected by someone other than who signed it: the correction is shown, not applied"
    ),
    "E_ATTACHMENT_IO": N_("a file in the attachments folder cannot be read"),
    "E_NOT_A_FORK": N_("the two events of the proof are the same event, or are not at the same place of one batch"),
    "E_APPEND_ONLY": N_("the ledger refused to change or delete a stored event: the record only grows"),
    "E_LEDGER_ROLLBACK": N_(
        "the ledger no longer holds a step it already handed out (exported, sealed or published): rows were deleted or "
        "an old backup was restored. Restore the newer ledger, or import a bundle that holds that step"
    ),
    "E_HEAD_HANDED_OUT": N_(
        "a step with this number was already handed out (exported, sealed or published) and the ledger no longer holds "
        "it: signing another one there would make two histories. Restore the newer ledger first"
    ),
    "E_JOURNAL_BROKEN": N_(
        "the head journal (ledger.sqlite.heads) is damaged or was replaced: restore it from the backup made with the "
        "ledger"
    ),
    "E_LABELS_EMPTY": N_("there is nothing to print: ask for at least one label"),
    "E_QR_LEVEL": N_("the error-correction level must be L, M, Q or H"),
    "E_SEAL_INPUT": N_("a seal is made from a batch's opening event and one of its later steps"),
    # the transparency log of published heads (ocop publish, verify --log-key, witness, monitor; docs/transparency.md)
    "E_NOTE": N_("a signed note, log proof or witness request is malformed"),
    "E_CHECKPOINT": N_("a checkpoint of the transparency log is malformed"),
    "E_LOG_RANGE": N_("a tree size or leaf index outside the log was asked for"),
    "E_VKEY": N_("a log or witness key is malformed, or does not match its name and hash"),
    "E_LOG_SIGNATURE": N_("the transparency log's signature is missing or wrong: the proof is not from this log"),
    "E_LOG_ORIGIN": N_("the proof is from another transparency log than the one expected"),
    "E_LOG_EMPTY_ROOT": N_("an empty log's checkpoint has a wrong root"),
    "E_LOG_WITNESSES": N_("not enough independent witnesses confirmed the transparency log's state"),
    "E_LOG_LEAF": N_("the log entry is about another step than the one in the bundle"),
    "E_LOG_INCLUSION": N_("the proof does not show the step in the transparency log"),
    "E_LOG_CONSISTENCY": N_("the transparency log rewrote its history: it does not extend what was seen before"),
    "E_LOG_ROLLBACK": N_("the transparency log went back to an older, smaller state"),
    "E_LOG_FORK": N_("the portal's transparency log holds another version of this batch's history"),
    "E_WITNESS_CONFLICT": N_("the witness holds another checkpoint size than the log assumed: the log must ask again"),
    "E_LOG_STORE": N_("the log's stored hashes are inconsistent: the log's database is damaged"),
    # GS1 EPCIS 2.0 (ocop export --epcis, ocop step import)
    "E_EPCIS_JSON": N_(
        "the file is not a readable EPCIS document: not JSON, too large, a key written twice, or nested too deeply"
    ),
    "E_EPCIS_FIELD": N_("a field of the EPCIS document holds a value ocop does not accept (the field is named)"),
    "E_EPCIS_UNSUPPORTED": N_(
        "the EPCIS document uses something a signed ocop step cannot carry (the field is named; see docs/epcis.md)"
    ),
    "E_EPCIS_HASH": N_(
        "an EPCIS event's eventID is not its GS1 event hash: the event was changed after it was exported"
    ),
    "E_EPCIS_UNSIGNED": N_("an EPCIS event is backed by no signed event of the bundle"),
    "E_EPCIS_MISMATCH": N_(
        "an EPCIS event says something other than the signed event it names: it was changed after it was exported"
    ),
    # trust lists, policies and audits (ocop trust, ocop policy, ocop verify --trust)
    "E_KEY_REVOKED": N_(
        "the signing key was revoked (lost or stolen): nothing it signed is trusted, whatever date it claims"
    ),
    "E_KEY_RETIRED": N_("the signing key had been retired before the time this step claims"),
    "E_KEY_EXPIRED": N_("the step claims a time after the end of the signing key's validity window"),
    "E_KEY_NOT_YET_VALID": N_("the step claims a time before the start of the signing key's validity window"),
    "E_TRUST_ROLLBACK": N_(
        "this trust list is older than one already trusted: an old list may still trust stolen keys"
    ),
    "E_TRUST_CONFLICT": N_("two different trust lists claim the same version: the authority contradicted itself"),
    "E_TRUST_THRESHOLD": N_("too few of the authority's keys signed this list (each key counts once)"),
    "E_TRUST_EXPIRED": N_("the trust list has expired: get the authority's current list"),
    "E_CRITICAL_FIELD": N_("the list uses a feature this version of ocop does not understand and must not ignore"),
    "E_ENVELOPE": N_("the file is not a well-formed signed trust list or policy"),
    "E_DUPLICATE_KEY": N_("the same key is listed twice"),
    "E_POLICY_AUTHORITY": N_("the policy is not signed by enough of the trust list's authority keys"),
    "E_POLICY_EXPIRED": N_("the policy has expired"),
    "E_POLICY_ROLE": N_("the step was not signed by a participant in a role the policy allows"),
    "E_POLICY_MISSING_STEP": N_("a step the policy requires does not appear"),
    "E_POLICY_ORDER": N_("a step appears before a step the policy puts first"),
    "E_POLICY_DATA": N_("a key data element the policy requires is missing"),
    "E_POLICY_ATTACHMENT": N_("an attachment the policy requires is missing"),
    "E_POLICY_FIELD": N_("a field the policy requires (such as a location code) is missing"),
    "E_POLICY_EXTRA_STEP": N_("the policy does not allow this step"),
    "E_POLICY_THRESHOLD": N_("too few distinct participants signed a step that needs several"),
    "E_POLICY_BATCH_DATA": N_("no step of the batch carries a data element the policy requires"),
    "E_POLICY_PRODUCT": N_("the policy does not cover this product"),
    "E_POLICY_DATA_VALUE": N_(
        "a key data element the policy requires holds a value it does not accept (blank, of the "
        "wrong kind, or out of range)"
    ),
    "E_CLAIM_MISMATCH": N_(
        "the record claims a producer name, place code or GLN that the trust list does not give to whoever signed it"
    ),
    "E_GTIN_NOT_OWNED": N_(
        "the product's GTIN belongs to none of the signer's GS1 Company Prefixes in the trust list: it "
        "is someone else's product"
    ),
    "E_PINNED_FORK": N_("the bundle shows a different step than the one you saw before: the history was forked"),
    "E_ROLLBACK": N_("the bundle ends before a step you already saw: later steps are being hidden"),
    "E_LINEAGE_DEPTH": N_("the chain of batches made from batches is deeper than allowed"),
    "E_LINEAGE_SIZE": N_("the lineage holds more batches than allowed"),
    "E_PINNED_FORMAT": N_("the pinned-state file is not valid"),
    "E_TRUST_STORE": N_(
        "the trust store (the trust lists verified before, in $OCOP_HOME/trust) cannot be read or written"
    ),
    "E_TRUST_STORE_DAMAGED": N_(
        "a list remembered in the trust store is damaged: remove that file, then verify again "
        "from the authority's pinned keys"
    ),
    "E_TRUST_STORE_NO_ANCHOR": N_("no list of this authority was verified before: give the authority's public keys"),
    "E_TRUST_STORE_AMBIGUOUS": N_(
        "lists of this name were verified from different keys: give the authority's public keys"
    ),
    "E_PINNED_LIST_UNANCHORED": N_(
        "a pinned list is checked against the authority's keys: a list cannot vouch for itself"
    ),
    "E_LOG_MISSING": N_("there is no proof that this step was published in the portal's transparency log"),
}

#: What each seal, QR and image code means (``ocop qr``), consulted before :data:`EXPLAIN`.
EXPLAIN_SEAL: Mapping[str, str] = {
    "E_SEAL_PREFIX": N_("this is not an ocop seal: neither a sealed web link nor OCOP1: text"),
    "E_SEAL_MISSING": N_("the link carries no seal (no ?s= digits): it cannot be verified offline"),
    "E_SEAL_TRUNCATED": N_("the seal is cut short or padded: the code was damaged or altered"),
    "E_SEAL_ENCODING": N_("the seal's digits or characters are damaged or altered"),
    "E_SEAL_BATCH": N_("the seal is for another batch, product or lot than the bundle"),
    "E_SEAL_HEAD": N_("the bundle's history differs from the one that was sealed: it was rewritten"),
    "E_SEAL_ROLLBACK": N_(
        "the bundle's history is shorter than the sealed one: steps were removed (truncated or rolled back)"
    ),
    "E_SEAL_SIGNER": N_("the seal was signed by a key that signed none of the sealed steps"),
    "E_SEAL_FUTURE": N_("the seal claims a date in the future"),
    "E_SEAL_TIME": N_("the seal is dated before the step it seals"),
    "E_SEAL_ROLE": N_(
        "the seal's signer may not seal products: the trust list gives them another role (producers seal, "
        "or the roles the policy names)"
    ),
    "E_GTIN_NOT_OWNED": N_(
        "the seal names a GTIN that belongs to none of its signer's GS1 Company Prefixes in the trust "
        "list: someone else's product"
    ),
    "E_CLAIM_MISMATCH": N_(
        "the sealed record claims a producer, place code or GLN that the trust list does not give to whoever signed it"
    ),
    "E_SIGNATURE": N_(
        "the seal's signature does not match its content: the code was altered, or signed by another key"
    ),
    "E_UNKNOWN_KEY": N_("the seal was signed by a key that is not among the trusted keys"),
    "E_KEY_REVOKED": N_("the seal's key is revoked in the trust list: nothing it signed is trusted"),
    "E_KEY_RETIRED": N_("the seal's key was retired before the seal's date"),
    "E_KEY_EXPIRED": N_("the seal's key had expired by the seal's date"),
    "E_KEY_NOT_YET_VALID": N_("the seal's key was not yet valid on the seal's date"),
    "E_CONTENT_TYPE": N_("the code holds a signed object that is not a seal (for example a provenance event)"),
    "E_COSE": N_("the code holds a damaged signed object"),
    "E_VERSION": N_("the seal was made by an unsupported version of the format"),
    "E_DL_SYNTAX": N_("the link is not a well-formed GS1 Digital Link"),
    "E_DL_ORDER": N_("the link's parts are in the wrong order for a GS1 Digital Link"),
    "E_DL_QUALIFIER": N_("the link carries a part that seals do not cover"),
    "E_DL_CHARSET": N_("the link holds characters that GS1 does not allow"),
    "E_DL_QUERY": N_("the link carries unexpected query parameters"),
    "E_GTIN": N_("the link's GTIN is malformed"),
    "E_GTIN_CHECK": N_("the link's GTIN has a wrong check digit: a digit was changed"),
    "E_NO_CODE": N_("no QR code was found in the image: photograph the code closer, flat and in focus"),
    "E_MANY_CODES": N_("the image holds several different QR codes: photograph only one"),
    "E_IMAGE_FORMAT": N_("the image is not a readable PNG or JPEG"),
    "E_IMAGE_TOO_LARGE": N_("the image has too many pixels, or would take too much memory, to be read safely"),
    "E_IMAGE_TIMEOUT": N_("reading the image took too long and was stopped: photograph only the code, closer"),
    "E_IMAGE_DECODER": N_("the separate process that reads images could not start or stopped: try again"),
    "E_MISSING_EXTRA": N_(
        "drawing and reading QR codes needs the qr extra. In the ocop-provenance source directory: "
        'python3 tasks.py build && pipx install --force "$(ls dist/ocop_provenance-*.whl)[cli,qr]" (or, in the '
        "environment ocop runs in: python3 -m pip install '.[cli,qr]')"
    ),
    "E_QR_CAPACITY": N_("the text is too long for a QR code"),
    "E_LABEL_MODULE": N_(
        "the code would print too small for a phone to read: print it larger (larger modules or labels, "
        "fewer lines of text)"
    ),
    "E_LABEL_TEXT": N_("a line of the label does not fit it, or holds a character the embedded font cannot print"),
    "E_LABEL_DATE": N_("the batch's record does not hold the date asked for: give it on the command line"),
}


def explain(code: str) -> str | None:
    """The plain-words explanation of ``code`` in the language of the run, or None."""
    return _translated(EXPLAIN.get(code))


def explain_seal(code: str) -> str | None:
    """The explanation of ``code`` for a seal or QR code (``ocop qr``), falling back to :func:`explain`."""
    return _translated(EXPLAIN_SEAL.get(code) or EXPLAIN.get(code))


def explain_error(code: str) -> str | None:
    """The explanation of an error that stopped a command: :func:`explain`'s, else the seal, QR, image or label
    one (an unreadable photo or a label that cannot print has no other)."""
    return _translated(EXPLAIN.get(code) or EXPLAIN_SEAL.get(code))


def _translated(text: str | None) -> str | None:
    return None if text is None else gettext(text)
