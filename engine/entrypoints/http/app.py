"""The HTTP service behind `complaintflow serve`: read-only views of the store for ops.

Every route reads through read-only transactions (plain BEGIN on SQLite, so a scrape never
waits for or blocks a worker's write lock). With a bearer token configured, every route but
/healthz requires it; /healthz stays open for load balancers and tells why it fails only to
a caller that may know.

Reads are bounded: at most READERS requests read the store at once, the rest wait their turn
in order, so a burst of reports queues instead of timing out on the connection pool (whose
waiters are served in no particular order). /healthz has a connection of its own, so a load
balancer's check does not queue behind reports.
"""

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import datetime
from functools import partial
from importlib.metadata import version
from typing import Annotated, Any, Literal, TypeVar

from alembic.runtime.migration import MigrationContext
from anyio import CapacityLimiter, to_thread
from fastapi import Depends, FastAPI, Header, HTTPException, Path, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, PlainTextResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from pydantic import BaseModel
from pydantic_core import ErrorDetails
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError
from starlette.exceptions import HTTPException as StarletteHTTPException

from complaintflow.consumers.consumer_lag import ConsumerLag
from complaintflow.engine.core.events import COMPLAINT_ID_PATTERN
from complaintflow.engine.core.topics import Topics
from complaintflow.engine.core.workflow import Workflow
from complaintflow.engine.entrypoints.http.auth import TokenGuard, add_login, wants_html
from complaintflow.engine.entrypoints.http.metrics import StoreCollector
from complaintflow.engine.entrypoints.http.pages import Console, add_pages
from complaintflow.engine.errors import StoreUnavailable, describe_errors
from complaintflow.engine.ports import Clock
from complaintflow.engine.redaction import abridged, error_line, redact, secrets_of
from complaintflow.engine.reporting.kpi import KpiReport
from complaintflow.engine.settings import Settings
from complaintflow.state_store.complaint_view import ComplaintView, complaint_view
from complaintflow.state_store.database import READ_ONLY, store_failure
from complaintflow.state_store.schema import head, head_mismatch
from complaintflow.state_store.similar_cases import SimilarCases, similar_of

READERS = 5
"""Requests that read the store at once (reports, timelines, scrapes)."""
CONNECTIONS = READERS + 1
"""The service's pool: one connection per reader and one for /healthz, none beyond."""
MESSAGE_CHARS = 120

T = TypeVar("T")

ReportBuilder = Callable[[Engine, str | None, str | None], KpiReport]
"""build(engine, since, until) -> the KPI report; the bounds as given (a date, or a
date-time with or without offset, read as `complaintflow report` reads them)."""


class ErrorOut(BaseModel):
    """Every error: one line, no secret, what the caller gave cut short."""

    error: str


class HealthOut(BaseModel):
    status: Literal["ok", "unavailable"]
    reason: str | None = None


ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorOut, "description": what}
    for code, what in (
        (401, "missing or wrong bearer token (or session cookie)"),
        (422, "a bad parameter"),
        (503, "the database cannot be used"),
    )
}
Bound = Annotated[
    str | None,
    Query(
        description="YYYY-MM-DD (that business day's midnight) or an ISO 8601 date-time (with "
        "an offset, or wall time of the business calendar), 1900-01-01 to 9998-12-31; "
        "anything else is a 422 saying what is expected",
        examples=["2025-07-15", "2025-07-15T09:00:00+08:00"],
    ),
]
NOT_FOUND = {**ERRORS, 404: {"model": ErrorOut, "description": "no such complaint"}}


class TimelineEntry(BaseModel):
    version: int
    type: str
    state: str
    occurred_at: datetime
    payload: dict[str, Any]


class ComplaintOut(BaseModel):
    complaint_id: str
    state: str
    version: int
    priority: str
    department: str
    escalation_level: str | None
    category: str
    channels: list[str]
    timeline: list[TimelineEntry]

    @classmethod
    def of(cls, view: ComplaintView) -> "ComplaintOut":
        return cls(
            complaint_id=view.complaint_id,
            state=view.state,
            version=view.version,
            priority=view.priority,
            department=view.department,
            escalation_level=view.escalation_level,
            category=view.category,
            channels=list(view.channels),
            timeline=[
                TimelineEntry(
                    version=h.version,
                    type=h.type,
                    state=h.state,
                    occurred_at=h.occurred_at,
                    payload=h.payload,
                )
                for h in view.history
            ],
        )


def unhealthy(engine: Engine, wanted_revision: str, url: str) -> str | None:
    """Why the service cannot answer from the database at `url`, or None when it can."""
    try:
        with engine.connect().execution_options(**READ_ONLY) as connection:
            revision = MigrationContext.configure(connection).get_current_revision()
    except SQLAlchemyError as exc:
        return store_failure(exc, url)
    return head_mismatch(revision, wanted_revision)


