"""Configuration: COMPLAINTFLOW_* environment variables, the same names as CLI options."""

from datetime import timedelta
from pathlib import Path
from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from complaintflow.workflows.durations import Duration

SecurityProtocol = Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"]
SaslMechanism = Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"]


class KafkaConnection(BaseModel, frozen=True):
    """Where a Kafka client connects and how it proves who it is. Every client the project
    makes takes its options from here, so a secured cluster needs no code path of its own."""

    bootstrap_servers: str
    security_protocol: SecurityProtocol = "PLAINTEXT"
    sasl_mechanism: SaslMechanism | None = None
    sasl_username: str | None = None
    sasl_password: SecretStr | None = None
    ssl_cafile: Path | None = None
    ssl_certfile: Path | None = None
    ssl_keyfile: Path | None = None
    ssl_check_hostname: bool = True
    fetch_max_wait_ms: int = Field(default=500, ge=0, le=1000)
    """How long the broker may hold a consumer's fetch when nothing is there. Apache Kafka
    answers as soon as a record arrives, so its default costs no latency; Tansu answers only
    when the wait is over, so on Tansu this is added to every event's way through a quiet
    worker (p50 132 ms at 500, 4.7 ms at 10), and the embedded broker uses 10."""

    @classmethod
    def of(cls, where: "KafkaConnection | str") -> "KafkaConnection":
        """A plain address is a PLAINTEXT connection (the embedded broker, a test's broker)."""
        return where if isinstance(where, KafkaConnection) else cls(bootstrap_servers=where)

    def client_options(self) -> dict[str, Any]:
        """kafka-python's keyword arguments for this connection."""
        options: dict[str, Any] = {
            "bootstrap_servers": self.bootstrap_servers,
            "security_protocol": self.security_protocol,
        }
        if self.security_protocol.startswith("SASL_"):
            options["sasl_mechanism"] = self.sasl_mechanism or "PLAIN"
            options["sasl_plain_username"] = self.sasl_username
            options["sasl_plain_password"] = (
                None if self.sasl_password is None else self.sasl_password.get_secret_value()
            )
        if self.security_protocol.endswith("SSL"):
            options["ssl_check_hostname"] = self.ssl_check_hostname
            for name in ("ssl_cafile", "ssl_certfile", "ssl_keyfile"):
                value = getattr(self, name)
                if value is not None:
                    options[name] = str(value)
        return options


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="COMPLAINTFLOW_", extra="ignore")

    bootstrap_servers: str | None = Field(
        default=None, description="Kafka bootstrap servers; unset = start the embedded broker"
    )
    kafka_security_protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = "PLAINTEXT"
    kafka_sasl_mechanism: Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"] | None = None
    kafka_sasl_username: str | None = None
    kafka_sasl_password: SecretStr | None = None
    kafka_ssl_cafile: Path | None = None
    kafka_ssl_certfile: Path | None = None
    kafka_ssl_keyfile: Path | None = None
    kafka_ssl_check_hostname: bool = True
    kafka_fetch_max_wait: Duration = Field(
        default=timedelta(milliseconds=500),
        ge=timedelta(0),
        # kafka-python wants it under every consumer's request timeout (serve's lag: 5 s)
        le=timedelta(seconds=1),
        description="longest a broker holds an empty fetch (Tansu: 10ms for low latency)",
    )
    database_url: str = Field(default="sqlite:///complaintflow.db")
    topic_prefix: str = Field(default="complaints", pattern=r"^[A-Za-z0-9._-]{1,100}$")
    workflow: Path | None = None
    group_id: str = "complaintflow"
    clock_speed: float = Field(default=1.0, gt=0)
    clock_start: AwareDatetime | None = Field(
        default=None, description="where the worker's clock starts (drills, acceptance runs)"
    )
    batch_size: int = Field(default=1000, ge=1, le=50_000)
    max_event_bytes: int = Field(
        default=1_048_576,
        ge=1,
        description="inbound values larger than this are dead-lettered as too_large, unparsed",
    )
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field(
        default="INFO", description="the worker's log on stderr (kafka-python's own: warnings)"
    )

    serve_host: str = Field(default="127.0.0.1", min_length=1)
    serve_port: int = Field(default=8080, ge=1, le=65_535)
    serve_token: SecretStr | None = Field(
        default=None,
        min_length=16,
        description="bearer token of `complaintflow serve`; without one it binds loopback only",
    )

    trend_window: Duration = Field(default=timedelta(hours=1), gt=timedelta(0))
    trend_baseline_windows: int = Field(default=24, ge=1, le=10_000)
    trend_spike_factor: float = Field(default=2.0, ge=1.0)
    trend_min_count: int = Field(default=10, ge=1)
    trend_overdue_share: float = Field(default=0.2, gt=0, le=1)
    trend_check_every: Duration = Field(default=timedelta(minutes=1), gt=timedelta(0))

    database_outage_limit: Duration = Field(
        default=timedelta(minutes=5),
        gt=timedelta(0),
        description="how long a worker rides out a database it cannot use before it stops",
    )
    precedent_budget: Duration = Field(
        default=timedelta(milliseconds=20),
        ge=timedelta(0),
        description="how long a batch may look for its assignments' similar resolved cases",
    )
    shutdown_drain: Duration = Field(
        default=timedelta(seconds=10),
        ge=timedelta(0),
        description="how long a stopping worker keeps publishing its outbox",
    )
    timer_sweep_every: Duration = Field(
        default=timedelta(milliseconds=250),
        gt=timedelta(0),
        le=timedelta(minutes=1),
        description="how often each worker looks for due timers (wall-clock time)",
    )
    sqlite_busy_timeout: Duration = Field(
        default=timedelta(seconds=5),
        gt=timedelta(0),
        description="how long a worker waits for SQLite's write lock before it counts the "
        "database as unavailable (under max_poll_interval_ms, so it stays in its group)",
    )

    def kafka(self, bootstrap_servers: str | None = None) -> KafkaConnection:
        """The connection to `bootstrap_servers` (default: the configured ones) with the
        configured security; the embedded broker passes its own address."""
        servers = bootstrap_servers or self.bootstrap_servers
        if not servers:
            raise ValueError("no Kafka bootstrap servers configured")
        return KafkaConnection(
            bootstrap_servers=servers,
            security_protocol=self.kafka_security_protocol,
            sasl_mechanism=self.kafka_sasl_mechanism,
            sasl_username=self.kafka_sasl_username,
            sasl_password=self.kafka_sasl_password,
            ssl_cafile=self.kafka_ssl_cafile,
            ssl_certfile=self.kafka_ssl_certfile,
            ssl_keyfile=self.kafka_ssl_keyfile,
            ssl_check_hostname=self.kafka_ssl_check_hostname,
            fetch_max_wait_ms=int(self.kafka_fetch_max_wait.total_seconds() * 1000),
        )
