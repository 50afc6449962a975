"""The ops console in a real browser: headless Chromium (Debian's, driven by Playwright)
signs in to a real `complaintflow serve` with its token, reads the overview, a complaint
page whose clocks show a breached and a paused deadline, and a search; a wrong token is
refused; and no page asks any other host for anything. Set COMPLAINTFLOW_DOCS_SCREENSHOT=1
to refresh docs/console-overview.png and docs/console-complaint.png."""

import itertools
import os
import shutil
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlparse

import pytest
from playwright.sync_api import Page, sync_playwright
from sqlalchemy import select

from complaintflow.engine.core.events import timer_fired
from complaintflow.engine.core.messages import InboundMessage
from complaintflow.engine.core.topics import Topics
from complaintflow.engine.core.workflow import Workflow
from complaintflow.engine.entrypoints.cli.sample_day import sample_day
from complaintflow.engine.service.clock import FixedClock
from complaintflow.engine.service.processing import BatchProcessor
from complaintflow.state_store.database import open_engine
from complaintflow.state_store.schema import upgrade
from complaintflow.state_store.tables import timers_t
from complaintflow.state_store.unit_of_work import SqlAlchemyStore
from tests.support.builders import MONDAY_9, RECEIVED, raw
from tests.support.serving import serving

CHROMIUM = "/usr/bin/chromium"
TOKEN = "console-token-for-tests"
DOCS = Path(__file__).parents[2] / "docs"
WATCHED = "C-WATCH"
SERVED_AT = MONDAY_9 + timedelta(hours=1)


@pytest.fixture
def store_url(tmp_path: Path, workflow: Workflow) -> str:
    """A day of complaints, and C-WATCH: a VIP on social media whose first response breached
    (warned, breached, escalated), answered late, then asked for photos (its handling clock
    paused while the customer owes them)."""
    url = f"sqlite:///{tmp_path / 'complaintflow.db'}"
    engine = open_engine(url)
    upgrade(engine)
    clock = FixedClock(MONDAY_9)
    processor = BatchProcessor(
        SqlAlchemyStore(engine, clock), workflow, clock, Topics(), lambda _: 0
    )
    offsets = itertools.count()

    def send(*values: bytes) -> None:
        processor.process(
            [
                InboundMessage(
                    topic="complaints.inbound", partition=0, offset=next(offsets), key=None, value=v
                )
                for v in values
            ]
        )

    send(*sample_day(complaints=60, start=MONDAY_9 - timedelta(hours=6)))
    vip = {
        **RECEIVED,
        "customer_id": "U-WATCH",
        "order_id": "O-WATCH",
        "channel": "social",
        "customer_tier": "vip",
        "amount": "2500.00",
        "description": "退款一直没有到账，再不处理我就打12315",
    }
    send(raw("complaint.received", complaint_id=WATCHED, payload=vip))
    with engine.connect() as c:
        due = c.execute(
            select(timers_t.c.key, timers_t.c.due_at)
            .where(timers_t.c.complaint_id == WATCHED, timers_t.c.key.like("first_response.%"))
            .order_by(timers_t.c.due_at)
        ).all()
    assert len(due) == 2
    send(*(timer_fired(WATCHED, key, at).model_dump_json().encode() for key, at in due))
    minute = timedelta(minutes=1)
    send(
        raw("agent.responded", complaint_id=WATCHED, at=MONDAY_9 + 5 * minute),
        raw(
            "evidence.requested",
            complaint_id=WATCHED,
            at=MONDAY_9 + 20 * minute,
            payload={"items": ["photo of the bank statement"], "requested_from": "customer"},
        ),
    )
    engine.dispose()
    return url


def signed_in(page: Page, base: str) -> None:
    page.goto(f"{base}/")
    assert "/login" in page.url  # a browser without a session is sent to sign in
    page.fill("input[name=token]", TOKEN)
    page.click("input[type=submit]")
    page.wait_for_url(f"{base}/")


def test_the_console_in_a_browser(store_url: str, tmp_path: Path) -> None:
    assert Path(CHROMIUM).is_file(), f"{CHROMIUM} missing: apt-get install chromium"
    requested: list[str] = []
    with (
        serving(
            store_url,
            COMPLAINTFLOW_SERVE_TOKEN=TOKEN,
            COMPLAINTFLOW_CLOCK_START=SERVED_AT.isoformat(),
        ) as base,
        sync_playwright() as playwright,
    ):
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.on("request", lambda request: requested.append(request.url))
            # A wrong token is refused, and gives no session
            page.goto(f"{base}/login")
            page.fill("input[name=token]", "not-the-token")
            page.click("input[type=submit]")
            assert page.locator(".error").inner_text() == "wrong token"
            assert page.context.cookies() == []

            # The overview
            signed_in(page, base)
            cards = {
                name: int(page.locator(f"#{name} .figure").inner_text())
                for name in ("open", "breaches-today", "escalations-today", "outbox")
            }
            assert cards["open"] > 0 and cards["breaches-today"] >= 1
            assert page.locator("#by-state tbody tr").count() > 0
            assert page.locator("#by-department tbody tr").count() > 0
            assert page.locator('meta[http-equiv="refresh"]').count() == 1
            page.screenshot(path=str(tmp_path / "overview.png"), full_page=True)

            # A complaint page: priority with its reasons, a breached and a paused clock
            page.goto(f"{base}/c/{WATCHED}")
            assert page.locator("#priority").inner_text().strip() == "P1"
            assert "keyword:12315" in page.locator("#reasons").inner_text()
            statuses = dict(
                zip(
                    page.locator("#clocks-table tbody td:nth-child(1)").all_inner_texts(),
                    page.locator("#clocks-table tbody td:nth-child(2)").all_inner_texts(),
                    strict=True,
                )
            )
            assert statuses["first response"] == "breached"
            assert statuses["handling"] == "paused"
            svg = page.locator("svg#clocks")
            box = svg.bounding_box()
            assert box is not None and box["width"] > 300
            assert svg.locator("rect.paused").count() >= 1
            assert svg.locator("line.breached").count() == 1
            assert page.locator("#escalations tbody tr").count() >= 1
            page.screenshot(path=str(tmp_path / "complaint.png"), full_page=True)

            # Search by customer id and by order id finds it
            for query in ("U-WATCH", "O-WATCH"):
                page.goto(f"{base}/search?q={query}")
                assert page.locator("#results a").all_inner_texts() == [WATCHED]
            page.goto(f"{base}/search?q=nobody-like-this")
            assert page.locator("#nothing").count() == 1

            # The API's page is drawn here too, from the OpenAPI (no CDN script)
            page.goto(f"{base}/docs")
            assert page.locator("section.operation").count() >= 5

            # The report page draws its charts
            page.goto(f"{base}/report")
            assert page.locator("svg.chart#chart-volume rect.bar").count() > 0
        finally:
            browser.close()

    assert {urlparse(u).netloc for u in requested} == {urlparse(base).netloc}
    if os.environ.get("COMPLAINTFLOW_DOCS_SCREENSHOT") == "1":
        DOCS.mkdir(exist_ok=True)
        shutil.copyfile(tmp_path / "overview.png", DOCS / "console-overview.png")
        shutil.copyfile(tmp_path / "complaint.png", DOCS / "console-complaint.png")
