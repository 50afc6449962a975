"""The department service in the box (examples/department_service.py) run as a department
team would run it, against a worker on a real broker: every assignment of its department is
answered once with department.replied, an assignment seen twice is answered once, and other
departments' assignments are not its business."""

import json
import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

from sqlalchemy import Engine, func, select

from complaintflow.engine.core.topics import Topics
from complaintflow.engine.settings import Settings
from complaintflow.state_store.database import open_engine
from complaintflow.state_store.tables import history_t
from tests.support.broker import publish, read_to_end, read_topic, running_worker, values
from tests.support.builders import MONDAY_9, RECEIVED, raw
from tests.support.waiting import wait_for

EXAMPLE = Path(__file__).parents[2] / "examples" / "department_service.py"


def collaboration(complaint_id: str, department: str) -> list[tuple[bytes, bytes]]:
    payload = {**RECEIVED, "customer_id": complaint_id, "order_id": complaint_id}
    lines = [
        raw("complaint.received", complaint_id=complaint_id, payload=payload),
        raw("agent.responded", complaint_id=complaint_id, at=MONDAY_9 + timedelta(minutes=1)),
        raw(
            "collaboration.requested",
            complaint_id=complaint_id,
            at=MONDAY_9 + timedelta(minutes=2),
            payload={"department": department, "question": "Where is the parcel?"},
        ),
    ]
    return [(complaint_id.encode(), line) for line in lines]


def replies(engine: Engine) -> dict[str, int]:
    with engine.connect() as c:
        rows = c.execute(
            select(history_t.c.complaint_id, func.count())
            .where(history_t.c.type == "department.replied")
            .group_by(history_t.c.complaint_id)
        )
        return dict(rows.all())


def test_the_example_department_service_answers_each_assignment_once(
    broker: str, topics: Topics, sqlite_url: str
) -> None:
    settings = Settings(
        database_url=sqlite_url, topic_prefix=topics.prefix, group_id=f"{topics.prefix}-engine"
    )
    engine = open_engine(sqlite_url)
    service = subprocess.Popen(
        [sys.executable, str(EXAMPLE), "logistics"],
        env={
            **os.environ,
            "COMPLAINTFLOW_BOOTSTRAP_SERVERS": broker,
            "COMPLAINTFLOW_TOPIC_PREFIX": topics.prefix,
        },
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        with running_worker(settings, broker):
            # Given three logistics requests and one for finance
            stream = [m for n in range(3) for m in collaboration(f"C-L{n}", "logistics")]
            publish(broker, topics.inbound, stream + collaboration("C-F", "finance"))
            # When the logistics service runs, it answers each logistics request
            wait_for(lambda: len(replies(engine)) == 3, 60, "three replies applied")
            # and an assignment that reaches it a second time is not answered again
            assignments = topics.assignments("logistics")
            first = read_topic(broker, assignments, count=3)[0]
            publish(broker, assignments, [(first.key, first.value)])
            sentinel = collaboration("C-L9", "logistics")
            publish(broker, topics.inbound, sentinel)
            wait_for(lambda: len(replies(engine)) == 4, 60, "the fourth reply applied")
        # Then each logistics complaint has exactly one reply, finance none
        assert replies(engine) == {"C-L0": 1, "C-L1": 1, "C-L2": 1, "C-L9": 1}
        # (15 events published upstream, and the service's replies)
        inbound = values(read_to_end(broker, topics.inbound))
        sent = [v for v in inbound if v["type"] == "department.replied"]
        assert len(inbound) == 19
        assert len(sent) == 4
        assert {v["payload"]["outcome"] for v in sent} == {"accepted"}
        assert json.loads(first.value)["type"] == "assignment.created"
    finally:
        service.terminate()
        _, stderr = service.communicate(timeout=30)
    assert service.returncode == 0, stderr
