"""One engine worker at run time: the inbound loop on this thread, the timer sweeper, the
trend watch and the metrics saver on APScheduler's. `bootstrap.build_worker` builds it."""

import gc
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from apscheduler.schedulers.background import BackgroundScheduler

log = logging.getLogger(__name__)


class Loop(Protocol):
    def run(self) -> None:
        """Consume until told to stop."""
        ...


Job = tuple[Callable[[], object], float]
"""A periodic job and its interval in seconds."""


def settle_heap() -> None:
    """Move what startup built (modules, pydantic and SQLAlchemy schemas, adapters) out of
    the collector's reach: it lives as long as the worker, and walking it on every full
    collection took about a fifth of a batch's time (benchmarks/batch_store.py --no-freeze).
    What of it becomes garbage later (a replaced pooled connection) is never freed: a bounded
    one-off, against a cost paid on every batch."""
    gc.collect()
    gc.freeze()


@dataclass
class Worker:
    worker_id: str
    """Names this worker's saved figures (host, process, a random part)."""
    loop: Loop
    jobs: dict[str, Job]
    consuming: threading.Event
    """Set once the group has assigned this worker its partitions."""
    close: Callable[[], None]
    """Releases what bootstrap opened for this worker (clients, the SQLite lock, the engine)."""

    def run(self) -> None:
        scheduler = BackgroundScheduler(job_defaults={"coalesce": True, "max_instances": 1})
        for job_id, (job, every_s) in self.jobs.items():
            scheduler.add_job(job, "interval", seconds=every_s, id=job_id)
        scheduler.start()
        settle_heap()
        try:
            self.loop.run()
        finally:
            scheduler.shutdown(wait=True)
            self.close()
