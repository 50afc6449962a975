"""Secrets out of every line the engine writes: the database password and the Kafka SASL
password are known from the settings, so a log record that carries one (a driver's error
message, a client's debug line) is rewritten before any handler sees it. And input echoed
back in an error is cut short, so a hostile 100 KB value is not answered with itself."""

import logging

from complaintflow.engine.errors import StoreUnavailable
from complaintflow.engine.settings import Settings
from complaintflow.state_store.database import passwords_in

HIDDEN = "***"
ECHOED_CHARS = 40


def abridged(text: str, limit: int = ECHOED_CHARS) -> str:
    """`text` as an error may echo it: at most `limit` characters, a cut one ending in …"""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def error_line(exc: Exception) -> str:
    """The one line an error is shown as: a store failure by its first line (a driver's
    hints, and DETAIL lines that may quote stored values, left out), any other error's
    lines joined."""
    text = str(exc)
    if isinstance(exc, StoreUnavailable):
        text = text.strip().split("\n", 1)[0]
    return " ".join(text.split())


def secrets_of(settings: Settings) -> list[str]:
    """Every secret these settings hold, longest first (so no secret hides part of another)."""
    found = passwords_in(settings.database_url)
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
