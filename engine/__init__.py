"""The complaint engine: the pure core, the service that drives its ports, reporting, the
entry points, and bootstrap, the one place that wires adapters from settings."""
