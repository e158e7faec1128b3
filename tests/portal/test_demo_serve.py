"""``ocop demo --serve`` leaves a portal running with the demo published and prints a product page's URL."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx


def test_demo_serve(tmp_path: Path) -> None:
    env = {**os.environ, "OCOP_HOME": str(tmp_path / "home"), "PYTHONUNBUFFERED": "1", "TMPDIR": str(tmp_path)}
    env.pop("OCOP_PASSPHRASE", None)
    with subprocess.Popen(
        [sys.executable, "-m", "ocop_cli", "demo", "--serve"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        env=env,
        text=True,
        encoding="utf-8",
    ) as proc:
        _check(proc)
    assert proc.returncode == 0
    assert not list(tmp_path.glob("ocop-demo-*"))  # the demo's directory is removed when it stops


def _check(proc: subprocess.Popen[str]) -> None:
    try:
        assert proc.stdout is not None
        page = None
        deadline = time.monotonic() + 120
        lines = []
        while page is None and time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            lines.append(line)
            m = re.search(r"(http://127\.0\.0\.1:\d+/01/\S+)", line)
            page = m.group(1) if m else None
        assert page is not None, "".join(lines)
        r = httpx.get(page, headers={"accept": "text/html"}, timeout=30)
        assert r.status_code == 200
        assert 'data-code="SEAL_OK"' in r.text
        assert "Đông trùng hạ thảo sấy khô" in r.text
        assert "HTX Đông trùng hạ thảo Nghi Sơn" in r.text
        assert "/files/" in r.text  # the lab report was published with the bundle
        catalogue = httpx.get(page.split("/01/")[0] + "/", timeout=30)
        assert "Đông trùng hạ thảo tươi" in catalogue.text
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
