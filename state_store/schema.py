"""Alembic migrations, run programmatically (`complaintflow db upgrade`), and the check that
keeps a worker off a database that is behind head."""

from importlib import resources

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine
from sqlalchemy.exc import OperationalError

from complaintflow.engine.errors import StoreUnavailable
from complaintflow.state_store.database import READ_ONLY

UPGRADE_HINT = "run `complaintflow db upgrade` (with the same --database-url)"


def alembic_config(engine: Engine) -> Config:
    config = Config()
    config.set_main_option(
        "script_location", str(resources.files("complaintflow.state_store").joinpath("migrations"))
    )
    config.set_main_option("sqlalchemy.url", engine.url.render_as_string(hide_password=False))
    return config


def upgrade(engine: Engine) -> str:
    """Migrate to head; returns the revision reached."""
    config = alembic_config(engine)
    try:
        with engine.begin() as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, "head")
    except OperationalError as exc:
        raise StoreUnavailable(f"database unreachable: {exc.orig}") from None
    return head(engine)


def downgrade(engine: Engine, revision: str) -> None:
    """Back to an older schema: for benchmarks and tests that fill a store as it was before a
    migration, to see what the migration makes of it."""
    config = alembic_config(engine)
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, revision)


def head(engine: Engine) -> str:
    found = ScriptDirectory.from_config(alembic_config(engine)).get_current_head()
    assert found is not None
    return found


def current(engine: Engine) -> str | None:
    try:
        # read-only: on SQLite a plain connection would start BEGIN IMMEDIATE and wait
        # behind (or block) a worker's batch just to read the revision
        with engine.connect().execution_options(**READ_ONLY) as connection:
            return MigrationContext.configure(connection).get_current_revision()
    except OperationalError as exc:
        raise StoreUnavailable(f"database unreachable: {exc.orig}") from None


def head_mismatch(at: str | None, wanted: str) -> str | None:
    """Why a database at revision `at` cannot serve code that needs `wanted`, or None."""
    if at == wanted:
        return None
    where = "empty" if at is None else f"at revision {at}"
    return f"database is {where}, code needs {wanted}: {UPGRADE_HINT}"


def require_head(engine: Engine) -> None:
    """Refuse to run against a database whose schema is not the code's."""
    mismatch = head_mismatch(current(engine), head(engine))
    if mismatch is not None:
        raise StoreUnavailable(mismatch)
