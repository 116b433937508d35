"""How an environment runs and builds its app; frozen into every deployment.

These models travel in Temporal payloads and API bodies alike, so they hold plain data only.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

HEALTH_PATH_PATTERN = r"^(/[\w\-]+)+(\.[\w]+)?$|^/$"


class HealthCheck(BaseModel):
    """An HTTP probe; the defaults are Unkey's."""

    model_config = ConfigDict(frozen=True)

    method: Literal["GET", "POST"] = "GET"
    path: str = Field(default="/", min_length=1, max_length=512, pattern=HEALTH_PATH_PATTERN)
    interval_seconds: int = Field(default=10, ge=1, le=3600)
    timeout_seconds: int = Field(default=5, ge=1, le=3600)
    failure_threshold: int = Field(default=3, ge=1, le=100)
    initial_delay_seconds: int = Field(default=0, ge=0, le=3600)

    @property
    def startup_deadline_seconds(self) -> float:
        """How long a new instance may take to answer before the deployment fails."""
        return (
            self.initial_delay_seconds
            + self.interval_seconds * self.failure_threshold
            + self.timeout_seconds
        )


class RuntimeSpec(BaseModel):
    model_config = ConfigDict(frozen=True)

    port: int = Field(default=8080, ge=1, le=65535)
    vcpus: float = Field(default=0.5, gt=0, le=64)
    memory_mib: int = Field(default=256, ge=16, le=262144)
    storage_mib: int = Field(default=0, ge=0)
    command: list[str] = Field(default_factory=list)
    shutdown_signal: Literal["SIGTERM", "SIGINT", "SIGQUIT", "SIGKILL"] = "SIGTERM"
    upstream_protocol: Literal["http1", "h2c"] = "http1"
    healthcheck: HealthCheck | None = None
    openapi_spec_path: str | None = None


class RegionSpec(BaseModel):
    model_config = ConfigDict(frozen=True)

    name: str = Field(min_length=1, max_length=64, pattern=r"^[a-z0-9][a-z0-9-]*$")
    replicas: int = Field(default=1, ge=1, le=32)


class BuildSpec(BaseModel):
    model_config = ConfigDict(frozen=True)

    dockerfile: str = "Dockerfile"
    root_directory: str = "."
    watch_paths: list[str] = Field(default_factory=list)
    auto_deploy: bool = True
