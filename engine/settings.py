"""Configuration: COMPLAINTFLOW_* environment variables, the same names as CLI options."""

from pathlib import Path
from typing import Literal

from pydantic import AwareDatetime, Field
from pydantic_settings import BaseSettings, SettingsConfigDict


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
