"""The resolver: a sealed Digital Link URL as the consumer page and as a linkset, and every way it can fail."""

from __future__ import annotations

import json
from datetime import date, datetime

import ocop_provenance as op
import pytest
from ocop_provenance.seals import make_seal

from .conftest import PUBLIC, Live
from .world import COOP, ICT, PLACE, World

HTML = {"accept": "text/html,application/xhtml+xml;q=0.9,*/*;q=0.8"}
LINKSET = {"accept": "application/linkset+json"}


def _verdict(html: str) -> str:
    start = html.index('data-code="') + len('data-code="')
    return html[start : html.index('"', start)]


def test_sealed_unit_as_html(published: Live, world: World) -> None:
    url = world.seal(serial="0001")
    r = published.client.get(published.path(url), headers=HTML)
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/html")
    assert r.headers["content-language"] == "vi"
    page = r.text
    assert _verdict(page) == "SEAL_OK"
    assert "Đã xác minh" in page
    # Who made it: the trust list's participant, and the producer's own words labelled as such.
    maker = page[page.index('class="maker"') :]
    assert "HTX Đông trùng hạ thảo Nghi Sơn" in maker[:400]
    assert "theo danh sách tin cậy của tỉnh" in maker[:600]
    assert "Theo khai báo của nhà sản xuất:</span> HTX Đông trùng hạ thảo Nghi Sơn, Nghi Sơn, Thanh Hóa" in page
    # Product facts, steps, data, attachment and lineage.
    assert "Đông trùng hạ thảo sấy khô" in page
    assert "OCOP 4 sao" in page
    assert "5678/QĐ-UBND" in page
    assert "08931234567897" in page
    assert "L2411-01" in page
    assert "4 kg" in page
    for label in ("Mở lô", "Thu hoạch", "Sấy", "Kiểm nghiệm", "Đóng gói", "Vận chuyển"):
        assert f"<h3>{label} " in page
    assert "Phòng thử nghiệm Thanh Hóa</strong>, phòng thử nghiệm" in page
    assert "<td>11.8</td>" in page
    assert "<td>Đạt</td>" in page
    assert "ket-qua.pdf" in page
    assert f'href="/batches/{world.fresh.hex()}?lang=vi">Đông trùng hạ thảo tươi' in page
    assert "đã được kiểm tra 1 lần" in page
    assert "Con dấu không chứng minh gói hàng vật lý này là thật" in page
    assert 'rel="linkset"' in r.headers["link"]
    # The slot the in-browser verifier fills (issue 12), with the material URL.
    assert f'data-material="/api/v1/batches/{world.dried.hex()}/material"' in page


def test_sealed_unit_as_linkset(published: Live, world: World) -> None:
    url = world.seal(serial="0002")
    for path, headers in ((published.path(url), LINKSET), (published.path(url) + "&linkType=all", HTML)):
        r = published.client.get(path, headers=headers)
        assert r.status_code == 200
        assert r.headers["content-type"] == "application/linkset+json"
        links = json.loads(r.text)["linkset"][0]
        assert links["anchor"] == f"{PUBLIC}/01/08931234567897/10/L2411-01/21/0002"
        assert links["https://gs1.org/voc/pip"][0]["href"] == url
        assert links["https://gs1.org/voc/pip"][0]["type"] == "text/html"
        trace = [link["href"] for link in links["https://gs1.org/voc/traceability"]]
        assert trace == [
            f"{PUBLIC}/api/v1/batches/{world.dried.hex()}",
            f"{PUBLIC}/api/v1/batches/{world.dried.hex()}/bundle",
        ]
        assert "OCOP 4★" in links["https://gs1.org/voc/certificationInfo"][0]["title"]
        assert "https://gs1.org/voc/verificationService" in links


