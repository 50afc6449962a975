"""Similar resolved cases on SQLite (FTS5, trigram tokenizer) and PostgreSQL (pg_trgm, GIN):
the index is written in the batch's transaction, a query ranks resolved complaints of the
same category first and by how close their words are (Chinese too), and the top three go
on the assignment.created a department receives."""

import itertools
import json
import subprocess
import sys
from datetime import timedelta
from typing import Any

import pytest
from alembic import command
from sqlalchemy import Engine, text

from complaintflow.engine.core.messages import InboundMessage
from complaintflow.engine.core.replay import replay
from complaintflow.engine.core.topics import Topics
from complaintflow.engine.core.vocabulary import Category
from complaintflow.engine.core.workflow import Workflow
from complaintflow.engine.service.clock import FixedClock
from complaintflow.engine.service.processing import BatchProcessor
from complaintflow.state_store.database import open_engine
from complaintflow.state_store.replayed import write_replay
from complaintflow.state_store.schema import alembic_config
from complaintflow.state_store.similar_cases import similar_of, similar_to
from complaintflow.state_store.unit_of_work import SqlAlchemyStore
from tests.support.builders import MONDAY_9, RECEIVED, raw

T = MONDAY_9
TOPICS = Topics("complaints")
CLI = [sys.executable, "-m", "complaintflow.engine"]
SIMILAR_JSON = [*CLI, "similar", "--format", "json"]


class Desk:
    """Events through the worker's own batch path (BatchProcessor over the real store)."""

    def __init__(self, engine: Engine, workflow: Workflow) -> None:
        self.processor = BatchProcessor(
            SqlAlchemyStore(engine, FixedClock(T), precedent_budget=timedelta(seconds=30)),
            workflow,
            FixedClock(T),
            TOPICS,
            lambda _: 0,
        )
        self.offsets = itertools.count()

    def send(self, *values: bytes) -> Any:
        return self.processor.process(
            [
                InboundMessage(
                    topic=TOPICS.inbound, partition=0, offset=next(self.offsets), key=None, value=v
                )
                for v in values
            ]
        )


def complaint(cid: str, category: str, description: str, resolved: bool) -> list[bytes]:
    payload = {
        **RECEIVED,
        "customer_id": cid,
        "order_id": cid,
        "category": category,
        "description": description,
    }
    lines = [
        raw("complaint.received", complaint_id=cid, payload=payload),
        raw("agent.responded", complaint_id=cid, at=T + timedelta(minutes=1)),
    ]
    if resolved:
        lines.append(
            raw(
                "complaint.resolved",
                complaint_id=cid,
                at=T + timedelta(hours=2),
                payload={"resolution": "refund", "amount": "10.00"},
            )
        )
    return lines


@pytest.fixture
def desk(database_url: str, workflow: Workflow) -> Desk:
    engine = open_engine(database_url)
    d = Desk(engine, workflow)
    d.send(
        *complaint("C-A", "refund", "退款一直没有到账，已经等了两周", resolved=True),
        *complaint("C-B", "refund", "refund never arrived after two weeks", resolved=True),
        *complaint("C-C", "logistics", "退款没有到账，快递也丢了", resolved=True),
        *complaint("C-D", "refund", "退款没有到账", resolved=False),
        *complaint("C-E", "sizing", "the shoes are too small", resolved=True),
    )
    return d


def found(database_url: str, description: str, category: str, exclude: str = "C-X") -> list[str]:
    with open_engine(database_url).connect() as c:
        cases = similar_to(c, description, Category(category), exclude, 5, indexed=False)
    return [case.complaint_id for case in cases]


def test_resolved_cases_rank_same_category_first_then_by_closeness(
    desk: Desk, database_url: str
) -> None:
    # C-D is close but not resolved; C-E shares no words; C-C is close but logistics
    assert found(database_url, "我的退款还没有到账", "refund") == ["C-A", "C-C"]
    assert found(database_url, "my refund never arrived", "refund") == ["C-B"]
    assert found(database_url, "我的退款还没有到账", "logistics") == ["C-C", "C-A"]


