"""Declarative workflow definitions: the complaint state machine, SLAs, calendars, grading,
routing and the escalation ladder, as data files editable without code changes."""
