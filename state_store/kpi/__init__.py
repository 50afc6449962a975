"""The KPI report\x27s queries: one pass over complaints, one over history, shared SQL."""
