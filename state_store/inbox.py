"""Reading the inbox outside a batch: how far the engine has got with a known set of inputs."""

from collections.abc import Collection

from sqlalchemy import Engine, func, select

from complaintflow.state_store.database import READ_ONLY
from complaintflow.state_store.tables import chunks, inbox_t


def processed_inputs(engine: Engine, event_ids: Collection[str], undecodable: int) -> int:
    """How many of these inputs the engine has processed: the event ids in the inbox, plus
    the undecodable ones, counted by the refusals that carry no complaint (at most
    `undecodable`, since earlier refusals of the same kind may be in the store too)."""
    with engine.connect().execution_options(**READ_ONLY) as connection:
        seen = sum(
            connection.scalar(
                select(func.count()).select_from(inbox_t).where(inbox_t.c.message_key.in_(chunk))
            )
            or 0
            for chunk in chunks(event_ids)
        )
        refused_lines = connection.scalar(
            select(func.count()).select_from(inbox_t).where(inbox_t.c.complaint_id.is_(None))
        )
    return seen + min(undecodable, refused_lines or 0)
