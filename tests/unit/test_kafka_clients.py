"""How a Kafka client that cannot be made is said, on kafka-python errors made up as it raises
them (its messages as 3.0.12 words them), and when the probe runs; no socket is opened (the
probe itself is faked; tests/integration/test_sasl_ssl.py runs it against a real broker)."""

from typing import Any

import pytest
from kafka.errors import (
    KafkaConnectionError,
    KafkaTimeoutError,
    SaslAuthenticationFailedError,
    UnrecognizedBrokerVersion,
    UnsupportedSaslMechanismError,
)

from complaintflow.engine import kafka_clients
from complaintflow.engine.errors import BrokerUnavailable
from complaintflow.engine.kafka_clients import open_client, translate
from complaintflow.engine.kafka_probe import Finding, servers
from complaintflow.engine.settings import KafkaConnection

SECRET = "s3cret-Passw0rd"
SECURED = KafkaConnection(
    bootstrap_servers="kafka-1:9093,kafka-2:9093",
    security_protocol="SASL_SSL",
    sasl_mechanism="SCRAM-SHA-512",
    sasl_username="complaintflow",
    sasl_password=SECRET,
    ssl_cafile="/etc/complaintflow/ca.pem",
)
WHERE = "Kafka at kafka-1:9093,kafka-2:9093"


def no_probe(_: KafkaConnection) -> Finding | None:
    raise AssertionError("an error that names its cause needs no probe")


def said(error: Exception, connection: KafkaConnection = SECURED, **kw: Any) -> str:
    translated = translate(connection, error, **{"probing": no_probe, **kw})
    assert isinstance(translated, BrokerUnavailable)
    return str(translated)


@pytest.mark.parametrize(
    "broker_says",
    [
        "SaslAuthenticationFailedError: Authentication failed during authentication due to "
        "invalid credentials with SASL mechanism SCRAM-SHA-512",
        "SaslAuthenticationFailedError: Authentication failed: Invalid username or password",
    ],
)
def test_a_refused_login_is_a_wrong_username_or_password(broker_says: str) -> None:
    assert said(SaslAuthenticationFailedError(broker_says)) == (
        f"{WHERE}: SASL authentication failed for user complaintflow (SCRAM-SHA-512): "
        "wrong username or password"
    )


def test_another_refusal_says_what_the_broker_said_without_the_password() -> None:
    error = SaslAuthenticationFailedError(f"SaslAuthenticationFailedError: token {SECRET} expired")
    assert said(error) == (
        f"{WHERE}: SASL authentication failed for user complaintflow (SCRAM-SHA-512): "
        "the broker says: token *** expired"
    )


def test_a_mechanism_the_broker_lacks_is_named_with_the_ones_it_offers() -> None:
    error = UnsupportedSaslMechanismError(
        "Kafka broker does not support SCRAM-SHA-512 sasl mechanism. "
        "Enabled mechanisms: ['PLAIN', 'GSSAPI']"
    )
    assert said(error) == (
        f"{WHERE}: SASL mechanism SCRAM-SHA-512 is not enabled on the broker "
        "(it offers PLAIN, GSSAPI): set COMPLAINTFLOW_KAFKA_SASL_MECHANISM"
    )


def handshake_failed(detail: str) -> KafkaConnectionError:
    return KafkaConnectionError(
        "Handshake failed: [SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: "
        f"{detail} (_ssl.c:1006)"
    )


def test_an_untrusted_certificate_points_at_the_cafile() -> None:
    assert said(handshake_failed("unable to get local issuer certificate")) == (
        f"{WHERE}: TLS handshake failed: certificate verify failed: unable to get local issuer "
        "certificate (the broker's certificate is not trusted: "
        "is COMPLAINTFLOW_KAFKA_SSL_CAFILE the cluster's CA?)"
    )


def test_without_a_cafile_the_systems_cas_are_named() -> None:
    connection = SECURED.model_copy(update={"ssl_cafile": None})
    assert said(handshake_failed("self-signed certificate"), connection).endswith(
        "(the broker's certificate is not trusted by the system's CAs: "
        "set COMPLAINTFLOW_KAFKA_SSL_CAFILE to the cluster's CA)"
    )


def test_a_certificate_for_another_host_points_at_the_hostname_check() -> None:
    error = handshake_failed("IP address mismatch, certificate is not valid for '10.0.0.7'.")
    assert said(error).endswith(
        "(the broker's certificate is not for that host name; "
        "COMPLAINTFLOW_KAFKA_SSL_CHECK_HOSTNAME=false skips this check)"
    )