def test_link_type_redirects(published: Live, world: World) -> None:
    url = world.seal()
    r = published.client.get(published.path(url) + "&linkType=gs1:traceability", follow_redirects=False)
    assert r.status_code == 307
    assert r.headers["location"] == f"{PUBLIC}/api/v1/batches/{world.dried.hex()}"
    r = published.client.get(published.path(url) + "&linkType=gs1:recipeInfo", follow_redirects=False)
    assert (r.status_code, r.json()["code"]) == (404, "E_LINK_TYPE")


def test_lot_level_seal_and_the_record_continuing(published: Live, world: World) -> None:
    url = world.seal()  # sealed at seq 5
    with op.Ledger.open(world.ledger_path) as ledger:
        ledger.add_step(
            world.dried, world.coop, step="receiving", time=datetime(2024, 11, 8, 9, tzinfo=ICT), location=PLACE
        )
    assert published.publish(world.bundle()).status_code == 201
    r = published.client.get(published.path(url) + "&lang=en", headers=HTML)
    assert r.status_code == 200
    assert _verdict(r.text) == "SEAL_OLDER_HEAD"
    assert "1 later steps" in r.text
    assert 'class="scans"' not in r.text  # a lot-level code is not counted


def test_altered_seal(published: Live, world: World) -> None:
    url = world.seal(serial="0003")
    digits = url.rsplit("=", 1)[1]
    altered = url[: -len(digits)] + digits[:100] + ("1" if digits[100] != "1" else "2") + digits[101:]
    r = published.client.get(published.path(altered), headers=HTML)
    assert r.status_code == 422
    assert _verdict(r.text) == "E_SIGNATURE"
    assert "Mã đã bị sửa" in r.text
    truncated = url[:-5]
    r = published.client.get(published.path(truncated), headers=HTML)
    assert r.status_code == 400
    assert _verdict_or_code(r.text) == "E_SEAL_TRUNCATED"
    r = published.client.get(published.path(altered), headers=LINKSET)
    assert r.status_code == 422
    assert r.headers["content-type"] == "application/problem+json"
    assert r.json()["code"] == "E_SIGNATURE"


def _verdict_or_code(html: str) -> str:
    marker = "Mã lỗi: "
    start = html.index(marker) + len(marker)
    return html[start : html.index("<", start)].strip()


def test_seal_of_another_batch(published: Live, world: World) -> None:
    with op.Ledger.open(world.ledger_path) as ledger:
        other = ledger.open_batch(
            op.Genesis(
                time=datetime(2024, 11, 3, 7, 0, tzinfo=ICT),
                product=op.Product(
                    name="Đông trùng hạ thảo sấy khô", lot="L2411-02", quantity="2", unit="kg", gtin="08931234567897"
                ),
                producer=op.Producer(name=COOP),
            ),
            world.coop,
        )
    seal_other = world.seal(batch_id=other.batch_id)
    mine = world.seal()
    # The digits of the other lot's seal on this lot's link: the signature covers the lot, so it fails.
    swapped = mine.split("?s=")[0] + "?s=" + seal_other.split("?s=")[1]
    r = published.client.get(published.path(swapped), headers=HTML)
    assert r.status_code == 422
    assert _verdict(r.text) == "E_SIGNATURE"


def test_unpublished_batch(ready: Live, world: World) -> None:
    r = ready.client.get(ready.path(world.seal(serial="0004")), headers=HTML)
    assert r.status_code == 404
    assert "chưa được công bố" in r.text
    r = ready.client.get(ready.path(world.seal(serial="0004")), headers=LINKSET)
    assert (r.status_code, r.json()["code"]) == (404, "E_NOT_PUBLISHED")


def test_revoked_signer(published: Live, world: World) -> None:
    url = world.seal(serial="0005")
    assert published.client.get(published.path(url)).status_code == 200
    v2 = world.trust_list(2, revoked=(world.coop.public_key,))
    assert published.client.put("/api/v1/trust-list", content=v2).status_code == 200
    r = published.client.get(published.path(url), headers=HTML)
    assert r.status_code == 422
    assert _verdict(r.text) == "E_KEY_REVOKED"
    assert "đã bị cơ quan cấp tỉnh thu hồi" in r.text
    # The batch page marks each step the revoked key signed.
    page = published.client.get(f"/batches/{world.dried.hex()}").text
    assert page.count('class="step problem"') == 4


