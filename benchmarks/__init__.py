"""Benchmarks: programs that print figures, never tests. Run each from the repository root
as `python -m benchmarks.<name>`."""
