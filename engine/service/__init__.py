"""The code that drives the ports: the batch processor, the worker loop, trend watch and
the worker's metrics."""
