"""The KPI report: its model and its text, HTML and SVG renderings."""