def create_app(
    settings: Settings,
    engine: Engine,
    report: ReportBuilder,
    clock: Clock,
    workflow: Workflow,
    lag: ConsumerLag | None = None,
) -> FastAPI:
    """The service on `engine` (disposed when it stops; its pool should hold CONNECTIONS);
    `report` builds GET /report, `lag` reads the workers' consumer lag for /metrics."""
    readers, checker = CapacityLimiter(READERS), CapacityLimiter(1)

    async def reading(read: Callable[[], T]) -> T:
        return await to_thread.run_sync(read, limiter=readers)

    guard = TokenGuard(
        None if settings.serve_token is None else settings.serve_token.get_secret_value()
    )
    wanted_revision = head(engine)
    inbound = Topics(settings.topic_prefix).inbound
    registry = CollectorRegistry(auto_describe=False)
    registry.register(
        StoreCollector(engine, clock, lag=lag.by_partition if lag else None, topic=inbound)
    )

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        if lag is not None:
            lag.close()
        engine.dispose()

    app = FastAPI(
        title="complaintflow",
        summary="Read-only views of the complaint store for ops.",
        version=version("complaintflow"),
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
        lifespan=lifespan,
    )

    guarded = [Depends(guard)]

    @app.get("/openapi.json", dependencies=guarded, include_in_schema=False)
    async def openapi() -> JSONResponse:
        return JSONResponse(app.openapi())

    add_login(app, guard)
    console = Console(engine, workflow, clock, lag)

    @app.get("/docs", dependencies=guarded, include_in_schema=False)
    async def docs() -> HTMLResponse:
        return console.api_page(app.openapi())

    add_pages(app, console, guard, reading)

    @app.get("/healthz", response_model=HealthOut, responses={503: {"model": HealthOut}})
    async def healthz(authorization: Annotated[str | None, Header()] = None) -> JSONResponse:
        check = partial(unhealthy, engine, wanted_revision, settings.database_url)
        reason = await to_thread.run_sync(check, limiter=checker)
        if reason is None:
            return JSONResponse({"status": "ok"})
        body = {"status": "unavailable"}
        if guard.allows(authorization):
            body["reason"] = reason
        return JSONResponse(body, status_code=503)

    @app.get("/complaints/{complaint_id}", dependencies=guarded, responses=NOT_FOUND)
    async def complaint(
        complaint_id: Annotated[str, Path(pattern=COMPLAINT_ID_PATTERN)],
    ) -> ComplaintOut:
        view = await reading(partial(complaint_view, engine, complaint_id))
        if view is None:
            raise HTTPException(404, f"complaint {abridged(complaint_id)} not found")
        return ComplaintOut.of(view)

    @app.get("/complaints/{complaint_id}/similar", dependencies=guarded, responses=NOT_FOUND)
    async def similar(
        complaint_id: Annotated[str, Path(pattern=COMPLAINT_ID_PATTERN)],
        limit: Annotated[int, Query(ge=1, le=50)] = 5,
    ) -> SimilarCases:
        found = await reading(partial(similar_of, engine, complaint_id, limit))
        if found is None:
            raise HTTPException(404, f"complaint {abridged(complaint_id)} not found")
        return found

    @app.get(
        "/report",
        dependencies=guarded,
        response_model=KpiReport,
        responses={**ERRORS, 200: {"content": {"text/html": {}}}},
    )
    async def kpi_report(request: Request, since: Bound = None, until: Bound = None) -> Any:
        """The KPI report for complaints received in [since, until); a browser gets the
        report page with a form for the period."""
        if not wants_html(request):
            return await reading(partial(report, engine, since, until))
        try:
            built = await reading(partial(report, engine, since or None, until or None))
        except HTTPException as exc:
            return console.report_page(None, since, until, str(exc.detail))
        return console.report_page(built, since, until, "")

    @app.get(
        "/metrics",
        dependencies=guarded,
        response_class=PlainTextResponse,
        responses={**ERRORS, 200: {"content": {CONTENT_TYPE_LATEST: {}}}},
    )
    async def metrics() -> Response:
        scraped = await reading(partial(generate_latest, registry))
        return Response(scraped, media_type=CONTENT_TYPE_LATEST)

    _add_error_handlers(app, settings)
    return app


def _shown(error: ErrorDetails) -> ErrorDetails:
    """A validation error as it may be echoed: every path part and the message cut short
    (a path part may be the caller's own text)."""
    loc = tuple(abridged(str(part)) for part in error["loc"])
    return {**error, "loc": loc, "msg": abridged(error["msg"], MESSAGE_CHARS)}


def _add_error_handlers(app: FastAPI, settings: Settings) -> None:
    """Errors as {"error": "..."}, one line, like the CLI's, without the settings' secrets;
    the store failing is a 503."""
    secrets = secrets_of(settings)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        return JSONResponse({"error": exc.detail}, exc.status_code, headers=exc.headers)

    @app.exception_handler(RequestValidationError)
    async def bad_request(_: Request, exc: RequestValidationError) -> JSONResponse:
        return JSONResponse({"error": describe_errors([_shown(e) for e in exc.errors()])}, 422)

    @app.exception_handler(SQLAlchemyError)
    async def store_error(_: Request, exc: SQLAlchemyError) -> JSONResponse:
        return JSONResponse({"error": store_failure(exc, settings.database_url)}, 503)

    @app.exception_handler(StoreUnavailable)
    async def store_unavailable(_: Request, exc: StoreUnavailable) -> JSONResponse:
        return JSONResponse({"error": redact(error_line(exc), secrets)}, 503)
