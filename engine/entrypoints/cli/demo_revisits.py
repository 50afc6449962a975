"""The demo's survey/call-back service: it answers each `revisit.requested` the engine sends
to complaints.revisits, as a call centre would: most customers are reached and score the
handling, some are not (and the engine asks again, up to its max attempts). The answer to a
request is drawn from the request's own id, so a redelivered request gets the same answer."""

import random

from complaintflow.consumers.desk_service import Answer, reply_id
from complaintflow.engine.core.events import CustomerRevisited, LogEntry
from complaintflow.engine.core.payloads import CustomerRevisitedPayload
from complaintflow.engine.core.vocabulary import EventType
from complaintflow.engine.ports import Clock

REVISIT_DESK = "demo-revisit-desk"
UNREACHED_SHARE = 0.2
CSAT_WEIGHTS = {5: 50, 4: 28, 3: 10, 2: 7, 1: 5}


def _answer(rng: random.Random) -> CustomerRevisitedPayload:
    if rng.random() < UNREACHED_SHARE:
        return CustomerRevisitedPayload(reached=False)
    csat = rng.choices(list(CSAT_WEIGHTS), weights=list(CSAT_WEIGHTS.values()))[0]
    return CustomerRevisitedPayload(
        reached=True, satisfied=csat >= 3, csat=csat, nps=min(10, csat * 2 + rng.randrange(2))
    )


def revisit_desk(clock: Clock) -> Answer:
    """Answers at the demo clock's now, when the call is made."""

    def answer(request: LogEntry) -> list[CustomerRevisited]:
        if request.type is not EventType.REVISIT_REQUESTED:
            return []
        return [
            CustomerRevisited(
                event_id=reply_id(request.event_id),
                type="customer.revisited",
                complaint_id=request.complaint_id,
                occurred_at=clock.now(),
                source=REVISIT_DESK,
                schema_version=1,
                payload=_answer(random.Random(str(request.event_id))),
            )
        ]

    return answer
