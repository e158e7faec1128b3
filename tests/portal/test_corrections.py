"""Corrections on the consumer page (issue 13): a corrected step stays shown, with what corrected it and how."""

from __future__ import annotations

from datetime import datetime

import ocop_provenance as op

from .conftest import Live
from .world import ICT, PLACE, World

HTML = {"accept": "text/html"}


def _step(page: str, seq: int) -> str:
    start = page.index(f'id="step-{seq}"')
    return page[start : page.index("</li>", start)]


def test_the_page_shows_a_corrected_step_with_its_correction(published: Live, world: World) -> None:
    with op.Ledger.open(world.ledger_path) as ledger:
        ledger.correct_step(
            world.dried,
            world.lab,
            seq=3,
            reason="Nhập nhầm độ ẩm: 11,6% chứ không phải 11,8%",
            time=datetime(2024, 11, 7, 9, 0, tzinfo=ICT),
            location=PLACE,
            data={"moisture_pct": "11.6"},
        )
    r = published.publish(world.bundle())
    assert r.status_code in (200, 201), r.text
    page = published.client.get(f"/batches/{world.dried.hex()}?lang=vi", headers=HTML).text
    corrected = _step(page, 3)
    assert "<td>11.8</td>" in corrected  # the step as recorded stays shown
    assert "Đã đính chính ở bước #6: Nhập nhầm độ ẩm: 11,6% chứ không phải 11,8%" in corrected
    assert "Giá trị đã đính chính" in corrected
    assert "<td>11.6</td>" in corrected
    correction = _step(page, 6)
    assert "<h3>Đính chính " in correction
    assert "Đính chính bước #3: Nhập nhầm độ ẩm" in correction
    assert "không được áp dụng" not in correction
    api = published.client.get(f"/api/v1/batches/{world.dried.hex()}").json()
    assert api["steps"][3]["corrected_by"] == [
        {
            "seq": 3,
            "by_seq": 6,
            "status": "in_force",
            "withdrawn": False,
            "reason": "Nhập nhầm độ ẩm: 11,6% chứ không phải 11,8%",
            "data": {"moisture_pct": "11.6"},
        }
    ]
    assert api["steps"][6]["corrects"]["seq"] == 3
    assert api["steps"][0]["corrects"] is None
    english = published.client.get(f"/batches/{world.dried.hex()}?lang=en", headers=HTML).text
    assert "Corrected at step #6: Nhập nhầm độ ẩm" in _step(english, 3)


def test_a_correction_by_someone_else_is_shown_and_not_applied(published: Live, world: World) -> None:
    with op.Ledger.open(world.ledger_path) as ledger:
        ledger.correct_step(  # the cooperative withdraws the workshop's drying step: not its own to correct
            world.dried,
            world.coop,
            seq=2,
            reason="Không sấy ở xưởng này",
            time=datetime(2024, 11, 7, 10, 0, tzinfo=ICT),
            location=PLACE,
        )
    r = published.publish(world.bundle())
    assert r.status_code in (200, 201), r.text  # a correction not in force changes nothing the policy judges
    page = published.client.get(f"/batches/{world.dried.hex()}?lang=vi", headers=HTML).text
    drying = _step(page, 2)
    assert "Đính chính ở bước #6 KHÔNG được áp dụng (không do người đã ký bước này thực hiện)" in drying
    assert "<td>12.4</td>" in drying
    assert "Đã rút lại" not in drying
    assert "không được áp dụng: không do người đã ký bước đó thực hiện" in _step(page, 6)
    api = published.client.get(f"/api/v1/batches/{world.dried.hex()}").json()
    assert [c["status"] for c in api["steps"][2]["corrected_by"]] == ["unauthorised"]
