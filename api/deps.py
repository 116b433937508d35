"""What a route may ask for, as Annotated aliases: `session: SessionDep`, `caller: RootKeyDep`."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Header, Request
from fastapi.security import APIKeyHeader
from sqlalchemy.orm import Session, sessionmaker

from api.auth import Caller, authenticate
from api.deployment_state import REPORTED_TRIGGERS
from api.domain_verification import Verifier
from api.errors import BadRequest
from api.meta import meta
from api.schemas.base import Meta
from api.temporal import TemporalConnection
from dockyard.crypto import SecretBox
from dockyard.events import Events
from dockyard.settings import Settings

TRIGGER_HEADER = "X-Dockyard-Trigger"


@dataclass(frozen=True)
class Services:
    """What the API holds for its whole life, created at startup (api.main)."""

    settings: Settings
    sessions: sessionmaker[Session]
    box: SecretBox
    temporal: TemporalConnection
    events: Events
    verifier: Verifier


def get_services(request: Request) -> Services:
    services = getattr(request.app.state, "services", None)
    if not isinstance(services, Services):
        raise RuntimeError("api.main's lifespan has not run: the API is not started")
    return services


ServicesDep = Annotated[Services, Depends(get_services)]


def get_settings(services: ServicesDep) -> Settings:
    return services.settings


def get_box(services: ServicesDep) -> SecretBox:
    return services.box


def get_temporal(services: ServicesDep) -> TemporalConnection:
    return services.temporal


def get_session(services: ServicesDep) -> Iterator[Session]:
    # Routes commit explicitly; whatever they leave uncommitted is rolled back on close.
    with services.sessions() as session:
        yield session


SettingsDep = Annotated[Settings, Depends(get_settings)]
BoxDep = Annotated[SecretBox, Depends(get_box)]
TemporalDep = Annotated[TemporalConnection, Depends(get_temporal)]
# scope="function": the session closes before the response is sent, never after.
SessionDep = Annotated[Session, Depends(get_session, scope="function")]
MetaDep = Annotated[Meta, Depends(meta)]

# Declared as an API key header (not HTTPBearer) so a missing and a malformed header get
# different messages; OpenAPI still shows the lock on every operation.
_authorization = APIKeyHeader(
    name="Authorization",
    auto_error=False,
    description="Your root key, as `Bearer <root key>`.",
)


def get_caller(
    session: SessionDep, authorization: Annotated[str | None, Depends(_authorization)]
) -> Caller:
    return authenticate(session, authorization)


RootKeyDep = Annotated[Caller, Depends(get_caller)]


def get_reported_trigger(
    trigger: Annotated[str | None, Header(alias=TRIGGER_HEADER)] = None,
) -> str | None:
    """How SDK callers say what triggered a deployment (`cli`, ...): SDKs send no extra body
    fields, but they do send extra headers."""
    if trigger is None:
        return None
    value = trigger.strip().lower()
    if value not in REPORTED_TRIGGERS:
        raise BadRequest.at(
            f"header.{TRIGGER_HEADER}",
            f"{trigger!r} is not a trigger dockyard knows",
            f"Use one of: {', '.join(REPORTED_TRIGGERS)}.",
        )
    return value


ReportedTriggerDep = Annotated[str | None, Depends(get_reported_trigger)]
