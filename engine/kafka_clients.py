"""Every Kafka client is made here (`open_client`), and a client that cannot be made is one
`BrokerUnavailable` that says why: a wrong password, an untrusted certificate, a SASL mechanism
the broker does not offer, a broker that is not there (see kafka_probe.py for how).

A secured connection is probed before its first client in this process is made: a refused
login, an untrusted certificate or a missing mechanism fails in well under a second, instead of
after kafka-python's 30 s of retries. A probe that cannot reach the broker decides nothing: the
client then waits for it as long as kafka-python does, so a broker that is still starting is
waited for as before. When a client cannot be made, the probe runs again to say why.
"""

import logging
import re
from collections.abc import Callable
from typing import Any, TypeVar

from kafka import KafkaConsumer
from kafka.errors import (
    KafkaConnectionError,
    KafkaError,
    SaslAuthenticationFailedError,
    UnsupportedSaslMechanismError,
)

from complaintflow.engine.errors import BrokerUnavailable
from complaintflow.engine.kafka_probe import (
    PROBE_TIMEOUT_S,
    Finding,
    hidden,
    login_refused,
    mechanism_missing,
    not_trusted,
    offered_in,
    probe,
)
from complaintflow.engine.settings import KafkaConnection

log = logging.getLogger(__name__)


Client = TypeVar("Client")


_passed: set[KafkaConnection] = set()
"""Secured connections a probe got through in this process: their later clients skip it."""


def open_client(
    factory: Callable[..., Client], connection: KafkaConnection, **options: Any
) -> Client:
    """`factory` (KafkaProducer, KafkaConsumer, KafkaAdminClient) with the connection's options
    and `options`; BrokerUnavailable with the reason when it cannot be made. A secured
    connection is probed first, once per process (see above)."""
    bootstrap_s = options.get("bootstrap_timeout_ms", 30_000) / 1000
    probe_s = min(PROBE_TIMEOUT_S, bootstrap_s / 2)
    if connection.security_protocol != "PLAINTEXT" and connection not in _passed:
        finding = probe(connection, probe_s)
        if finding is None:
            _passed.add(connection)
        elif finding.refused:
            raise unavailable(connection, finding)
        else:
            log.debug("Kafka at %s: %s", connection.bootstrap_servers, finding.reason)
    if factory is KafkaConsumer:
        options.setdefault("fetch_max_wait_ms", connection.fetch_max_wait_ms)
    try:
        return factory(**connection.client_options(), **options)
    except KafkaError as exc:
        raise translate(connection, exc, lambda c: probe(c, probe_s)) from None


def translate(
    connection: KafkaConnection,
    error: KafkaError,
    probing: Callable[[KafkaConnection], Finding | None] | None = None,
) -> BrokerUnavailable:
    """kafka-python's `error` as one BrokerUnavailable line: its own cause when it carries one,
    else what a probe of the connection (`probing`, default `probe`) finds, else the error."""
    finding = finding_in(error, connection)
    if finding is None:
        finding = (probing or probe)(connection)
    return unavailable(connection, finding, error)


def unavailable(
    connection: KafkaConnection, finding: Finding | None, error: Exception | None = None
) -> BrokerUnavailable:
    where = f"Kafka at {connection.bootstrap_servers}"
    if finding is None:
        said = hidden(str(error), connection.client_options())
        return BrokerUnavailable(f"{where} unreachable: {said}")
    if finding.refused:
        return BrokerUnavailable(f"{where}: {finding.reason}")
    return BrokerUnavailable(f"{where} unreachable: {finding.reason}")


def finding_in(error: KafkaError, connection: KafkaConnection) -> Finding | None:
    """The cause a kafka-python error already names (when it raises one, or a later version
    does), or None for one that does not (a bootstrap timeout)."""
    options = connection.client_options()
    text = hidden(str(error), options)
    if isinstance(error, SaslAuthenticationFailedError):
        return login_refused(options, text)
    if isinstance(error, UnsupportedSaslMechanismError):
        return mechanism_missing(options, offered_in(text))
    if isinstance(error, KafkaConnectionError) and "CERTIFICATE_VERIFY_FAILED" in text:
        found = re.search(r"certificate verify failed: (.*?)(?: \(_ssl\.c:\d+\))?$", text)
        detail = found.group(1) if found else "certificate verify failed"
        return not_trusted(options, detail, host_mismatch="mismatch" in detail)
    return None
