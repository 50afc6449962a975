"""Why a Kafka client cannot connect, found by connecting once as a client does.

kafka-python 3.0.12 does not raise the cause. When it cannot connect, its constructors retry
until `bootstrap_timeout_ms` (30 s) and raise `KafkaTimeoutError("Unable to bootstrap from
...")`; the cause reaches only its log, and not reliably. A broker refusing a SASL login sends
its answer and closes the connection at once, and kafka-python's transport drops data that
arrives together with the end of the stream, so most attempts log "socket disconnected" and
never the refusal. So `probe` connects with blocking reads that take each answer in full
before they can see the end of the stream: TCP, the TLS handshake (the same context
kafka-python builds), ApiVersions, SaslHandshake and SaslAuthenticate (kafka-python's own
protocol classes and SASL mechanisms).
"""

import io
import re
import socket
import ssl
import struct
import time
from dataclasses import dataclass
from typing import Any

from kafka.errors import (
    KafkaError,
    UnsupportedSaslMechanismError,
    for_code,
)
from kafka.net.sasl import get_sasl_mechanism
from kafka.protocol.metadata import (
    ApiVersionsRequest,
    ApiVersionsResponse,
    MetadataRequest,
    MetadataResponse,
)
from kafka.protocol.sasl import (
    SaslAuthenticateRequest,
    SaslAuthenticateResponse,
    SaslHandshakeRequest,
    SaslHandshakeResponse,
)

from complaintflow.engine.settings import KafkaConnection

PROBE_TIMEOUT_S = 5.0


DEFAULT_PORT = 9092


_MAX_ANSWER_BYTES = 16 * 1024 * 1024


_METADATA, _SASL_HANDSHAKE, _SASL_AUTHENTICATE = 3, 17, 36  # API keys


_X509_HOST_MISMATCH = {62, 64}  # X509_V_ERR_HOSTNAME_MISMATCH, X509_V_ERR_IP_ADDRESS_MISMATCH


@dataclass(frozen=True)
class Finding:
    """What stands between a client and the broker, in words fit for one line, no secret."""

    reason: str
    refused: bool
    """The broker (or the configuration) refuses this client, so waiting cannot help; False
    for a broker that does not answer, or not yet."""


def login_refused(options: dict[str, Any], broker_says: str) -> Finding:
    who = f"user {options.get('sasl_plain_username')} ({options.get('sasl_mechanism')})"
    broker_says = hidden(broker_says, options)
    if re.search(r"invalid (credentials|username or password)", broker_says, re.IGNORECASE):
        why = "wrong username or password"
    else:
        said = re.sub(r"^(\[Error \d+\] )?(\w+Error: )*", "", broker_says).strip()
        why = f"the broker says: {said}" if said else "refused by the broker"
    return Finding(f"SASL authentication failed for {who}: {why}", refused=True)


def mechanism_missing(options: dict[str, Any], offered: list[str]) -> Finding:
    mechanism = options.get("sasl_mechanism")
    listed = f" (it offers {', '.join(offered)})" if offered else ""
    return Finding(
        f"SASL mechanism {mechanism} is not enabled on the broker{listed}: "
        "set COMPLAINTFLOW_KAFKA_SASL_MECHANISM",
        refused=True,
    )


def not_trusted(options: dict[str, Any], detail: str, host_mismatch: bool) -> Finding:
    if host_mismatch:
        hint = (
            "the broker's certificate is not for that host name; "
            "COMPLAINTFLOW_KAFKA_SSL_CHECK_HOSTNAME=false skips this check"
        )
    elif options.get("ssl_cafile"):
        hint = (
            "the broker's certificate is not trusted: "
            "is COMPLAINTFLOW_KAFKA_SSL_CAFILE the cluster's CA?"
        )
    else:
        hint = (
            "the broker's certificate is not trusted by the system's CAs: "
            "set COMPLAINTFLOW_KAFKA_SSL_CAFILE to the cluster's CA"
        )
    return Finding(f"TLS handshake failed: certificate verify failed: {detail} ({hint})", True)


def offered_in(text: str) -> list[str]:
    found = re.search(r"Enabled mechanisms: \[(.*)\]", text)
    return re.findall(r"'([^']+)'", found.group(1)) if found else []


def servers(bootstrap: str) -> list[tuple[str, int]]:
    """(host, port) of each bootstrap server, as kafka-python reads the list."""
    found = []
    for entry in bootstrap.split(","):
        entry = entry.strip().split("://", 1)[-1]
        if not entry:
            continue
        if entry.startswith("["):
            host, _, rest = entry[1:].partition("]")
            port = rest.removeprefix(":")
        elif entry.count(":") == 1:
            host, port = entry.split(":")
        else:
            host, port = entry, ""
        found.append((host, int(port) if port.isdigit() else DEFAULT_PORT))
    return found


