"""The phone's own check (issue 12): static/js/page.js verifies the page's material in headless Chromium.

A valid unit's page shows the in-browser verdict with the signers named as the trust list names them; the same page
with one bit of one event altered on the way (a test-only middleware, below: the portal itself is unchanged) shows
the in-browser failure while the server-rendered verdict still says "verified"; a browser without Ed25519 in
WebCrypto (a test hook that removes it) is told plainly that it could not check; after a first visit, with the
portal down, a reload shows the saved page checked again from the saved material. Also: a log receipt verified
and one altered; the pinned authority followed through two rotations; the demo's page with the phone's own clock.
The page's clock is otherwise pinned to the test world's time (its trust list and keys are dated around it). SQLite
only: the check runs in the browser, and tests/portal/test_browser.py already covers both databases.
"""

from __future__ import annotations

import base64
import dataclasses
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import ocop_provenance as op
import pytest
from ocop_provenance import tlog
from ocop_provenance.trust import AuthorityPin, TrustList, sign_trust_list

from .conftest import Live, require, serve
from .test_browser import CHROMIUM, DRIVER, _driver
from .world import NOW, World, key

LOG_KEY = key(60)

PIN_CLOCK = """(() => {
  const fixed = FIXED;
  const Real = Date;
  class PinnedDate extends Real {
    constructor(...args) { super(...(args.length ? args : [fixed])); }
    static now() { return fixed; }
  }
  globalThis.Date = PinnedDate;
})();""".replace("FIXED", str(int(NOW.timestamp() * 1000)))

# What a browser without Ed25519 in WebCrypto does: importKey refuses the algorithm.
NO_ED25519 = """(() => {
  const subtle = globalThis.crypto.subtle;
  const importKey = subtle.importKey.bind(subtle);
  subtle.importKey = (format, key, algorithm, ...rest) => {
    const name = typeof algorithm === "string" ? algorithm : algorithm?.name;
    if (String(name).toLowerCase() === "ed25519") {
      return Promise.reject(new DOMException("Unrecognized algorithm name", "NotSupportedError"));
    }
    return importKey(format, key, algorithm, ...rest);
  };
})();"""

DONE = """const s = document.getElementById("browser-verdict");
return s && s.dataset.state && s.dataset.state !== "checking" ? s.dataset.state : null;"""


class RewriteAnswer:
    """Test-only ASGI middleware: the portal's answers to some paths, rewritten on their way to the browser."""

    def __init__(self, app: Any, matches: Callable[[str], bool], rewrite: Callable[[bytes], bytes]) -> None:
        self.app, self.matches, self.rewrite = app, matches, rewrite

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or not self.matches(scope["path"]):
            await self.app(scope, receive, send)
            return
        start: dict[str, Any] = {}
        chunks: list[bytes] = []

        async def rewritten(message: Any) -> None:
            if message["type"] == "http.response.start":
                start.update(message)
                return
            chunks.append(message.get("body", b""))
            if message.get("more_body"):
                return
            body = self.rewrite(b"".join(chunks))
            headers = [(k, v) for k, v in start["headers"] if k.lower() != b"content-length"]
            await send({**start, "headers": [*headers, (b"content-length", str(len(body)).encode())]})
            await send({"type": "http.response.body", "body": body})

        await self.app(scope, receive, rewritten)


def _rewriting(matches: Callable[[str], bool], rewrite: Callable[[bytes], bytes]) -> Callable[[Any], RewriteAnswer]:
    """A ``wrap`` for :func:`serve`: answers to the paths ``matches`` accepts go through ``rewrite``."""
    return lambda app: RewriteAnswer(app, matches, rewrite)


def _material(change: Callable[[dict[str, Any]], None]) -> Callable[[bytes], bytes]:
    """A rewrite of the JSON of ``/api/v1/batches/{id}/material`` (the page's signed material)."""

    def rewrite(body: bytes) -> bytes:
        material = json.loads(body)
        change(material)
        return json.dumps(material).encode()

    return rewrite


def _flip_one_event_bit(material: dict[str, Any]) -> None:
    # The moisture the laboratory signed is in one event only; the server-rendered page never sees the change.
    bundle = bytearray(base64.b64decode(material["bundle"]))
    at = bundle.index(b"11.8") + 3
    assert bundle.count(b"11.8") == 1
    bundle[at] ^= 0x01  # '8' (0x38) -> '9' (0x39): one bit
    material["bundle"] = base64.b64encode(bytes(bundle)).decode("ascii")