def test_revoked_step_signer_fails_a_valid_seal(published: Live, world: World) -> None:
    url = world.seal(serial="0006")
    v2 = world.trust_list(2, revoked=(world.lab.public_key,))
    assert published.client.put("/api/v1/trust-list", content=v2).status_code == 200
    r = published.client.get(published.path(url), headers=HTML)
    assert r.status_code == 422
    assert _verdict(r.text) == "E_SIGNER_NOT_ALLOWED"


def test_a_retailer_sealing_is_refused(published: Live, world: World) -> None:
    # Issue 10, finding 2: the retailer's key is in the trust list and signs validly, but retailers may not seal.
    r = published.client.get(published.path(world.seal(serial="0101", signer=world.retailer)), headers=HTML)
    assert (r.status_code, _verdict(r.text)) == (422, "E_SEAL_ROLE")
    assert "vai trò không được phép đóng dấu" in r.text
    api = published.client.get("/api/v1/seals/verify", params={"url": world.seal(signer=world.retailer)}).json()
    assert (api["ok"], api["code"]) == (False, "E_SEAL_ROLE")


def test_another_producer_sealing_this_producers_gtin_is_refused(published: Live, world: World) -> None:
    # Issue 10, finding 1: a producer of the list seals the cooperative's GTIN (not one of its GS1 prefixes).
    r = published.client.get(published.path(world.seal(serial="0102", signer=world.neighbour)), headers=HTML)
    assert (r.status_code, _verdict(r.text)) == (422, "E_GTIN_NOT_OWNED")
    assert "không thuộc về bên đã ký" in r.text


def test_the_page_names_the_sealer_and_the_maker_from_the_trust_list(published: Live, world: World) -> None:
    page = published.client.get(published.path(world.seal(serial="0103")), headers=HTML).text
    assert "Đóng dấu bởi HTX Đông trùng hạ thảo Nghi Sơn, nhà sản xuất (theo danh sách tin cậy của tỉnh)." in page
    maker = page[page.index('class="maker"') :]
    assert "</a>,\n    nhà sản xuất, Nghi Sơn, Thanh Hóa (mã đơn vị hành chính 38)" in maker[:400]


def test_unknown_sealer(published: Live, world: World) -> None:
    from .world import key

    url = world.seal(signer=key(55))
    r = published.client.get(published.path(url), headers=HTML)
    assert (r.status_code, _verdict(r.text)) == (422, "E_UNKNOWN_KEY")


def test_serial_scan_counting(published: Live, world: World) -> None:
    url = world.seal(serial="0007")
    path = published.path(url)
    assert published.client.head(path).status_code == 200  # HEAD does not count
    for n in (1, 2, 3):
        r = published.client.get(path, headers={**HTML, "accept-language": "en-GB,en;q=0.9"})
        assert f"checked {n} times since 20/11/2024" in r.text
    assert "may have been copied" in r.text
    r = published.client.get("/api/v1/seals/verify", params={"url": url})
    assert (r.status_code, r.json()["ok"], r.json()["code"]) == (200, True, "SEAL_OK")
    assert r.json()["producer"]["name"] == "HTX Đông trùng hạ thảo Nghi Sơn"
    r = published.client.get(path, headers=HTML)
    assert "kiểm tra 4 lần" in r.text  # the API call did not count


def test_unsealed_link_shows_the_record_without_a_verdict(published: Live) -> None:
    r = published.client.get("/01/08931234567897/10/L2411-01", headers=HTML)
    assert r.status_code == 200
    assert _verdict(r.text) == "NO_SEAL"
    r = published.client.get("/01/08931234567897/10/L2411-99", headers=HTML)
    assert r.status_code == 404
    r = published.client.get("/01/08931234567898/10/L2411-01", headers=HTML)
    assert r.status_code == 400  # wrong check digit


