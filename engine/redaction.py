"""Secrets out of every line the engine writes: the database password and the Kafka SASL
password are known from the settings, so a log record that carries one (a driver's error
message, a client's debug line) is rewritten before any handler sees it."""

import logging

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from complaintflow.engine.settings import Settings

HIDDEN = "***"


def secrets_of(settings: Settings) -> list[str]:
    """Every secret these settings hold, longest first (so no secret hides part of another)."""
    found = []
    try:
        password = make_url(settings.database_url).password
    except (ArgumentError, ValueError):
        password = None
    if password:
        found.append(str(password))
    for secret in (settings.kafka_sasl_password, settings.serve_token):
        if secret is not None and secret.get_secret_value():
            found.append(secret.get_secret_value())
    return sorted(set(found), key=len, reverse=True)


def redact(text: str, secrets: list[str]) -> str:
    for secret in secrets:
        text = text.replace(secret, HIDDEN)
    return text


class RedactSecrets(logging.Filter):
    """Rewrites each record's final message with the secrets hidden."""

    def __init__(self, secrets: list[str]) -> None:
        super().__init__()
        self.secrets = secrets

    def filter(self, record: logging.LogRecord) -> bool:
        if self.secrets:
            message = record.getMessage()
            hidden = redact(message, self.secrets)
            if hidden != message:
                record.msg, record.args = hidden, None
        return True
