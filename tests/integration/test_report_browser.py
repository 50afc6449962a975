"""The HTML report in a real browser: headless Chromium (Debian's /usr/bin/chromium, driven
by Playwright) opens the file, every chart is drawn with a non-zero size, and the page asks
the network for nothing. Set COMPLAINTFLOW_DOCS_SCREENSHOT=1 to refresh docs/report.png."""

import os
import shutil
from pathlib import Path

from playwright.sync_api import Locator, sync_playwright

from complaintflow.engine.core.workflow import Workflow
from complaintflow.engine.entrypoints.cli.sample_day import sample_day
from complaintflow.engine.reporting.html import render_html
from complaintflow.engine.reporting.kpi import report_request
from complaintflow.state_store.database import open_engine
from complaintflow.state_store.kpi.queries import compute_report
from tests.support.replayed_store import store_replayed

CHROMIUM = "/usr/bin/chromium"
CHARTS = [
    "chart-volume",
    "chart-first-response",
    "chart-departments",
    "chart-escalation-causes",
    "chart-daily",
]
DOCS_SCREENSHOT = Path(__file__).parents[2] / "docs" / "report.png"


def test_the_html_report_draws_every_chart_offline(
    sqlite_url: str, workflow: Workflow, tmp_path: Path
) -> None:
    """Given the demo's day decided by the engine, when its report opens in Chromium, then the
    five charts have bars of non-zero size and nothing but the file itself was loaded."""
    store_replayed(sqlite_url, sample_day(complaints=400), workflow)
    report = compute_report(open_engine(sqlite_url), report_request(workflow))
    page_file = tmp_path / "report.html"
    page_file.write_text(render_html(report), encoding="utf-8")
    screenshot = tmp_path / "report.png"
    requested: list[str] = []

    assert Path(CHROMIUM).is_file(), f"{CHROMIUM} missing: apt-get install chromium"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True)
        try:
            page = browser.new_page(viewport={"width": 1200, "height": 900})
            page.on("request", lambda request: requested.append(request.url))
            page.goto(page_file.as_uri())
            for chart_id in CHARTS:
                chart = page.locator(f"svg.chart#{chart_id}")
                box = chart.bounding_box()
                assert box is not None and box["width"] > 0 and box["height"] > 0, chart_id
                bars = [_box(bar) for bar in chart.locator("rect.bar").all()]
                assert bars, chart_id
                assert max(b["width"] for b in bars) > 1, chart_id
                assert max(b["height"] for b in bars) > 1, chart_id
            page.screenshot(path=str(screenshot), full_page=True)
        finally:
            browser.close()

    assert requested == [page_file.as_uri()]
    assert screenshot.stat().st_size > 10_000
    if os.environ.get("COMPLAINTFLOW_DOCS_SCREENSHOT") == "1":
        DOCS_SCREENSHOT.parent.mkdir(exist_ok=True)
        shutil.copyfile(screenshot, DOCS_SCREENSHOT)


def _box(element: Locator) -> dict[str, float]:
    box = element.bounding_box()
    assert box is not None
    return dict(box)
