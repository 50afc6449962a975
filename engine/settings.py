"""Configuration: COMPLAINTFLOW_* environment variables, the same names as CLI options."""

from datetime import timedelta
from pathlib import Path
from typing import Literal

from pydantic import AwareDatetime, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from complaintflow.workflows.durations import Duration


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="COMPLAINTFLOW_", extra="ignore")

    bootstrap_servers: str | None = Field(
        default=None, description="Kafka bootstrap servers; unset = start the embedded broker"
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
