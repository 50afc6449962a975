"""The KPI report: the read model kept by the batch, its back-fill, and the queries over it."""