def test_a_bootstrap_timeout_is_explained_by_the_probe() -> None:
    timeout = KafkaTimeoutError("Unable to bootstrap from kafka-1:9093,kafka-2:9093")
    probed: list[KafkaConnection] = []

    def refused_login(connection: KafkaConnection) -> Finding:
        probed.append(connection)
        return Finding("SASL authentication failed for user complaintflow: x", refused=True)

    def not_listening(_: KafkaConnection) -> Finding:
        return Finding("connection to kafka-1:9093 refused", refused=False)

    assert said(timeout, probing=refused_login) == (
        f"{WHERE}: SASL authentication failed for user complaintflow: x"
    )
    assert probed == [SECURED]
    assert said(timeout, probing=not_listening) == (
        f"{WHERE} unreachable: connection to kafka-1:9093 refused"
    )


def test_an_error_the_probe_cannot_explain_is_shown_as_it_is_without_the_password() -> None:
    error = UnrecognizedBrokerVersion(f"nothing for {SECRET}")
    assert said(error, probing=lambda _: None) == (
        f"{WHERE} unreachable: UnrecognizedBrokerVersion: nothing for ***"
    )


@pytest.mark.parametrize(
    ("bootstrap", "expected"),
    [
        ("a:1,b:2", [("a", 1), ("b", 2)]),
        (" kafka ", [("kafka", 9092)]),
        ("[::1]:9093,SASL_SSL://k:9094", [("::1", 9093), ("k", 9094)]),
        ("a:1,", [("a", 1)]),
    ],
)
def test_bootstrap_servers_are_read_as_kafka_python_reads_them(
    bootstrap: str, expected: list[tuple[str, int]]
) -> None:
    assert servers(bootstrap) == expected


class Factory:
    """Stands in for KafkaProducer & co.: records its options, or raises `error`."""

    def __init__(self, error: Exception | None = None) -> None:
        self.error = error
        self.made: list[dict[str, Any]] = []

    def __call__(self, **options: Any) -> str:
        if self.error is not None:
            raise self.error
        self.made.append(options)
        return "client"


@pytest.fixture
def probes(monkeypatch: pytest.MonkeyPatch) -> list[Finding | None]:
    """What the probe answers, in order (empty: it must not run); this process passed none."""
    answers: list[Finding | None] = []

    def fake(connection: KafkaConnection, timeout: float = 5.0) -> Finding | None:
        assert answers, "the probe ran unexpectedly"
        return answers.pop(0)

    monkeypatch.setattr(kafka_clients, "probe", fake)
    monkeypatch.setattr(kafka_clients, "_passed", set())
    return answers


def test_a_plaintext_client_is_made_without_a_probe(probes: list[Finding | None]) -> None:
    factory = Factory()
    assert open_client(factory, KafkaConnection.of("k:9092"), acks="all") == "client"
    assert factory.made == [
        {"bootstrap_servers": "k:9092", "security_protocol": "PLAINTEXT"} | {"acks": "all"}
    ]


def test_a_refused_secured_connection_fails_before_any_client_is_made(
    probes: list[Finding | None],
) -> None:
    probes.append(Finding("SASL authentication failed for user complaintflow: x", refused=True))
    factory = Factory()
    with pytest.raises(BrokerUnavailable, match="SASL authentication failed"):
        open_client(factory, SECURED)
    assert factory.made == []


def test_a_broker_not_answering_yet_is_left_to_kafka_python_and_explained_if_it_fails(
    probes: list[Finding | None],
) -> None:
    probes.append(Finding("connection to kafka-1:9093 refused", refused=False))
    probes.append(Finding("connection to kafka-1:9093 refused", refused=False))
    factory = Factory(KafkaTimeoutError("Unable to bootstrap from kafka-1:9093,kafka-2:9093"))
    with pytest.raises(BrokerUnavailable) as raised:
        open_client(factory, SECURED)
    assert str(raised.value) == f"{WHERE} unreachable: connection to kafka-1:9093 refused"
    assert probes == []


def test_a_connection_the_probe_let_in_is_not_probed_again(probes: list[Finding | None]) -> None:
    probes.append(None)
    factory = Factory()
    open_client(factory, SECURED, acks="all")
    open_client(factory, SECURED, acks=1)
    assert len(factory.made) == 2
    assert factory.made[0]["sasl_plain_password"] == SECRET