@pytest.mark.parametrize("accept", ["text/html", "*/*", ""])
def test_browsers_get_html(published: Live, world: World, accept: str) -> None:
    r = published.client.get(published.path(world.seal()), headers={"accept": accept})
    assert r.headers["content-type"].startswith("text/html")


def test_seals_for_another_domain_do_not_verify_here(published: Live, world: World) -> None:
    seal = world.seal()
    with op.Ledger.open(world.ledger_path) as ledger:
        events = list(ledger.events(world.dried))
    elsewhere = make_seal(
        events[0], events[-1], world.coop, resolver="https://id.example.com", sealed_on=date(2024, 11, 7)
    ).to_url()
    # The same path and digits as another domain's seal, received here: the signed resolver differs.
    r = published.client.get(elsewhere[len("https://id.example.com") :], headers=HTML)
    assert (r.status_code, _verdict(r.text)) == (422, "E_SIGNATURE")
    assert published.client.get(published.path(seal), headers=HTML).status_code == 200


def test_security_headers(published: Live, world: World) -> None:
    r = published.client.get(published.path(world.seal()), headers=HTML)
    csp = r.headers["content-security-policy"]
    assert "default-src 'self'" in csp
    assert "script-src 'self'" in csp
    assert "'unsafe-inline'" not in csp
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["referrer-policy"] == "no-referrer"
    assert "set-cookie" not in r.headers
    css = r.text.split('rel="stylesheet" href="')[1].split('"')[0]
    s = published.client.get(css)
    assert s.status_code == 200
    assert "immutable" in s.headers["cache-control"]
    assert s.headers["content-type"].startswith("text/css")
    assert published.client.get(css.replace(css.split("/")[2], "0" * 12)).status_code == 404
    assert published.client.get("/static/css/portal.css").headers["cache-control"] == "no-cache"
    assert published.client.get("/static/../pyproject.toml").status_code == 404


def test_cli_publish_then_scan_html_and_linkset(ready: Live, world: World) -> None:
    from click.testing import CliRunner

    from ocop_cli.main import cli

    result = CliRunner().invoke(cli, ["--home", str(world.home), "publish", world.dried.hex(), "--to", ready.url])
    assert result.exit_code == 0, result.output
    assert "new" in result.output
    url = world.seal(serial="0201")
    page = ready.client.get(ready.path(url), headers=HTML)
    assert (page.status_code, _verdict(page.text)) == (200, "SEAL_OK")
    assert "HTX Đông trùng hạ thảo Nghi Sơn</strong></a>" in page.text  # the producer, from the trust list
    assert "<h3>Kiểm nghiệm " in page.text
    assert "<td>11.8</td>" in page.text
    assert f"/batches/{world.fresh.hex()}" in page.text  # lineage, one step back
    links = ready.client.get(ready.path(url), headers=LINKSET)
    assert links.status_code == 200
    assert links.json()["linkset"][0]["anchor"].endswith("/21/0201")


def test_ocop_form_without_gtin(published: Live, world: World) -> None:
    url = world.seal(batch_id=world.fresh, serial="T1")
    assert "/ocop/" in url
    r = published.client.get(published.path(url), headers=HTML)
    assert (r.status_code, _verdict(r.text)) == (200, "SEAL_OK")
    assert "Đông trùng hạ thảo tươi" in r.text
    assert f"/batches/{world.dried.hex()}" in r.text  # one step forward: the dried batch made from it
    r = published.client.get(published.path(url), headers=LINKSET)
    assert r.json()["linkset"][0]["anchor"] == f"{PUBLIC}/ocop/{world.fresh[:8].hex()}/T2411-01/T1"
