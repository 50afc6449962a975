"""Reading the inbox outside a batch: how far the engine has got with a known set of inputs."""

from collections.abc import Collection

from sqlalchemy import Engine, func, select

from complaintflow.state_store.database import READ_ONLY
from complaintflow.state_store.tables import inbox_t


def processed_inputs(engine: Engine, event_ids: Collection[str], undecodable: int) -> int:
    """How many of these inputs the engine has processed: the event ids in the inbox, plus
    the undecodable ones, counted by the refusals that carry no complaint (at most
    `undecodable`, since earlier refusals of the same kind may be in the store too)."""
    with engine.connect().execution_options(**READ_ONLY) as connection:
        seen = connection.scalar(
            select(func.count()).select_from(inbox_t).where(inbox_t.c.key.in_(list(event_ids)))
        )
        refused_lines = connection.scalar(
            select(func.count()).select_from(inbox_t).where(inbox_t.c.complaint_id.is_(None))
        )
    return (seen or 0) + min(undecodable, refused_lines or 0)
