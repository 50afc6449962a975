"""SQLAlchemy persistence: models, the unit of work, Alembic migrations. SQLite by default,
PostgreSQL for several workers; one code path."""
