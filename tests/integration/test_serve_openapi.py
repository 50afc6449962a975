"""`complaintflow serve` described by its own OpenAPI: /openapi.json and /docs are served
(behind the token when one is set), every JSON endpoint has a typed response, and
schemathesis, generating requests from that description, finds no 500 and no answer
outside it. A browser gives the token once at /login and then holds a session cookie."""

from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.checks import positive_data_acceptance

from complaintflow.engine.bootstrap import build_http_app, load_workflow
from complaintflow.engine.entrypoints.cli.sample_day import sample_day
from complaintflow.engine.entrypoints.cli.serve import kpi_report
from complaintflow.engine.entrypoints.http.auth import SESSION_COOKIE
from complaintflow.engine.settings import Settings
from complaintflow.state_store.database import open_engine
from complaintflow.state_store.schema import upgrade
from tests.support.replayed_store import store_replayed

TOKEN = "s3cret-token-for-tests"


def served_store(directory: Path) -> str:
    url = f"sqlite:///{directory / 'complaintflow.db'}"
    upgrade(open_engine(url))
    store_replayed(url, sample_day(complaints=40), load_workflow())
    return url


def service(url: str, token: str | None = None) -> FastAPI:
    config = Settings(database_url=url, serve_token=token)
    return build_http_app(config, report=kpi_report(load_workflow()))


@pytest.fixture(scope="module")
def store_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    return served_store(tmp_path_factory.mktemp("openapi"))


@pytest.fixture(scope="module")
def open_service(store_url: str) -> Iterator[FastAPI]:
    app = service(store_url)
    with TestClient(app):  # runs the lifespan, so the store is disposed afterwards
        yield app


def test_generated_requests_get_the_answers_the_openapi_describes(open_service: FastAPI) -> None:
    # Given the service's own description of itself
    schema = schemathesis.openapi.from_asgi("/openapi.json", open_service)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 5

    # When schemathesis generates requests for every operation from it (valid and invalid
    # ids, limits, periods), each is answered as described: no 500, a documented status, a
    # body of the documented shape
    @given(case=st.one_of(*(operation.as_strategy() for operation in operations)))
    @settings(
        max_examples=200,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
    )
    def answered_as_described(case: schemathesis.Case) -> None:
        # (a report bound can have the documented shape and still be no date, 2025-02-30:
        # a 422 for it is right, so schema-valid input may be refused there)
        case.call_and_validate(excluded_checks=[positive_data_acceptance])

    answered_as_described()


def test_every_json_endpoint_has_a_typed_response(open_service: FastAPI) -> None:
    with TestClient(open_service) as client:
        paths = client.get("/openapi.json").json()["paths"]
    for path in ("/complaints/{complaint_id}", "/complaints/{complaint_id}/similar", "/report"):
        ok = paths[path]["get"]["responses"]["200"]["content"]["application/json"]["schema"]
        assert "$ref" in ok, (path, ok)
        assert "404" in paths[path]["get"]["responses"] or path == "/report"


def test_docs_and_the_schema_need_the_token_and_a_browser_gives_it_once(store_url: str) -> None:
    # (on loopback: a cookie for any other host is Secure, and this client speaks HTTP)
    with TestClient(service(store_url, TOKEN), base_url="http://127.0.0.1") as client:
        # Given a guarded service: without the token, no schema, no docs, no data
        assert client.get("/openapi.json").status_code == 401
        assert client.get("/docs").status_code == 401
        assert client.get("/report").status_code == 401
        # a wrong token at the sign-in form is refused, with no cookie
        wrong = client.post(
            "/login",
            content="token=nope&next=/docs",
            follow_redirects=False,
            headers={"content-type": "application/x-www-form-urlencoded"},
        )
        assert wrong.status_code == 401 and SESSION_COOKIE not in wrong.cookies
        # When the right token is given once
        signed_in = client.post(
            "/login",
            content=f"token={TOKEN}&next=/docs",
            follow_redirects=False,
            headers={"content-type": "application/x-www-form-urlencoded"},
        )
        # Then the browser holds an HttpOnly, SameSite=Strict session cookie (not the
        # token), goes on to /docs, and reads with it
        assert signed_in.status_code == 303 and signed_in.headers["location"] == "/docs"
        cookie = signed_in.headers["set-cookie"]
        assert "HttpOnly" in cookie and "SameSite=strict" in cookie and TOKEN not in cookie
        docs = client.get("/docs")
        assert docs.status_code == 200 and "GET /report" in docs.text
        assert "default-src 'none'" in docs.headers["content-security-policy"]
        assert client.get("/openapi.json").json()["info"]["title"] == "complaintflow"
        assert client.get("/report").status_code == 200
        # and a next that points at another host is not followed
        elsewhere = client.post(
            "/login",
            content=f"token={TOKEN}&next=//evil.example/",
            follow_redirects=False,
            headers={"content-type": "application/x-www-form-urlencoded"},
        )
        assert elsewhere.headers["location"] == "/"