def _flip_one_proof_bit(material: dict[str, Any]) -> None:
    receipt = tlog.Receipt.from_bytes(base64.b64decode(material["receipt"]))
    proof = list(receipt.proof)
    proof[0] = bytes([proof[0][0] ^ 0x01]) + proof[0][1:]
    receipt = dataclasses.replace(receipt, proof=tuple(proof))
    material["receipt"] = base64.b64encode(receipt.to_bytes()).decode("ascii")


def _rename_the_product(page: bytes) -> bytes:
    signed = 'data-signed="name">Đông trùng hạ thảo sấy khô<'.encode()
    assert page.count(signed) == 1
    return page.replace(signed, 'data-signed="name">Sâm Ngọc Linh<'.encode())


def _is_material(path: str) -> bool:
    return path.endswith("/material")


#: One bit of one event in the material's bundle flipped ("11.8" becomes "11.9").
AlterOneEventByte = _rewriting(_is_material, _material(_flip_one_event_bit))
#: One bit of the log receipt's inclusion proof flipped.
AlterTheReceipt = _rewriting(_is_material, _material(_flip_one_proof_bit))
#: The HTML page names another product; the signed material is left as it is.
RenameTheProduct = _rewriting(lambda path: path.startswith("/01/"), _rename_the_product)


def _portal(tmp_path: Path, world: World, wrap: Any = None, **settings: Any) -> Iterator[Live]:
    """A portal on SQLite holding the world's batches."""
    for live in serve(str(tmp_path / "portal.sqlite"), world, wrap, **settings):
        assert live.client.put("/api/v1/trust-list", content=world.trust_v1).status_code == 200
        assert live.client.put("/api/v1/policies/vn.ocop/dried-cordyceps", content=world.policy).status_code == 200
        assert live.publish(world.bundle()).status_code == 201
        yield live


@pytest.fixture
def portal(tmp_path: Path, world: World) -> Iterator[Live]:
    yield from _portal(tmp_path, world)


@pytest.fixture
def altered(tmp_path: Path, world: World) -> Iterator[Live]:
    yield from _portal(tmp_path, world, AlterOneEventByte)


def _chromium(*scripts: str) -> Iterator[Any]:
    if CHROMIUM is None or DRIVER is None:
        require("Chromium and chromedriver", "the phone's check runs in a real browser")
    driver = _driver(log_requests=False)  # these tests read the console, not the network log
    try:
        for source in scripts:
            driver.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": source})
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(driver.profile_dir, ignore_errors=True)


@pytest.fixture(scope="module")
def _phone_browser() -> Iterator[Any]:
    yield from _chromium(PIN_CLOCK)


@pytest.fixture
def phone(_phone_browser: Any) -> Iterator[Any]:
    """The phone's browser, started once for the module (1.5 s a start); each test begins with none of the data
    that the pages of earlier tests kept (service worker, caches, storage: the portals' origins are cleared) and
    with an empty log."""
    driver = _phone_browser
    driver.visited = set()
    driver.get("about:blank")
    driver.get_log("browser")
    try:
        yield driver
    finally:
        driver.get("about:blank")
        for origin in driver.visited:
            driver.execute_cdp_cmd("Storage.clearDataForOrigin", {"origin": origin, "storageTypes": "all"})


@pytest.fixture
def old_phone() -> Iterator[Any]:
    yield from _chromium(PIN_CLOCK, NO_ED25519)


