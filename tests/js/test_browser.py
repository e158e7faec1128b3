"""The JavaScript verifier runs unchanged in a browser: headless Chromium, when it is installed.

tests/js/browser.html (served from the repository over HTTP, as ES modules need) verifies the committed bundle vector
and judges every invalid vector and every fixture with the modules the consumer page loads; the page's verdicts must
be the expected ones, and Chromium must have Ed25519 in WebCrypto. Chromium comes from the system packages
(docs/js-verifier.md); without it this test is skipped.
"""

from __future__ import annotations

import functools
import html
import json
import re
import shutil
import subprocess
import tempfile
import threading
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tests.portal.conftest import require

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - the base class's name
        pass


@pytest.fixture
def server() -> Iterator[str]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_QuietHandler, directory=str(ROOT)))
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()


def test_the_verifier_runs_in_chromium(server: str) -> None:
    if CHROMIUM is None:
        require("Chromium", "the verifier is run in a real browser")
    assert CHROMIUM is not None
    with tempfile.TemporaryDirectory() as profile:
        page = subprocess.run(
            [
                CHROMIUM,
                "--headless=new",
                "--no-sandbox",
                "--disable-gpu",
                f"--user-data-dir={profile}",
                "--virtual-time-budget=120000",
                "--dump-dom",
                f"{server}/tests/js/browser.html",
            ],
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        ).stdout
    found = re.search(r'<pre id="out">(.*?)</pre>', page, re.DOTALL)
    assert found is not None, page[-2000:]
    out = json.loads(html.unescape(found.group(1)))
    assert "error" not in out, out.get("error")
    assert out["support"] == {"supported": True}
    assert out["bundle"] == ["OK", 6, "Đông trùng hạ thảo sấy khô"]
    assert out["disagree"] == []
    assert out["agree"] == out["total"] > 80