def probe(connection: KafkaConnection, timeout: float = PROBE_TIMEOUT_S) -> Finding | None:
    """Connect to the bootstrap servers in turn as a client would: None once one lets this
    client in; else the first refusal; else what kept the first one from answering."""
    options = connection.client_options()
    sasl = connection.security_protocol.startswith("SASL_")
    if sasl and (options.get("sasl_plain_username") is None or connection.sasl_password is None):
        return Finding(
            f"{connection.security_protocol} needs a username and a password: set "
            "COMPLAINTFLOW_KAFKA_SASL_USERNAME and COMPLAINTFLOW_KAFKA_SASL_PASSWORD",
            refused=True,
        )
    context = None
    if connection.security_protocol.endswith("SSL"):
        try:
            context = _tls_context(connection)
        except (OSError, ValueError) as exc:  # ssl.SSLError is an OSError
            return Finding(f"TLS files unusable: {exc}", refused=True)
    deadline = time.monotonic() + timeout
    first: Finding | None = None
    for host, port in servers(connection.bootstrap_servers):
        finding = _Probe(host, port, options, deadline).run(context)
        if finding is None:
            return None
        if finding.refused:
            return finding
        first = first or finding
    return first or Finding("no bootstrap server listed", refused=True)


def _tls_context(connection: KafkaConnection) -> ssl.SSLContext:
    """kafka-python's client context (KafkaSSLTransport), each file named when it fails."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.check_hostname = connection.ssl_check_hostname
    if connection.ssl_cafile:
        try:
            context.load_verify_locations(str(connection.ssl_cafile))
        except (OSError, ValueError) as exc:
            raise ValueError(
                f"COMPLAINTFLOW_KAFKA_SSL_CAFILE {connection.ssl_cafile}: {_said(exc)}"
            ) from None
    else:
        context.load_default_certs()
    if connection.ssl_certfile:
        try:
            context.load_cert_chain(
                str(connection.ssl_certfile),
                str(connection.ssl_keyfile) if connection.ssl_keyfile else None,
            )
        except (OSError, ValueError) as exc:
            raise ValueError(
                f"COMPLAINTFLOW_KAFKA_SSL_CERTFILE {connection.ssl_certfile} / "
                f"COMPLAINTFLOW_KAFKA_SSL_KEYFILE {connection.ssl_keyfile}: {_said(exc)}"
            ) from None
    return context


def _said(exc: BaseException) -> str:
    """An OS or OpenSSL error without its errno and source position."""
    text = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
    return re.sub(r"^\[[A-Z_0-9: ]+\] | \(_ssl\.c:\d+\)$", "", text)


class _Closed(Exception):
    """The broker closed the connection before its answer was complete."""


class _TlsAnswer(Exception):
    """A TLS record where a Kafka answer was expected: the listener speaks TLS."""


class _Probe:
    """One blocking connection to one bootstrap server, up to a deadline."""

    def __init__(self, host: str, port: int, options: dict[str, Any], deadline: float) -> None:
        self.host = host
        self.port = port
        self.options = options
        self.deadline = deadline
        self.protocol = options["security_protocol"]
        self.correlation_id = 0
        self.sock: socket.socket | None = None
        self.step = "connecting"

    def run(self, context: ssl.SSLContext | None) -> Finding | None:
        where = f"{self.host}:{self.port}"
        try:
            self.sock = socket.create_connection((self.host, self.port), self._left())
            if context is not None:
                self.step = "the TLS handshake"
                self.sock.settimeout(self._left())
                self.sock = context.wrap_socket(self.sock, server_hostname=self.host)
            return self._exchange()
        except ssl.SSLCertVerificationError as exc:
            mismatch = exc.verify_code in _X509_HOST_MISMATCH
            detail = hidden(exc.verify_message or _said(exc), self.options)
            return not_trusted(self.options, detail, mismatch)
        except _TlsAnswer:
            return Finding(
                f"{where} answered with TLS, the security protocol is {self.protocol} "
                "(set COMPLAINTFLOW_KAFKA_SECURITY_PROTOCOL to the listener's)",
                refused=True,
            )
        except (ssl.SSLEOFError, ConnectionResetError, _Closed):
            hint = f"is {self.protocol} the security protocol of that listener?"
            return Finding(f"{where} closed the connection during {self.step} ({hint})", False)
        except ssl.SSLError as exc:
            said = hidden(_said(exc), self.options)
            return Finding(f"TLS handshake failed: {said}", refused=True)
        except socket.gaierror as exc:
            return Finding(f"cannot resolve {self.host}: {exc.strerror}", refused=False)
        except ConnectionRefusedError:
            return Finding(f"connection to {where} refused", refused=False)
        except TimeoutError:
            return Finding(f"{where} did not answer {self.step} in time", refused=False)
        except OSError as exc:
            said = hidden(_said(exc), self.options)
            return Finding(f"cannot connect to {where}: {said}", refused=False)
        except (KafkaError, ValueError, struct.error) as exc:
            said = hidden(str(exc), self.options)
            return Finding(f"{where} gave an unexpected answer to {self.step}: {said}", False)
        finally:
            if self.sock is not None:
                self.sock.close()

    def _exchange(self) -> Finding | None:
        versions = self._call(ApiVersionsRequest(), ApiVersionsResponse, 0)
        if versions.error_code:
            raise for_code(versions.error_code)()
        supported = {v.api_key: v.max_version for v in versions.api_keys}
        if self.protocol.startswith("SASL_"):
            if supported.get(_SASL_HANDSHAKE, 0) < 1 or _SASL_AUTHENTICATE not in supported:
                return None  # a broker older than Kafka 1.0: kafka-python's own login decides
            refused = self._login(supported[_SASL_AUTHENTICATE])
            if refused is not None:
                return refused
        # a request that needs the login: a SASL listener closes before it without one
        version = min(supported.get(_METADATA, 0), MetadataRequest.max_version)
        metadata = self._call(MetadataRequest(topics=[]), MetadataResponse, version)
        if not metadata.brokers:
            return Finding(f"{self.host}:{self.port} lists no brokers yet", refused=False)
        return None

    def _login(self, authenticate_version: int) -> Finding | None:
        mechanism_name = self.options["sasl_mechanism"]
        handshake = self._call(
            SaslHandshakeRequest(mechanism=mechanism_name), SaslHandshakeResponse, 1
        )
        offered = list(handshake.mechanisms or [])
        if handshake.error_code == UnsupportedSaslMechanismError.errno or (
            not handshake.error_code and mechanism_name not in offered
        ):
            return mechanism_missing(self.options, offered)
        if handshake.error_code:
            error = for_code(handshake.error_code).__name__
            return Finding(f"SASL handshake refused: {error} (is that listener SASL?)", True)
        mechanism = get_sasl_mechanism(mechanism_name)(host=self.host, **self.options)
        version = min(1, authenticate_version)
        while not mechanism.is_done():
            request = SaslAuthenticateRequest(auth_bytes=mechanism.auth_bytes())
            answer = self._call(request, SaslAuthenticateResponse, version)
            if answer.error_code:
                return login_refused(self.options, answer.error_message or "")
            mechanism.receive(answer.auth_bytes)
        if not mechanism.is_authenticated():
            user = self.options.get("sasl_plain_username")
            return Finding(
                f"SASL authentication failed for user {user} ({mechanism_name}): "
                "the broker's final answer does not verify",
                refused=True,
            )
        return None

    def _call(self, request: Any, answer_type: Any, version: int) -> Any:
        assert self.sock is not None
        self.step = type(request).__name__.removesuffix("Request")
        self.correlation_id += 1
        request.with_header(correlation_id=self.correlation_id, client_id="complaintflow-probe")
        self.sock.settimeout(self._left())
        self.sock.sendall(request.encode(version=version, header=True, framed=True))
        head = self._read(4)
        if head[0] in (0x15, 0x16) and head[1] == 0x03:  # a TLS alert or handshake record
            raise _TlsAnswer()
        (size,) = struct.unpack(">i", head)
        if not 0 < size <= _MAX_ANSWER_BYTES:
            raise ValueError(f"a frame of {size} bytes")
        answer = answer_type.decode(io.BytesIO(self._read(size)), version=version, header=True)
        if answer.header.correlation_id != self.correlation_id:
            raise ValueError("the answer of another request")
        return answer

    def _read(self, size: int) -> bytes:
        assert self.sock is not None
        data = bytearray()
        while len(data) < size:
            self.sock.settimeout(self._left())
            chunk = self.sock.recv(size - len(data))
            if not chunk:
                raise _Closed()
            data += chunk
        return bytes(data)

    def _left(self) -> float:
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError()
        return left


def hidden(text: str, options: dict[str, Any]) -> str:
    """Words from outside (a broker's message, an error's text) with the password hidden, in
    case one ever carries it; the findings' own words never do."""
    secret = options.get("sasl_plain_password")
    return text.replace(secret, "***") if secret else text
