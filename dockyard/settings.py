"""One home for configuration: read once at process start, passed down explicitly."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

INSECURE_SECRET = "dockyard-local-development-only"  # noqa: S105 (refused outside local mode)
INSECURE_DEFAULT_REFUSED = (
    "DOCKYARD_SECRET_KEY must be set to a random value outside local mode "
    "(DOCKYARD_MODE=production)"
)
WILDCARD_PAIR = "DOCKYARD_WILDCARD_CERT and DOCKYARD_WILDCARD_KEY are set together, or neither"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="DOCKYARD_", extra="ignore")

    mode: Literal["local", "production"] = "local"
    home: Path = Path(".dockyard")
    database_url: str = ""
    redis_url: str = "redis://127.0.0.1:6379/0"

    temporal_address: str = ""
    temporal_namespace: str = "default"
    temporal_port: int = 7233
    temporal_ui_port: int = 8233
    # Where the link to Temporal leaves the host: TLS (a private CA's roots; a client
    # certificate and key for mutual TLS) and an API key (Temporal Cloud, say).
    temporal_tls: bool = False
    temporal_tls_ca: Path | None = None
    temporal_tls_cert: Path | None = None
    temporal_tls_key: Path | None = None
    temporal_api_key: SecretStr = SecretStr("")
    task_queue_prefix: str = Field(default="dockyard", pattern=r"^[A-Za-z0-9_.-]+$")

    api_port: int = 8000
    api_url: str = ""
    edge_port: int = 8080  # the edge's plain-HTTP port (80 in production)
    edge_https_port: int = 8443  # the edge's HTTPS port (443 in production)
    # Loopback ports of the edge's own control endpoints: Caddy's admin API, and the
    # region edge's status endpoint (which workers ask whether new routes are live).
    edge_admin_port: int = 2019
    edge_control_port: int = 8099
    # Where a region worker asks its edge whether an environment's routes are live;
    # empty: no edge to wait for (a worker without one marks deployments ready at once).
    edge_control_url: str = ""
    # Loopback ports of the worker's /metrics: dockyard's own series (activities, builds,
    # deployments), and the Temporal SDK's (task slots, polls, latencies); 0: not served.
    worker_metrics_port: int = 9102
    worker_sdk_metrics_port: int = 0
    bind_host: str = "127.0.0.1"
    # Where the edge's public ports listen; bind_host when empty. Everything else (API,
    # replicas) keeps bind_host, so a server can publish the edge alone.
    edge_bind_host: str = ""

    # Certificates. "internal": Caddy's own CA (local development, *.localhost); plain
    # HTTP keeps serving beside HTTPS, as browsers do not trust that CA by default.
    # "acme": publicly trusted certificates from acme_ca, issued on demand for the names
    # dockyard serves; plain HTTP redirects to HTTPS. "off": HTTP only.
    tls: Literal["internal", "acme", "off"] = "internal"
    acme_ca: str = "https://acme-v02.api.letsencrypt.org/directory"
    acme_email: str = ""
    # PEM file of roots to trust when talking to the ACME CA (a private or test CA).
    acme_ca_roots: Path | None = None
    # A certificate (and its key) for *.<apex_domain>, served for generated domains.
    wildcard_cert: Path | None = None
    wildcard_key: Path | None = None
    # The hostname at which the edge serves the API and dashboard; empty: not served.
    api_domain: str = ""

    apex_domain: str = "localhost"
    workspace: str = Field(default="local", pattern=r"^[a-z0-9][a-z0-9-]*$")
    regions: Annotated[list[str], NoDecode] = Field(default_factory=lambda: ["local"])
    # The region this process serves (edge, region worker); the first region when unset.
    region: str = ""

    standby_time: timedelta = timedelta(minutes=30)
    preview_idle_time: timedelta = timedelta(hours=6)
    # How long a request to a stopped preview is held while it wakes (sentinel.wake);
    # past it the request gets a 503 with Retry-After and the wake carries on.
    wake_timeout: timedelta = Field(default=timedelta(seconds=30), gt=timedelta(0))
    build_concurrency: int = Field(default=2, ge=1)
    build_timeout: timedelta = timedelta(minutes=30)
    # What apps print is kept this long, and at most this many lines per deployment.
    runtime_log_retention: timedelta = timedelta(days=7)
    runtime_log_max_lines: int = Field(default=100_000, ge=1)
    # The request log (dockyard.analytics): kept this long, shipped through Redis streams
    # named with this prefix, and held at most this many records per process in memory.
    analytics_retention: timedelta = timedelta(days=30)
    analytics_stream: str = Field(default="dockyard:analytics", pattern=r"^[A-Za-z0-9_.:-]+$")
    analytics_queue: int = Field(default=50_000, ge=1)
    # False: the gateway's replicas keep no request log (getGatewayRequests stays empty).
    request_log: bool = True
    # Where an app connected as `owner/name` is fetched from when no webhook says otherwise.
    git_clone_url: str = "https://github.com/{repository}.git"
    # The secret of the GitHub App (or repository webhook) that signs deliveries; without
    # it every delivery is refused, as none can be verified.
    github_webhook_secret: SecretStr = SecretStr("")

    # Address at which the edge reaches ports that instances publish on their Docker host.
    instance_host: str = "127.0.0.1"
    # Address on which app containers publish their ports: loopback keeps them off the
    # network; a region host's private address lets other regions' edges reach them too.
    instance_bind_host: str = "127.0.0.1"
    root_key: str = ""
    secret_key: str = INSECURE_SECRET

    @field_validator("regions", mode="before")
    @classmethod
    def _split_regions(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("regions")
    @classmethod
    def _regions_not_empty(cls, value: list[str]) -> list[str]:
        if not value:
            raise ValueError("DOCKYARD_REGIONS needs at least one region name")
        return value

    @model_validator(mode="after")
    def _fill_defaults(self) -> Settings:
        if not self.database_url:
            self.database_url = f"sqlite:///{self.home.resolve() / 'dockyard.db'}"
        if not self.temporal_address:
            self.temporal_address = f"127.0.0.1:{self.temporal_port}"
        if not self.region:
            self.region = self.regions[0]
        if not self.edge_bind_host:
            self.edge_bind_host = self.bind_host
        if not self.api_url:
            self.api_url = f"http://127.0.0.1:{self.api_port}"
        if self.mode != "local" and self.secret_key == INSECURE_SECRET:
            raise ValueError(INSECURE_DEFAULT_REFUSED)
        if (self.wildcard_cert is None) != (self.wildcard_key is None):
            raise ValueError(WILDCARD_PAIR)
        return self

    @property
    def temporal_ui_url(self) -> str:
        return f"http://127.0.0.1:{self.temporal_ui_port}"


def load_settings() -> Settings:
    return Settings()


def settings_environment(settings: Settings) -> dict[str, str]:
    values: dict[str, str] = {"DOCKYARD_TEMPORAL_UI_URL": settings.temporal_ui_url}
    for name, value in settings.model_dump().items():
        if isinstance(value, list):
            text = ",".join(str(item) for item in value)
        elif isinstance(value, timedelta):
            # Never in exponent notation (30 days is 2.592e+06 with :g), which no parser reads.
            seconds = value.total_seconds()
            text = f"PT{int(seconds) if seconds.is_integer() else seconds}S"
        elif value is None:
            continue
        elif isinstance(value, Path):
            text = str(value.resolve())
        elif isinstance(value, SecretStr):
            text = value.get_secret_value()
        else:
            text = str(value)
        values[f"DOCKYARD_{name.upper()}"] = text
    return values
