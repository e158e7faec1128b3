"""The head journal through the CLI: seals and exports are journaled; a rolled-back ledger is refused and mended."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from .conftest import Env, step

R = "https://id.example.vn"


def _journal(env: Env) -> list[list[str]]:
    lines = (env.home / "ledger.sqlite.heads").read_text(encoding="ascii").splitlines()
    assert lines[0] == "ocop-heads 1"
    return [line.split(" ") for line in lines[1:]]


def _batch_with_steps(env: Env) -> str:
    env.new_key("coop")
    batch = env.new_batch()
    assert step(env, batch, "commissioning", "2024-11-01T09:00:00+07:00").exit_code == 0
    assert step(env, batch, "ocop:drying", "2024-11-01T10:00:00+07:00").exit_code == 0
    return batch


def _delete_tail(env: Env, batch: str, from_seq: int) -> None:
    conn = sqlite3.connect(env.home / "ledger.sqlite", isolation_level=None)
    conn.execute("DROP TRIGGER events_no_delete")
    conn.execute("DELETE FROM events WHERE batch_id = ? AND seq >= ?", (bytes.fromhex(batch), from_seq))
    conn.close()


def test_qr_make_journals_the_sealed_head(env: Env, monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("zxingcpp")
    monkeypatch.setenv("OCOP_RESOLVER", R)
    batch = _batch_with_steps(env)
    assert _journal(env) == []
    env.ok("qr", "make", batch, "--key", "coop")
    ((number, purpose, journaled, seq, _, _),) = _journal(env)
    assert (number, purpose, journaled, seq) == ("1", "seal", batch, "2")
    env.ok("qr", "make", batch, "--key", "coop")  # the same head again: journaled once
    assert len(_journal(env)) == 1


def test_a_deleted_tail_is_refused_and_mended_by_import(env: Env) -> None:
    batch = _batch_with_steps(env)
    bundle = env.tmp / "handed-out.ocop"
    env.ok("export", batch, "-o", str(bundle))
    assert [r[1:4] for r in _journal(env)] == [["export", batch, "2"]]
    _delete_tail(env, batch, 2)

    listed = env.run("--json", "batch", "list")
    assert listed.exit_code == 1
    assert json.loads(listed.stdout)["error"]["code"] == "E_LEDGER_ROLLBACK"
    signed = env.run("--json", "step", "add", batch, "--key", "coop", "--step", "shipping", "--at",
                     "2024-11-01T11:00:00+07:00", "--where", "Nghi Sơn")  # fmt: skip
    assert signed.exit_code == 1
    assert json.loads(signed.stdout)["error"]["code"] == "E_LEDGER_ROLLBACK"

    mended = env.run("--json", "import", str(bundle), "--trusted-key", str(env.pem("coop")))
    assert mended.exit_code == 0, mended.stderr
    assert json.loads(mended.stdout)["added"] == 1
    assert json.loads(env.run("--json", "batch", "list").stdout)["batches"][0]["events"] == 3


def test_a_missing_journal_is_started_with_a_warning(env: Env) -> None:
    _batch_with_steps(env)
    (env.home / "ledger.sqlite.heads").unlink()
    listed = env.run("batch", "list")
    assert listed.exit_code == 0
    assert "warning: the head journal" in listed.stderr
    assert "1 batches" in listed.stderr
    assert [r[1] for r in _journal(env)] == ["start"]
    assert "warning" not in env.run("batch", "list").stderr


def test_export_needs_a_journal_that_is_intact(env: Env) -> None:
    batch = _batch_with_steps(env)
    env.ok("export", batch, "-o", str(env.tmp / "a.ocop"))
    journal = env.home / "ledger.sqlite.heads"
    journal.write_text(journal.read_text(encoding="ascii").replace(" export ", " seal "), encoding="ascii")
    assert step(env, batch, "packing", "2024-11-01T12:00:00+07:00").exit_code == 0  # the last record: unchained
    env.ok("export", batch, "-o", str(env.tmp / "b.ocop"))
    lines = journal.read_text(encoding="ascii").splitlines()
    journal.write_text("\n".join([lines[0], lines[1].replace(" 2 ", " 1 ", 1), lines[2]]) + "\n", encoding="ascii")
    broken = env.run("--json", "export", batch, "-o", str(env.tmp / "c.ocop"))
    assert broken.exit_code == 1
    assert json.loads(broken.stdout)["error"]["code"] == "E_JOURNAL_BROKEN"
    assert not Path(env.tmp / "c.ocop").exists()
