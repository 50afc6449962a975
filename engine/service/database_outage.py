"""One worker's view of whether its database can be used, shared by the consumer loop (which
holds its batch and retries it) and the scheduler's jobs (which skip their runs meanwhile).

Whoever meets the outage first starts it, and only the loop ends it, when a held batch or a
probe gets a transaction again: a job that only read (WAL readers pass a locked SQLite file)
must not declare the database back while writes still fail. So the log says one line when
an outage begins and one when it ends, however many parts of the worker meet it, and past
the limit the loop stops the worker with one line.
"""

import functools
import logging
import threading
import time
from collections.abc import Callable
from datetime import datetime, timedelta

from complaintflow.engine.errors import StoreUnavailable
from complaintflow.engine.service.worker_metrics import WorkerMetrics

log = logging.getLogger(__name__)

OutageReason = Callable[[BaseException], str | None]
"""Why the database cannot be used, as one short line; None for an error that is not that
(a bug, bad data, a conflict with another worker)."""


def spelled(duration: timedelta) -> str:
    """A duration as Go prints one: 5m0s, 1h0m0s, 45s, 1.5s."""
    seconds = duration.total_seconds()
    whole = int(seconds)
    if whole != seconds or whole < 60:
        return f"{seconds:g}s"
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}h{minutes}m{secs}s" if hours else f"{minutes}m{secs}s"


def _wall_clock() -> datetime:
    return datetime.now().astimezone()


class DatabaseOutage:
    """Thread-safe: the loop and the scheduler's jobs report to it from their own threads."""

    def __init__(
        self,
        limit: timedelta,
        reason_of: OutageReason,
        metrics: WorkerMetrics | None = None,
        monotonic: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], datetime] = _wall_clock,
    ) -> None:
        self.limit = limit
        self._reason_of = reason_of
        self._metrics = metrics
        self._monotonic = monotonic
        self._wall_clock = wall_clock
        self._lock = threading.Lock()
        self._since: float | None = None
        self._reason = ""

    def reason_of(self, exc: BaseException) -> str | None:
        return self._reason_of(exc)

    @property
    def down(self) -> bool:
        with self._lock:
            return self._since is not None

    def failed(self, reason: str) -> None:
        """The database could not be used just now; the first failure starts an outage."""
        with self._lock:
            self._reason = reason
            if self._since is not None:
                return
            self._since = self._monotonic()
        log.warning(
            "database unavailable since %s: %s", self._wall_clock().strftime("%H:%M:%S"), reason
        )
        if self._metrics is not None:
            self._metrics.observe_outage_began()

    def recovered(self) -> None:
        """A transaction went through: the outage, if any, is over."""
        with self._lock:
            if self._since is None:
                return
            lasted = self._monotonic() - self._since
            self._since = None
        log.warning("database back after %.1f s", lasted)
        if self._metrics is not None:
            self._metrics.observe_outage_ended(lasted)

    def check_limit(self) -> None:
        """Raise `StoreUnavailable` (one line, exit status 2) once an outage lasts the limit."""
        with self._lock:
            since, reason = self._since, self._reason
        if since is not None and self._monotonic() - since >= self.limit.total_seconds():
            raise StoreUnavailable(
                f"database unavailable for {spelled(self.limit)} "
                f"(limit COMPLAINTFLOW_DATABASE_OUTAGE_LIMIT): {reason}"
            )

    def job(self, run: Callable[[], object]) -> Callable[[], None]:
        """`run` as a scheduler job that rides outages: skipped while the database is down
        (the loop finds out when it is back), and a store failure it meets starts the outage
        instead of reaching APScheduler, which would log it with a traceback every run."""

        @functools.wraps(run)
        def riding_outages() -> None:
            if self.down:
                return
            try:
                run()
            except Exception as exc:
                reason = self.reason_of(exc)
                if reason is None:
                    raise
                self.failed(reason)

        return riding_outages
