"""The consumer page in a real headless browser (the system's Chromium, driven by chromedriver through Selenium).

It renders on a 360-px-wide phone screen, the verdict is visible, the Vietnamese text is right, every request the
page makes goes to the portal itself, hostile product names are shown as text, and the page reads without
JavaScript. Chromium runs with a fresh profile and with its background networking off (the sandbox has no network).
"""

from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from .conftest import PUBLIC, Live, require
from .world import World

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
DRIVER = shutil.which("chromedriver")
XSS = '<script>window.__pwned=1</script>"><img src=x onerror="window.__pwned=2">'


def _driver(*, log_requests: bool = True) -> Any:
    """A headless Chromium as a phone; ``log_requests``: keep the network log that :func:`_requests` reads."""
    webdriver = pytest.importorskip("selenium.webdriver")
    from selenium.webdriver.chrome.service import Service

    if CHROMIUM is None or DRIVER is None:
        require("Chromium", "apt-get install chromium chromium-driver")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    profile = tempfile.mkdtemp(prefix="ocop-chromium-")
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-default-apps",
        "--disable-extensions",
        "--no-first-run",
        "--no-default-browser-check",
        f"--user-data-dir={profile}",
        "--lang=vi",
    ):
        options.add_argument(flag)
    # A 360-px-wide phone (headless windows cannot be that narrow) set to Vietnamese (the page follows
    # Accept-Language).
    options.add_experimental_option(
        "mobileEmulation", {"deviceMetrics": {"width": 360, "height": 740, "pixelRatio": 2}}
    )
    options.add_experimental_option("prefs", {"intl.accept_languages": "vi-VN,vi,en"})
    logs = {"performance": "ALL", "browser": "ALL"} if log_requests else {"browser": "ALL"}
    options.set_capability("goog:loggingPrefs", logs)
    driver = webdriver.Chrome(options=options, service=Service(executable_path=DRIVER))
    driver.profile_dir = profile
    return driver


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    driver = _driver()
    try:
        driver.get("about:blank")  # let the start tab settle before a test reads the request log
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(driver.profile_dir, ignore_errors=True)


# Chromium's own pages (the start tab, its icons) load from these schemes; a web page cannot, so they are the
# browser's requests, not the consumer page's.
_BROWSER_SCHEMES = frozenset({"chrome", "chrome-untrusted", "devtools"})


def _requests(driver: Any) -> list[str]:
    urls = []
    for entry in driver.get_log("performance"):
        message = json.loads(entry["message"])["message"]
        if message["method"] == "Network.requestWillBeSent":
            url = message["params"]["request"]["url"]
            if urlsplit(url).scheme not in _BROWSER_SCHEMES:
                urls.append(url)
    return urls


def _open(driver: Any, url: str) -> list[str]:
    driver.get_log("performance")  # drop what earlier pages logged
    driver.get(url)
    return _requests(driver)


def _local(live: Live, seal_url: str) -> str:
    return live.url + live.path(seal_url)


def test_consumer_page_on_a_phone(browser: Any, published: Live, world: World) -> None:
    from selenium.webdriver.common.by import By

    requests = _open(browser, _local(published, world.seal(serial="0101")))
    origin = urlsplit(published.url)
    assert requests, "the browser made no request"
    for url in requests:
        parts = urlsplit(url)
        assert (parts.scheme, parts.netloc) == (origin.scheme, origin.netloc), url
    assert any(u.endswith(".css") for u in requests)

    verdict = browser.find_element(By.ID, "verdict")
    assert verdict.is_displayed()
    assert verdict.get_attribute("data-code") == "SEAL_OK"
    assert verdict.find_element(By.TAG_NAME, "h1").text.endswith("Đã xác minh")
    text = browser.find_element(By.TAG_NAME, "main").text
    for phrase in (
        "Đông trùng hạ thảo sấy khô",
        "HTX Đông trùng hạ thảo Nghi Sơn",
        "Theo khai báo của nhà sản xuất",
        "Phòng thử nghiệm Thanh Hóa",
        "Độ ẩm (phần trăm)",
        "Kiểm nghiệm",
        "Con dấu không chứng minh gói hàng vật lý này là thật",
    ):
        assert phrase in text
    assert browser.find_element(By.TAG_NAME, "html").get_attribute("lang") == "vi"
    width = browser.execute_script("return document.documentElement.clientWidth")
    assert width <= 360
    assert browser.execute_script("return document.documentElement.scrollWidth") <= width  # no sideways scrolling
    # The stylesheet applied (it is served by the portal under a hashed name).
    assert (
        browser.execute_script("return getComputedStyle(document.getElementById('verdict')).borderTopStyle") == "solid"
    )
    severe = [e for e in browser.get_log("browser") if e["level"] == "SEVERE"]
    assert severe == []  # no CSP violation, no failed load
    browser.save_screenshot(str(Path(tempfile.gettempdir()) / "ocop-portal-page.png"))


def test_english_switch(browser: Any, published: Live, world: World) -> None:
    from selenium.webdriver.common.by import By

    _open(browser, _local(published, world.seal()))
    browser.find_element(By.CSS_SELECTOR, "a.lang").click()
    assert browser.find_element(By.TAG_NAME, "html").get_attribute("lang") == "en"
    assert "Verified" in browser.find_element(By.ID, "verdict").text
    assert "As declared by the producer" in browser.find_element(By.TAG_NAME, "main").text


def test_failure_is_as_clear(browser: Any, published: Live, world: World) -> None:
    from selenium.webdriver.common.by import By

    url = world.seal()
    _open(browser, _local(published, url[:-1] + ("1" if url[-1] != "1" else "2")))
    verdict = browser.find_element(By.CLASS_NAME, "verdict")
    assert verdict.is_displayed()
    assert "Không xác minh được" in verdict.text


def test_hostile_product_names_are_text(browser: Any, published: Live, tmp_path: Path) -> None:
    from selenium.webdriver.common.by import By

    home = tmp_path / "hostile"
    home.mkdir()
    hostile = World(home, PUBLIC, product_name=XSS)
    assert published.publish(hostile.bundle()).status_code == 201
    for url in (_local(published, hostile.seal()), f"{published.url}/?q=script"):
        _open(browser, url)
        assert browser.execute_script("return window.__pwned === undefined")
        assert browser.find_elements(By.CSS_SELECTOR, "main img") == []
        assert browser.find_elements(By.CSS_SELECTOR, "main script") == []
        assert XSS in browser.find_element(By.TAG_NAME, "main").text


def test_page_reads_without_javascript(browser: Any, published: Live, world: World) -> None:
    from selenium.webdriver.common.by import By

    browser.execute_cdp_cmd("Emulation.setScriptExecutionDisabled", {"value": True})
    try:
        browser.get(_local(published, world.seal()))
        assert "Đã xác minh" in browser.find_element(By.ID, "verdict").text
        assert "Phòng thử nghiệm Thanh Hóa" in browser.find_element(By.TAG_NAME, "main").text
        # No script ran: the phone's own check, which page.js shows and fills in, stays hidden and empty.
        phone_check = browser.find_element(By.ID, "browser-verdict")
        assert phone_check.get_attribute("hidden") is not None
        assert phone_check.get_attribute("data-state") is None
    finally:
        browser.execute_cdp_cmd("Emulation.setScriptExecutionDisabled", {"value": False})
