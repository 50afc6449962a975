"""The `complaintflow` command, one module per command group."""
