"""Where people and programs come in: the CLI and the HTTP service."""
