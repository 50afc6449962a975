"""The core's values as table rows: what a complaint and a history entry write."""

from datetime import datetime
from typing import Any

from complaintflow.engine.core.complaint import Complaint
from complaintflow.engine.core.events import LogEntry


def complaint_columns(c: Complaint, now: datetime) -> dict[str, Any]:
    return {
        "complaint_id": c.complaint_id,
        "state": c.state,
        "version": c.version,
        "workflow_version": c.workflow_version,
        "priority": c.priority.value,
        "department": c.department.value,
        "escalation_level": None if c.escalation_level is None else c.escalation_level.value,
        "category": c.category.value,
        "channels": ",".join(c.channels),
        "customer_id": c.customer_id,
        "order_id": c.order_id,
        "received_at": c.received_at,
        "first_response_at": c.first_response_at,
        "resolved_at": c.resolved_at,
        "overdue": c.overdue,
        "reopen_count": c.reopen_count,
        "aggregate": c.model_dump_json(),
        "updated_at": now,
    }


def history_columns(e: LogEntry, now: datetime) -> dict[str, Any]:
    return {
        "complaint_id": e.complaint_id,
        "version": e.version,
        "event_id": str(e.event_id),
        "type": e.type.value,
        "state": e.state,
        "occurred_at": e.occurred_at,
        "source": e.source,
        "payload": e.payload,
        "recorded_at": now,
    }
