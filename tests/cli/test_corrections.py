"""ocop step correct, and what batch show and verify say of corrections; ocop verify --attachments."""

from __future__ import annotations

from pathlib import Path

from .conftest import PLACE, Env, step

REPORT = "Phiếu kết quả thử nghiệm".encode()


def _batch(env: Env) -> str:
    env.new_key("coop")
    env.new_key("lab")
    batch = env.new_batch()
    report = env.tmp / "phieu.pdf"
    report.write_bytes(REPORT)
    assert step(env, batch, "ocop:drying", "2024-11-02T09:00:00+07:00", "--data", "moisture=21.5").exit_code == 0
    assert (
        step(env, batch, "inspecting", "2024-11-03T09:00:00+07:00", "--attach", str(report), key="lab").exit_code == 0
    )
    return batch


def test_a_correction_is_signed_shown_and_verified(env: Env) -> None:
    batch = _batch(env)
    doc = env.json(
        "step", "correct", batch, "--seq", "1", "--key", "coop", "--reason", "Ghi nhầm độ ẩm", "--data",
        "moisture=11.5", "--at", "2024-11-04T09:00:00+07:00",
    )  # fmt: skip
    event = doc["event"]
    assert (event["seq"], event["step"]) == (3, "ocop:correcting")
    assert event["corrects"]["seq"] == 1
    assert event["corrects"]["data"] == {"moisture": "11.5"}
    assert event["location"]["name"] == PLACE  # by default, where the corrected step happened
    shown = env.json("batch", "show", batch)
    assert [(n["seq"], n["by_seq"], n["status"]) for n in shown["corrections"]] == [(1, 3, "in_force")]
    text = env.ok("batch", "show", batch).stdout
    assert "corrected by #3: Ghi nhầm độ ẩm" in text
    assert "corrected moisture = 11.5" in text
    path = env.tmp / "b.ocop"
    env.ok("export", batch, "-o", str(path))
    verified = env.json(
        "verify", str(path), "--trusted-key", str(env.pem("coop")), "--trusted-key", str(env.pem("lab"))
    )
    assert verified["corrections"][0]["reason"] == "Ghi nhầm độ ẩm"


def test_correcting_a_correction_is_refused(env: Env) -> None:
    batch = _batch(env)
    env.ok(
        "step", "correct", batch, "--seq", "1", "--key", "coop", "--reason", "sai", "--at", "2024-11-04T09:00:00+07:00"
    )
    doc = env.json(
        "step", "correct", batch, "--seq", "3", "--key", "coop", "--reason", "sai", "--at",
        "2024-11-04T10:00:00+07:00", code=3,
    )  # fmt: skip
    assert doc["error"]["code"] == "E_CORRECTION_TARGET"


def test_attachments_present_different_and_unreadable(env: Env) -> None:
    batch = _batch(env)
    path = env.tmp / "b.ocop"
    env.ok("export", batch, "-o", str(path))
    keys = ("--trusted-key", str(env.pem("coop")), "--trusted-key", str(env.pem("lab")))
    folder = env.tmp / "files"
    folder.mkdir()
    (folder / "phieu.pdf").write_bytes(REPORT + b"!")
    result = env.run("verify", str(path), *keys, "--attachments", str(folder))
    assert result.exit_code == 1
    assert "DIFFERENT  phieu.pdf" in result.stdout
    (folder / "scan.pdf").write_bytes(REPORT)
    doc = env.json("verify", str(path), *keys, "--attachments", str(folder))
    found = doc["attachments"]["attachments"][0]
    assert (found["status"], found["file"], found["renamed"]) == ("present", "scan.pdf", True)
    unreadable = env.json("verify", str(path), *keys, "--attachments", str(folder / "nowhere"), code=3)
    assert unreadable["error"]["code"] == "E_ATTACHMENT_IO"


def test_attachments_go_with_trusted_keys(env: Env, tmp_path: Path) -> None:
    result = env.run("verify", str(tmp_path / "b.ocop"), "--trust", str(tmp_path / "t"), "--attachments", str(tmp_path))
    assert result.exit_code == 2
    assert "--attachments goes with --trusted-key" in result.stderr
