"""The HTTP service of `complaintflow serve`: the API and its metrics."""
