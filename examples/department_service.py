"""A department's service: answer every assignment the engine sends one department.

    COMPLAINTFLOW_BOOTSTRAP_SERVERS=kafka:9092 python examples/department_service.py logistics

It accepts every request and names the department responsible; a real one would look the
order up first. Stop it with Ctrl-C (it finishes the batch in hand).
"""

import sys
from datetime import UTC, datetime

from complaintflow.consumers.desk_service import reply_id
from complaintflow.engine.bootstrap import desk_service, require_kafka
from complaintflow.engine.core.events import DepartmentReplied, LogEntry
from complaintflow.engine.core.payloads import DepartmentRepliedPayload
from complaintflow.engine.core.topics import Topics
from complaintflow.engine.core.vocabulary import Department, ReplyOutcome
from complaintflow.engine.entrypoints.cli.worker import stop_on_signals
from complaintflow.engine.settings import Settings

DEPARTMENT = Department(sys.argv[1])


def answer(request: LogEntry) -> list[DepartmentReplied]:
    if request.type != "assignment.created":  # SLA reminders about the department come too
        return []
    reply = DepartmentRepliedPayload(
        department=DEPARTMENT, outcome=ReplyOutcome.ACCEPTED, responsible_party=DEPARTMENT.value
    )
    return [
        DepartmentReplied(
            event_id=reply_id(request.event_id),  # the same on a redelivery: dropped as a copy
            type="department.replied",
            complaint_id=request.complaint_id,
            occurred_at=datetime.now(UTC),
            source=f"{DEPARTMENT.value}-desk",
            schema_version=1,
            payload=reply,
        )
    ]


if __name__ == "__main__":
    settings = Settings()  # COMPLAINTFLOW_* from the environment, as the worker reads them
    topics = Topics(settings.topic_prefix)
    topic, group = topics.assignments(DEPARTMENT), f"{topics.prefix}-{DEPARTMENT}-desk"
    desk_service(require_kafka(settings), topics, topic, group, answer).run(stop_on_signals())
