"""The pure complaint engine: contract models, decisions, SLA arithmetic, and the CLI."""