def test_a_case_carries_its_resolution_handling_time_and_a_score(
    desk: Desk, database_url: str
) -> None:
    with open_engine(database_url).connect() as c:
        (case,) = similar_to(c, "refund never arrived", Category.REFUND, "C-X", 1, indexed=False)
    assert case.complaint_id == "C-B"
    assert case.resolution == "refund"
    assert case.handling_s == 2 * 3600
    assert 0 < case.score <= 1
    assert case.description == "refund never arrived after two weeks"


def test_the_complaint_itself_is_never_its_own_precedent(desk: Desk, database_url: str) -> None:
    assert "C-A" not in found(database_url, "退款一直没有到账，已经等了两周", "refund", "C-A")


def test_a_stored_complaint_with_words_of_its_own_still_finds_precedent(
    desk: Desk, database_url: str
) -> None:
    # Given a resolved lost parcel, and a stored one whose text also holds a name and a code
    # nobody else wrote (its rarest trigrams are its own)
    desk.send(
        *complaint("C-P", "logistics", "快递丢失了，三天没有更新", resolved=True),
        *complaint(
            "C-Q", "logistics", "快递丢失了，物流三天没有更新 联系人张伟明 xqzvbnkw", resolved=False
        ),
    )
    # When its similar cases are asked for
    with open_engine(database_url).connect() as c:
        found_for = similar_of(c.engine, "C-Q", 3)
    # Then the resolved lost parcel is found
    assert found_for is not None
    assert [case.complaint_id for case in found_for.similar][:1] == ["C-P"]


def test_the_index_is_written_in_the_batch_transaction(desk: Desk, database_url: str) -> None:
    with open_engine(database_url).connect() as c:
        indexed = set(c.scalars(text("SELECT complaint_id FROM complaint_text")))
    assert indexed == {"C-A", "C-B", "C-C", "C-D", "C-E"}


def test_an_assignment_carries_the_three_closest_resolved_cases(
    desk: Desk, database_url: str
) -> None:
    changes = desk.send(
        *complaint("C-F", "refund", "退款还没有到账", resolved=False),
        raw(
            "collaboration.requested",
            complaint_id="C-F",
            at=T + timedelta(minutes=5),
            payload={"department": "finance", "question": "Where is the refund?"},
        ),
    )
    (assignment,) = [e for e in changes.history if e.type == "assignment.created"]
    similar = assignment.payload["similar"]
    assert [s["complaint_id"] for s in similar] == ["C-A", "C-C"]
    assert similar[0]["resolution"] == "refund"
    assert similar[0]["category"] == "refund"


def test_the_migration_indexes_the_complaints_already_stored(
    database_url: str, workflow: Workflow
) -> None:
    # Given a store at the revision before the index, holding a replayed complaint
    engine = open_engine(database_url)
    config = alembic_config(engine)
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "0002")
    write_replay(engine, replay(complaint("C-OLD", "refund", "退款没有到账", True), workflow), T)
    # When it is upgraded
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "head")
    # Then its description is in the index
    assert found(database_url, "退款还没有到账", "refund") == ["C-OLD"]


def test_the_similar_command_prints_the_contracts_json(desk: Desk, database_url: str) -> None:
    desk.send(*complaint("C-G", "refund", "我的退款一直没有到账", resolved=False))
    result = subprocess.run(
        [*SIMILAR_JSON, "C-G", "--limit", "1", "--database-url", database_url],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    body = json.loads(result.stdout)
    assert body["complaint_id"] == "C-G"
    assert [(s["complaint_id"], s["category"], s["resolution"]) for s in body["similar"]] == [
        ("C-A", "refund", "refund")
    ]
    assert set(body["similar"][0]) == {
        "complaint_id",
        "category",
        "resolution",
        "handling_s",
        "score",
        "description",
    }
    unknown = subprocess.run(
        [*CLI, "similar", "C-404", "--database-url", database_url],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert unknown.returncode == 2
    assert unknown.stderr.count("\n") == 1 and "C-404 not found" in unknown.stderr
