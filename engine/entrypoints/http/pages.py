"""The ops console: server-rendered pages beside the JSON API of `complaintflow serve`.

Plain HTML and CSS from Jinja2 templates, SVG drawn on the server as the report's charts
are, no script and no request to any other host. The same token rules as the API (its guard sends a
browser without the session cookie to /login and back).
"""

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cached_property, partial
from typing import Annotated, Any, TypeVar
from zoneinfo import ZoneInfo

from fastapi import Depends, FastAPI, Path
from fastapi.responses import HTMLResponse
from jinja2 import Environment, PackageLoader, select_autoescape
from sqlalchemy import Engine

from complaintflow.consumers.consumer_lag import ConsumerLag
from complaintflow.engine.core.events import COMPLAINT_ID_PATTERN
from complaintflow.engine.core.workflow import Workflow
from complaintflow.engine.entrypoints.http.auth import PAGE_POLICY, TokenGuard
from complaintflow.engine.errors import BrokerUnavailable
from complaintflow.engine.ports import Clock
from complaintflow.engine.reporting.clocks import clocks
from complaintflow.engine.reporting.clocks_svg import clocks_svg
from complaintflow.engine.reporting.html import CSS, report_body
from complaintflow.engine.reporting.kpi import KpiReport, report_request
from complaintflow.engine.service.trend_watch import HANDLED_STATES
from complaintflow.state_store.complaint_view import complaint_view
from complaintflow.state_store.console import live_deadlines, merged_into, overview, search
from complaintflow.state_store.similar_cases import similar_of

REFRESH_S = 10
SOON = timedelta(hours=2)
T = TypeVar("T")
Reading = Callable[[Callable[[], T]], Awaitable[T]]

templates = Environment(
    loader=PackageLoader("complaintflow.engine.entrypoints.http", "templates"),
    autoescape=select_autoescape(["html"]),
)


@dataclass(frozen=True)
class Console:
    engine: Engine
    workflow: Workflow
    clock: Clock
    lag: ConsumerLag | None

    @cached_property
    def tz(self) -> ZoneInfo:
        """The business calendar's zone, read once: `at` formats every time cell with it."""
        return report_request(self.workflow).timezone

    def at(self, moment: datetime | None) -> str:
        return "" if moment is None else moment.astimezone(self.tz).strftime("%Y-%m-%d %H:%M")

    def page(self, name: str, title: str, status: int = 200, **values: Any) -> HTMLResponse:
        html = templates.get_template(name).render(
            title=title, report_css=CSS, at=self.at, tz=self.tz, **values
        )
        return HTMLResponse(html, status_code=status, headers=PAGE_POLICY)

    def overview_page(self) -> HTMLResponse:
        now = self.clock.now()
        local = now.astimezone(self.tz)
        day = local.replace(hour=0, minute=0, second=0, microsecond=0)
        closed = HANDLED_STATES.union(self.workflow.definition.final_states)
        view = overview(self.engine, closed, now, now + SOON, day)
        return self.page(
            "overview.html",
            "Overview",
            refresh=REFRESH_S,
            view=view,
            now=local,
            timezone=str(self.tz),
            soon_hours=int(SOON.total_seconds() // 3600),
            open_total=sum(view.open_by_state.values()),
            lag=self._lag(),
            left=lambda due: _left(due - now),
        )

    def complaint_page(self, complaint_id: str) -> HTMLResponse:
        view = complaint_view(self.engine, complaint_id)
        if view is None:
            return self.page(
                "not_found.html", "Not found", 404, message=f"No complaint {complaint_id[:64]}."
            )
        entries = [(h.type, h.occurred_at, h.payload, h.state) for h in view.history]
        graded = [h.payload for h in view.history if h.type == "complaint.graded"]
        found = similar_of(self.engine, view.complaint_id, 5)
        drawn = clocks(entries, live_deadlines(self.engine, view.complaint_id))
        return self.page(
            "complaint.html",
            f"Complaint {view.complaint_id}",
            c=view,
            reasons=graded[-1].get("reasons", []) if graded else [],
            merged=merged_into(self.engine, view.complaint_id),
            clocks=drawn,
            clocks_svg=clocks_svg(drawn, self.clock.now(), self.tz),
            escalations=[
                (h.payload.get("level"), h.payload.get("cause"), h.occurred_at)
                for h in view.history
                if h.type == "complaint.escalated"
            ],
            similar=found.similar if found else [],
            history=view.history,
            hours=lambda s: "" if s is None else f"{s / 3600:.1f} h",
        )

    def search_page(self, query: str) -> HTMLResponse:
        text = query.strip()[:128]
        found = search(self.engine, text) if text else []
        return self.page("search.html", "Search", query=text, found=found)

    def report_page(
        self, report: KpiReport | None, since: str | None, until: str | None, error: str
    ) -> HTMLResponse:
        return self.page(
            "report.html",
            "KPI report",
            422 if error else 200,
            body=report_body(report) if report else "",
            since=since,
            until=until,
            error=error,
        )

    def api_page(self, api: dict[str, Any]) -> HTMLResponse:
        """/docs: the OpenAPI description read by people, drawn here rather than by a
        script from a CDN (which would run with the session on this origin)."""
        return self.page("docs.html", "API", api=api, type_of=_type_of)

    def _lag(self) -> int | None:
        if self.lag is None:
            return None
        try:
            return sum(self.lag.by_partition().values())
        except BrokerUnavailable:
            return None


def _type_of(schema: dict[str, Any]) -> str:
    """A JSON schema in a few words: its model's name, its type, or the types it may be."""
    if "$ref" in schema:
        return str(schema["$ref"]).rsplit("/", 1)[-1]
    if "anyOf" in schema:
        return " or ".join(_type_of(s) for s in schema["anyOf"])
    if schema.get("type") == "array":
        return f"list of {_type_of(schema.get('items', {}))}"
    return str(schema.get("type", "any"))


def _left(remaining: timedelta) -> str:
    if remaining < timedelta(0):
        return "overdue"
    minutes = int(remaining.total_seconds() // 60)
    return f"{minutes // 60} h {minutes % 60:02d} min" if minutes >= 60 else f"{minutes} min"


def add_pages(app: FastAPI, console: Console, guard: TokenGuard, reading: Reading[Any]) -> None:
    pages = [Depends(guard)]

    @app.get("/", dependencies=pages, include_in_schema=False)
    async def home() -> HTMLResponse:
        return await reading(console.overview_page)

    @app.get("/c/{complaint_id}", dependencies=pages, include_in_schema=False)
    async def complaint_page(
        complaint_id: Annotated[str, Path(pattern=COMPLAINT_ID_PATTERN)],
    ) -> HTMLResponse:
        return await reading(partial(console.complaint_page, complaint_id))

    @app.get("/search", dependencies=pages, include_in_schema=False)
    async def search_page(q: str = "") -> HTMLResponse:
        return await reading(partial(console.search_page, q))
