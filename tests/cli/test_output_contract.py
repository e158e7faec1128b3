"""The output contract (docs/cli.md §JSON, ADR 0051): one document built from the result, the error members,
and text and JSON that agree on positions and rule numbers."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click
import ocop_provenance as op
import pytest

from ocop_cli.context import CliError, ExitCode
from ocop_cli.render import ErrorReport, JsonDict, Result, Text, document, lines
from ocop_cli.render.explain import EXPLAIN, EXPLAIN_SEAL

GOLDEN = Path(__file__).parent / "golden"
ERROR_MEMBERS = (
    "code",
    "message",
    "index",
    "position",
    "batch_id",
    "seq",
    "event_id",
    "key_id",
    "field",
    "explanation",
)
#: The members of the library's own error JSON (ProvenanceError.to_dict), as an audit report carries them.
LIBRARY_ERROR_MEMBERS = ("code", "message", "position", "batch_id", "seq", "event_id", "key_id", "field")


def _goldens() -> list[tuple[str, dict[str, Any], str]]:
    out = []
    for path in sorted(GOLDEN.glob("*.json")):
        text = path.with_suffix(".txt").read_text(encoding="utf-8")
        out.append((path.stem, json.loads(path.read_text(encoding="utf-8")), text))
    return out


def _errors(doc: object) -> list[dict[str, Any]]:
    """Every member named ``error`` or ``failure`` holding an object, anywhere in the document."""
    found = []
    if isinstance(doc, dict):
        for name, value in doc.items():
            if name in ("error", "failure") and isinstance(value, dict):
                found.append(value)
            found.extend(_errors(value))
    elif isinstance(doc, list):
        for value in doc:
            found.extend(_errors(value))
    return found


def test_the_goldens_cover_errors_of_every_kind() -> None:
    codes = {e["code"] for _, doc, _ in _goldens() for e in _errors(doc)}
    # a library error, a CLI error, an I/O error, verdicts of verify, trust verify and qr verify
    assert {"E_NOT_FOUND", "E_NO_KEY", "E_IO", "E_SIGNATURE", "E_TRUST_ROLLBACK", "E_UNKNOWN_KEY"} <= codes


@pytest.mark.parametrize(("name", "doc", "text"), _goldens(), ids=[g[0] for g in _goldens()])
def test_every_error_object_has_the_documented_members(name: str, doc: dict[str, Any], text: str) -> None:
    assert list(doc)[:3] == ["schema", "command", "ok"]
    for error in _errors(doc):
        if error is doc.get("error"):
            assert all(m in error for m in ERROR_MEMBERS), (name, error)
            assert list(error)[:2] == ["code", "message"]
        else:  # the library's audit report carries the library's error fields
            assert all(m in error for m in LIBRARY_ERROR_MEMBERS), (name, error)
    if not doc["ok"]:
        assert doc["exit_code"] == int(re.search(r"^exit (\d+)$", text, re.MULTILINE).group(1))  # type: ignore[union-attr]
    else:
        assert "exit_code" not in doc


def _where(doc: dict[str, Any]) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """(where, error) pairs: a failed verify's error, or each audit's where and its report's failure."""
    if "audits" in doc:
        return [(a["where"], a["report"]["failure"]) for a in doc["audits"] if a["where"] is not None]
    error = doc.get("error")
    return [(error, error)] if error is not None and "bundle_index" in error else []


def test_text_and_json_name_the_same_event_of_the_bundle() -> None:
    checked = 0
    for name, doc, text in _goldens():
        for where, error in _where(doc):
            n = where["bundle_index"]
            if n is None:  # not about one event (another batch than expected, a damaged header)
                assert "of the bundle" not in text, name
                continue
            assert error["position"] == n, name  # the library's position and the CLI's agree
            assert f"event #{n} of the bundle" in text, name
            assert f"step #{where['seq']}" in text, name
            checked += 1
    assert checked >= 4