def _checked(driver: Any, url: str | None = None) -> Any:
    """Open ``url`` (or reload), wait for the in-browser check to finish, return its section."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.wait import WebDriverWait

    if url is None:
        driver.refresh()
    else:
        if hasattr(driver, "visited"):  # the shared phone: its origins are cleared after the test
            parts = urlsplit(url)
            driver.visited.add(f"{parts.scheme}://{parts.netloc}")
        driver.get(url)
    # Polled every 20 ms (selenium waits 0.5 s between polls by default: a quarter of a second lost per page).
    WebDriverWait(driver, 60, poll_frequency=0.02).until(lambda d: d.execute_script(DONE))
    return driver.find_element(By.ID, "browser-verdict")


def _server_verdict(driver: Any) -> Any:
    from selenium.webdriver.common.by import By

    return driver.find_element(By.ID, "verdict")


def _severe(driver: Any) -> list[Any]:
    return [e for e in driver.get_log("browser") if e["level"] == "SEVERE"]


def test_the_phone_checks_a_valid_unit_itself(phone: Any, portal: Live, world: World) -> None:
    section = _checked(phone, portal.url + portal.path(world.seal(serial="0101")))
    text = section.text
    assert section.get_attribute("data-state") == "ok", text
    assert section.get_attribute("data-code") == "OK"
    assert "Điện thoại của bạn đã tự kiểm tra" in text
    assert "con dấu trong mã bạn vừa quét" in text
    assert "Hồ sơ đã ký: Đông trùng hạ thảo sấy khô, lô L2411-01, 4 kg" in text  # read from the signed record
    assert "sản phẩm, lô và các bước hiển thị trên trang này đúng như hồ sơ đã ký" in text
    assert "cả 8 bước đã ký" in text  # the dried batch's six steps and the two of the fresh batch it was made from
    # Signers as the trust list names them (the record's own producer text is "HTX …" too, but the lab and the
    # workshop name themselves nowhere in the record).
    for name in ("HTX Đông trùng hạ thảo Nghi Sơn", "Xưởng sấy Tĩnh Gia", "Phòng thử nghiệm Thanh Hóa"):
        assert name in text
    assert "phòng thử nghiệm" in text  # the role, translated
    assert _server_verdict(phone).get_attribute("data-code") == "SEAL_OK"
    assert _severe(phone) == []  # no CSP violation: the module scripts and the worker come from the portal
    phone.execute_script('document.getElementById("browser-verdict").scrollIntoView()')
    phone.save_screenshot(str(Path(tempfile.gettempdir()) / "ocop-portal-phone-check.png"))
    english = _checked(phone, portal.url + portal.path(world.seal(serial="0101")) + "&lang=en")
    assert english.get_attribute("data-state") == "ok", english.text
    assert "Your phone checked this itself" in english.text
    assert "testing laboratory" in english.text


def test_one_altered_event_byte_is_caught_by_the_phone(phone: Any, altered: Live, world: World) -> None:
    section = _checked(phone, altered.url + altered.path(world.seal(serial="0101")))
    text = section.text
    assert section.get_attribute("data-state") == "fail", text
    assert section.get_attribute("data-code") == "E_SIGNATURE"
    assert "Điện thoại của bạn phát hiện sai lệch" in text
    assert "Phần không hợp lệ: hồ sơ các bước đã ký" in text
    assert "ở bước 3" in text  # the laboratory's inspection
    assert "E_SIGNATURE" in text
    # The server checked what it holds, unaltered, and says nothing about it.
    server = _server_verdict(phone)
    assert server.get_attribute("data-code") == "SEAL_OK"
    assert "Đã xác minh" in server.text
    phone.save_screenshot(str(Path(tempfile.gettempdir()) / "ocop-portal-phone-check-failed.png"))


def test_a_page_that_shows_another_product_is_caught(phone: Any, tmp_path: Path, world: World) -> None:
    for live in _portal(tmp_path, world, RenameTheProduct):
        section = _checked(phone, live.url + live.path(world.seal(serial="0101")))
        text = section.text
        assert section.get_attribute("data-state") == "fail", text
        assert section.get_attribute("data-code") == "E_PAGE_MISMATCH"
        assert "Phần không hợp lệ: nội dung trang này hiển thị khác với hồ sơ đã ký" in text
        assert '"Sâm Ngọc Linh"' in text
        assert '"Đông trùng hạ thảo sấy khô"' in text


def test_a_seal_by_another_role_is_left_to_the_portal(phone: Any, portal: Live, world: World) -> None:
    """A validly signed seal by the workshop (a processor) of a batch a process policy governs: only the policy can
    say whether a processor may seal, and the browser does not verify policies, so the phone says it cannot check
    the seal; it neither passes it nor calls it a forgery. (Here the portal, which does verify the policy, refuses
    it.)"""
    url = world.seal(signer=world.workshop)
    section = _checked(phone, portal.url + portal.path(url))
    text = section.text
    assert _server_verdict(phone).get_attribute("data-code") == "E_SEAL_ROLE"
    assert section.get_attribute("data-state") == "unavailable", text
    assert section.get_attribute("data-code") == "E_SEAL_ROLE"
    assert "Điện thoại của bạn không tự kiểm tra được con dấu này" in text
    assert "đã tự kiểm tra" not in text
    assert "phát hiện sai lệch" not in text


def test_a_browser_without_ed25519_is_told_plainly(old_phone: Any, portal: Live, world: World) -> None:
    section = _checked(old_phone, portal.url + portal.path(world.seal()))
    text = section.text
    assert section.get_attribute("data-state") == "unsupported", text
    assert "Trình duyệt này không tự kiểm tra được chữ ký" in text
    assert "không có Ed25519 trong WebCrypto" in text
    assert "đã tự kiểm tra" not in text
    assert _server_verdict(old_phone).get_attribute("data-code") == "SEAL_OK"


def test_offline_reload_shows_the_saved_verdict_checked_again(phone: Any, tmp_path: Path, world: World) -> None:
    from selenium.webdriver.support.wait import WebDriverWait

    running = _portal(tmp_path, world)
    live = next(running)
    url = live.url + live.path(world.seal(serial="0101"))
    first = _checked(phone, url)
    assert first.get_attribute("data-state") == "ok", first.text
    assert "Bản lưu" not in first.text
    # The service worker has kept the page and its material.
    WebDriverWait(phone, 60, poll_frequency=0.02).until(
        lambda d: d.execute_script('return document.getElementById("browser-verdict").dataset.offline === "ready"')
    )
    running.close()  # the portal is down: nothing answers on its port any more
    again = _checked(phone)
    text = again.text
    assert again.get_attribute("data-state") == "ok", text
    assert "Điện thoại của bạn đã tự kiểm tra" in text
    assert "Bản lưu lúc" in text  # the saved copy, checked again on the phone
    assert _server_verdict(phone).get_attribute("data-code") == "SEAL_OK"
    assert phone.execute_script("return navigator.serviceWorker.controller !== null")


def test_the_phone_checks_the_log_receipt(phone: Any, tmp_path: Path, world: World) -> None:
    for live in _portal(tmp_path, world, log_key=LOG_KEY):
        section = _checked(phone, live.url + live.path(world.seal(serial="0101")))
        text = section.text
        assert section.get_attribute("data-state") == "ok", text
        assert "nhật ký minh bạch có ghi bước mới nhất của hồ sơ này (nhật ký gồm 2 mục)" in text


def test_an_altered_log_receipt_is_caught_by_the_phone(phone: Any, tmp_path: Path, world: World) -> None:
    for live in _portal(tmp_path, world, AlterTheReceipt, log_key=LOG_KEY):
        section = _checked(phone, live.url + live.path(world.seal(serial="0101")))
        text = section.text
        assert section.get_attribute("data-state") == "fail", text
        assert section.get_attribute("data-code") == "E_LOG_INCLUSION"
        assert "Phần không hợp lệ: biên nhận của nhật ký minh bạch" in text
        assert _server_verdict(phone).get_attribute("data-code") == "SEAL_OK"


def _rotated(world: World, version: int, old: list[op.PrivateKey], new: list[op.PrivateKey]) -> bytes:
    """A trust list whose authority is ``new`` (2 of them), signed by the ``old`` authority and by ``new``."""
    tl = TrustList(
        issuer="Văn phòng Điều phối OCOP tỉnh Thanh Hóa",
        version=version,
        issued_at=NOW - timedelta(days=2) + timedelta(hours=version),
        expires=NOW + timedelta(days=365),
        authority=AuthorityPin(tuple(k.public_key for k in new), 2),
        participants=world.participants(),
    )
    return sign_trust_list(tl, list({k.public_key.raw: k for k in [*old, *new]}.values()))


def test_the_phone_follows_the_authority_through_older_lists(phone: Any, portal: Live, world: World) -> None:
    """Two rotations: the current list is signed by no quorum of the pinned keys, only through the older lists."""
    second, third = [world.authority[2], key(104)], [key(104), key(105)]
    for version, old, new in ((2, world.authority[:2], second), (3, second, third)):
        r = portal.client.put("/api/v1/trust-list", content=_rotated(world, version, old, new))
        assert r.status_code == 200, r.text
    material = portal.client.get(f"/api/v1/batches/{world.dried.hex()}/material").json()
    assert len(material["intermediates"]) == 2
    section = _checked(phone, f"{portal.url}/batches/{world.dried.hex()}")  # a batch's page: no seal
    text = section.text
    assert section.get_attribute("data-state") == "ok", text
    assert "danh sách tin cậy của tỉnh (phiên bản 3)" in text
    assert "con dấu" not in text


def test_without_pinned_keys_the_phone_says_it_cannot_check(phone: Any, tmp_path: Path, world: World) -> None:
    """A portal restarted without --authority-key (its held list is its root): the page pins nothing."""
    for _ in _portal(tmp_path, world):
        pass
    for live in serve(str(tmp_path / "portal.sqlite"), world, authority=None):
        page = live.client.get(live.path(world.seal()), headers={"accept": "text/html"}).text
        assert 'data-authority="" data-threshold="0"' in page
        section = _checked(phone, live.url + live.path(world.seal()))
        assert section.get_attribute("data-state") == "unavailable", section.text
        assert "Cổng thông tin này không ghim khóa" in section.text
        assert "đã tự kiểm tra" not in section.text
        assert _server_verdict(phone).get_attribute("data-code") == "SEAL_OK"


def test_the_page_pins_the_authority_and_the_worker_is_served(portal: Live, world: World) -> None:
    page = portal.client.get(portal.path(world.seal()), headers={"accept": "text/html"}).text
    keys = ",".join(k.public_key.raw.hex() for k in world.authority)
    assert f'data-authority="{keys}" data-threshold="2"' in page
    assert 'type="module" src="/static/' in page
    assert "<script>" not in page  # no inline script: the CSP stays strict
    sw = portal.client.get("/sw.js")
    assert sw.status_code == 200
    assert sw.headers["content-type"].startswith("text/javascript")
    assert sw.headers["cache-control"] == "no-cache"
    assert "worker-src 'self'" in sw.headers["content-security-policy"]
    config = json.loads(sw.text.split("\n", 1)[0].removeprefix("const OCOP = ").removesuffix(";"))
    assert any(u.endswith("/js/page.js") for u in config["precache"])
    for u in config["precache"]:
        assert portal.client.get(u).status_code == 200, u
    # The verifier's modules import each other by relative URL: they share one hash, so their URLs move together.
    modules = {u.split("/")[2] for u in config["precache"] if "/js/" in u}
    assert len(modules) == 1


def test_the_material_is_downloaded_again_only_when_it_changed(portal: Live, world: World) -> None:
    url = f"/api/v1/batches/{world.dried.hex()}/material"
    first = portal.client.get(url)
    etag = first.headers["etag"]
    assert first.headers["cache-control"] == "no-cache"
    same = portal.client.get(url, headers={"if-none-match": etag})
    assert same.status_code == 304
    assert same.content == b""
    assert portal.client.put("/api/v1/trust-list", content=world.trust_list(2)).status_code == 200
    changed = portal.client.get(url, headers={"if-none-match": etag})
    assert changed.status_code == 200
    assert changed.headers["etag"] != etag
    assert changed.json()["trust_list_version"] == 2


def test_the_workers_copy_is_not_a_look_up(portal: Live, world: World) -> None:
    path = portal.path(world.seal(serial="0202"))
    assert _count(portal.client.get(path).text) == 1
    for _ in range(3):  # what the service worker fetches to keep a copy
        copy = portal.client.get(path, headers={"x-ocop-offline-copy": "1"})
        assert copy.status_code == 200
        assert "Đã xác minh" in copy.text
    assert _count(portal.client.get(path).text) == 2


def _count(page: str) -> int:
    found = re.search(r'<p class="scans">\D*(\d+)', page)
    assert found is not None, page[:2000]
    return int(found.group(1))


def test_the_demo_page_checks_on_a_phone_with_its_own_clock(tmp_path: Path) -> None:
    """``ocop demo --serve``, unpinned clock: what a developer sees in a browser after the README's demo command."""
    if CHROMIUM is None or DRIVER is None:
        require("Chromium and chromedriver", "the phone's check runs in a real browser")
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
        try:
            assert proc.stdout is not None
            page, lines = None, []
            for line in proc.stdout:
                lines.append(line)
                found = re.search(r"(http://127\.0\.0\.1:\d+/01/\S+)", line)
                if found:
                    page = found.group(1)
                    break
            assert page is not None, "".join(lines)
            for phone in _chromium():
                section = _checked(phone, page)
                assert section.get_attribute("data-state") == "ok", section.text
                assert "Điện thoại của bạn đã tự kiểm tra" in section.text
        finally:
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
