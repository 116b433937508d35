"""domains.createDomain / getDomain / listDomains / deleteDomain / verifyDomain.

A custom domain is attached to an environment and serves its current deployment once the
TXT record proves ownership (api.domain_verification, dockyard.custom_domains).
"""

from __future__ import annotations

from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from api.auth import Caller
from api.crud import domains as crud
from api.crud.lookup import find_app_environment
from api.deps import MetaDep, RootKeyDep, ServicesDep, SessionDep, SettingsDep
from api.domain_names import canonical, check_attachable
from api.errors import BadRequest, Forbidden, NotFound, PreconditionFailed
from api.routes import resource_router
from api.schemas.base import Empty, Envelope, Page
from api.schemas.domains import CreateDomain, DomainCreated, DomainOut, DomainRef, ListDomains
from dockyard.models import Domain
from dockyard.settings import Settings

router = resource_router("domains")

ALREADY_VERIFIED = "Domain '{domain}' is already verified; there is nothing to verify again."


@router.post("/v2/domains.createDomain")
def create_domain(
    body: CreateDomain,
    session: SessionDep,
    caller: RootKeyDep,
    settings: SettingsDep,
    meta: MetaDep,
) -> Envelope[DomainCreated]:
    """Attach a domain to an environment; it is `pending` and serves nothing until verified."""
    try:
        hostname = canonical(body.domain)
        check_attachable(hostname, apex=settings.apex_domain)
    except ValueError as error:
        raise BadRequest.at("body.domain", str(error)) from error
    project, app, environment = find_app_environment(
        session,
        workspace_id=caller.workspace_id,
        project=body.project,
        app=body.app,
        environment=body.environment,
    )
    try:
        caller.require("environment", "create_domain", environment.id)
    except Forbidden as error:
        # As Unkey: a key that may not attach domains here cannot learn the environment exists.
        raise NotFound(f"Environment '{body.environment}' does not exist.") from error
    domain = crud.create_domain(
        session, project=project, app=app, environment=environment, hostname=hostname
    )
    session.commit()
    records = crud.dns_records(session, domain=domain, apex=settings.apex_domain)
    return Envelope(
        meta=meta,
        data=DomainCreated(
            domain_id=domain.id, dns_records=[crud.record_out(record) for record in records]
        ),
    )


def _find(session: Session, caller: Caller, identifier: str, action: str) -> Domain:
    domain = crud.find_domain(session, workspace_id=caller.workspace_id, domain=identifier)
    caller.require("environment", action, domain.environment_id)
    return domain


@router.post("/v2/domains.getDomain")
def get_domain(
    body: DomainRef, session: SessionDep, caller: RootKeyDep, settings: SettingsDep, meta: MetaDep
) -> Envelope[DomainOut]:
    domain = _find(session, caller, body.domain, "read_domain")
    return Envelope(
        meta=meta, data=crud.domain_out(session, domain=domain, apex=settings.apex_domain)
    )


@router.post("/v2/domains.listDomains")
def list_domains(
    body: ListDomains, session: SessionDep, caller: RootKeyDep, settings: SettingsDep, meta: MetaDep
) -> Page[DomainOut]:
    """Custom domains the key may read, by id; `{}` lists the whole workspace."""
    domains, pagination = crud.list_domains(session, caller=caller, filters=body)
    return Page(
        meta=meta,
        data=[crud.domain_out(session, domain=d, apex=settings.apex_domain) for d in domains],
        pagination=pagination,
    )


@router.post("/v2/domains.deleteDomain")
def delete_domain(
    body: DomainRef, session: SessionDep, caller: RootKeyDep, services: ServicesDep, meta: MetaDep
) -> Envelope[Empty]:
    """The domain stops serving at once; the DNS records at the provider stay."""
    domain = _find(session, caller, body.domain, "delete_domain")
    environment_id, routed = domain.environment_id, domain.deployment_id is not None
    session.delete(domain)
    session.commit()
    if routed:
        services.events.routes_changed(environment_id)
    return Envelope(meta=meta, data=Empty())


@router.post("/v2/domains.verifyDomain", status_code=202)
async def verify_domain(
    body: DomainRef, session: SessionDep, caller: RootKeyDep, services: ServicesDep, meta: MetaDep
) -> Envelope[Empty]:
    """Restart verification (a new 24-hour period) and check the records at once."""
    domain_id = await run_in_threadpool(_restart, session, caller, body.domain, services.settings)
    await services.verifier.verify(domain_id)
    return Envelope(meta=meta, data=Empty())


def _restart(session: Session, caller: Caller, identifier: str, settings: Settings) -> str:
    domain = _find(session, caller, identifier, "verify_domain")
    if domain.status == "verified":
        raise PreconditionFailed(ALREADY_VERIFIED.format(domain=domain.hostname))
    crud.restart_verification(domain)
    session.commit()
    return domain.id