def test_rules_are_numbered_from_one_as_policy_inspect_lists_them() -> None:
    inspect = (GOLDEN / "policy-inspect-signed.txt").read_text(encoding="utf-8")
    listed = dict(re.findall(r"^    (\d+)\. (\S+)", inspect, re.MULTILINE))
    doc = json.loads((GOLDEN / "verify-trust-findings.json").read_text(encoding="utf-8"))
    text = (GOLDEN / "verify-trust-findings.txt").read_text(encoding="utf-8")
    findings = doc["audits"][0]["report"]["findings"]
    assert {f["rule"] for f in findings} == {"steps[1]", "steps[3]"}
    for f in findings:
        number = int(f["rule"][6:-1]) + 1
        assert listed[str(number)] == f["step"]  # rule N of policy inspect is the rule that failed
        assert f"rule {number}" in text
        assert f["rule"] not in text


@dataclass(frozen=True, slots=True)
class _Verdict(Result):
    good: bool
    with_error: bool

    @property
    def ok(self) -> bool:
        return self.good

    def to_json(self) -> JsonDict:
        members: JsonDict = {"verified": self.good, "thing": "x"}
        if self.with_error:
            members["error"] = {"code": "E_X"}
        return members

    def to_text(self) -> Text:
        return lines("VERIFIED" if self.good else "NOT VERIFIED")


def test_the_document_is_the_envelope_around_to_json() -> None:
    ok = document(_Verdict(good=True, with_error=False), "demo")
    assert ok == {"schema": "ocop.cli/1", "command": "demo", "ok": True, "verified": True, "thing": "x"}
    failed = document(_Verdict(good=False, with_error=True), "verify")
    assert list(failed) == ["schema", "command", "ok", "verified", "thing", "exit_code", "error"]
    assert failed["exit_code"] == 1
    finding = document(_Verdict(good=False, with_error=False), "verify")
    assert list(finding)[-1] == "exit_code"


@pytest.mark.parametrize(
    ("exc", "code", "explained"),
    [
        (op.NotFoundError("no batch id starts with abc", field="batch"), "E_NOT_FOUND", True),
        (CliError("the passphrase must not be empty", code="E_PASSPHRASE"), "E_PASSPHRASE", True),
        (CliError("no public key named x", code="E_NO_KEY"), "E_NO_KEY", False),
        (FileNotFoundError(2, "No such file or directory", "/nowhere"), "E_IO", False),
        (RuntimeError("bug"), "E_INTERNAL", False),
    ],
)
def test_every_error_has_the_same_members(exc: BaseException, code: str, explained: bool) -> None:
    report = ErrorReport(exc, ExitCode.BAD_INPUT)
    doc = document(report, "x")
    error = doc["error"]
    assert list(error)[:6] == list(ERROR_MEMBERS[:6])
    assert error["code"] == code
    assert (error["explanation"] is not None) == explained
    assert doc["exit_code"] == 3
    (line,) = report.to_text().err
    assert line.startswith("error: ")
    assert f"[{code}]" in line
    assert ("\n       (" in line) == explained  # the text says in words what the JSON explains


def test_emit_exits_with_the_results_code() -> None:
    from click.testing import CliRunner

    from ocop_cli.context import Context
    from ocop_cli.render import Output

    @click.command()
    def command() -> None:
        Output(Context(home=Path("/nonexistent"))).emit(_Verdict(good=False, with_error=False))

    result = CliRunner().invoke(command)
    assert result.exit_code == 1
    assert result.stdout == "NOT VERIFIED\n"


#: Codes a CLI user cannot meet: base-class codes (a subclass's code is raised instead) and a caller's programming
#: mistakes (a Signer that returns a bad signature, writing a too-deep value, a closed or nested ledger handle); and
#: E_IO, whose message is the operating system's own words naming the file.
NOT_USER_FACING = {
    "E_IO",
    "E_PROVENANCE", "E_FORMAT", "E_VERIFY", "E_CHAIN", "E_TRUST", "E_AUDIT", "E_POLICY", "E_LOG",
    "E_DEPTH", "E_SIGNER", "E_SEAL_MISMATCH", "E_CLOSED", "E_NESTED",
}  # fmt: skip


def test_every_error_code_a_user_can_meet_is_explained() -> None:
    missing = [
        c.value
        for c in op.ErrorCode
        if c.value not in NOT_USER_FACING and c.value not in EXPLAIN and c.value not in EXPLAIN_SEAL
    ]
    assert missing == []
