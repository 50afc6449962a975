"""One error tree for the project. Refused input inside the core is a value (`Refusal`), not an
exception; these are for the edges, where they become one-line CLI messages."""

from collections.abc import Sequence

from pydantic_core import ErrorDetails


class ComplaintflowError(Exception):
    """Root of every error complaintflow raises on purpose."""


class WorkflowError(ComplaintflowError):
    """A workflow file that cannot be read or does not describe a valid workflow."""


class InputFileError(ComplaintflowError):
    """A file given on the command line that cannot be read."""


def describe_errors(errors: Sequence[ErrorDetails], *, skip: int = 0, limit: int = 5) -> str:
    """pydantic errors as 'field.path: message; ...', the first `skip` path parts left out."""
    parts = [
        f"{'.'.join(str(p) for p in e['loc'][skip:]) or '(top level)'}: "
        f"{e['msg'].removeprefix('Value error, ')}"
        for e in errors[:limit]
    ]
    more = f" (+{len(errors) - limit} more)" if len(errors) > limit else ""
    return "; ".join(parts) + more


class ConcurrencyConflict(ComplaintflowError):
    """Another worker changed the same complaint, inbox key or order first; the batch is
    rolled back and decided again from fresh state."""


class StoreUnavailable(ComplaintflowError):
    """The database cannot be reached, is not migrated to head, or cannot take this setup."""


class BrokerUnavailable(ComplaintflowError):
    """The Kafka broker cannot be reached or started."""


class ComplaintNotFound(ComplaintflowError):
    """No complaint with that id (or merged id) in the store."""
