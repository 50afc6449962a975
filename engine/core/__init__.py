"""The pure decision core: contract models, the decision function, SLA arithmetic on
business calendars, grading, routing and refusals. Nothing here does I/O or reads a clock."""
