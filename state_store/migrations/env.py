"""Alembic environment: run with the connection or URL that `state_store.schema` hands over."""

from alembic import context
from sqlalchemy import engine_from_config, pool

from complaintflow.state_store.models import Base, described_by_models

config = context.config
connection = config.attributes.get("connection")

if connection is not None:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=True,
        include_name=described_by_models,
    )
    with context.begin_transaction():
        context.run_migrations()
else:
    engine = engine_from_config(
        config.get_section(config.config_ini_section) or {},
        prefix="sqlalchemy.",
        poolclass=pool.NullPool,
    )
    with engine.connect() as conn:
        context.configure(
            connection=conn,
            target_metadata=Base.metadata,
            render_as_batch=True,
            include_name=described_by_models,
        )
        with context.begin_transaction():
            context.run_migrations()
