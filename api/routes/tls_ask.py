"""`GET /tls/ask?domain=<name>`: may the edge obtain a certificate for this name?

Caddy's on-demand TLS asks here (its `http` permission module) before it orders a
certificate, and orders one only on a 2xx. Yes for the names dockyard serves: a domain it
generated, a custom domain whose ownership is verified, and the API's own hostname. No for
everything else, so a stranger's handshake with a made-up name never costs an ACME order.

Caddy sends no credentials, and strangers' handshakes reach here too: the answer is one
indexed read, never a write.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Annotated

from fastapi import APIRouter, Query

from api.crud.domains import domain_kind_and_status
from api.deps import MetaDep, SessionDep, SettingsDep
from api.domain_names import canonical
from api.errors import ERROR_RESPONSES, BadRequest, NotFound
from api.schemas.base import Envelope, Output
from dockyard.custom_domains import VERIFIED
from dockyard.domains import DomainKind

router = APIRouter(tags=["tls"], responses=ERROR_RESPONSES)

PATH = "/tls/ask"
UNKNOWN = "dockyard serves no domain {domain!r}, so it gets no certificate."
UNVERIFIED = (
    "Domain {domain!r} is attached but its ownership is not verified yet; it gets a "
    "certificate once its TXT record is verified."
)
WILDCARD = "{domain!r} is a wildcard; the edge obtains certificates for single names only."
IP_ADDRESS = "{domain!r} is an IP address; certificates are issued for domain names only."
# A one-label name such as `localhost` is a hostname (so not a bad request), if not one any
# domain of dockyard's can have: api.domain_names.canonical asks for two labels or more.
_SINGLE_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")
FIX = "Pass the name the edge is asked to serve, e.g. ?domain=api.acme.com."


class CertificateAllowed(Output):
    domain: str
    # Why: "api" (the API's hostname), "custom", or the kind of generated domain ("live", ...).
    reason: str


@router.get(PATH, summary="Whether the edge may obtain a certificate for a name")
def ask(
    session: SessionDep,
    settings: SettingsDep,
    meta: MetaDep,
    domain: Annotated[str, Query(description="The hostname a TLS client asked for (SNI).")],
) -> Envelope[CertificateAllowed]:
    """200 when dockyard serves `domain`; 404 when it does not; 400 when it is no name."""
    name = domain.strip().lower().rstrip(".")
    if _is_ip_address(name):
        raise NotFound(IP_ADDRESS.format(domain=domain))
    if name.startswith("*."):
        raise NotFound(WILDCARD.format(domain=domain))
    try:
        hostname = name if _SINGLE_LABEL.match(name) else canonical(name)
    except ValueError as error:
        raise BadRequest.at("query.domain", str(error), FIX) from error
    api_domain = settings.api_domain.strip().lower().rstrip(".")
    if api_domain and hostname == api_domain:
        return Envelope(meta=meta, data=CertificateAllowed(domain=hostname, reason="api"))
    found = domain_kind_and_status(session, hostname=hostname)
    if found is None:
        raise NotFound(UNKNOWN.format(domain=hostname))
    kind, status = found
    if kind == DomainKind.CUSTOM.value and status != VERIFIED:
        raise NotFound(UNVERIFIED.format(domain=hostname))
    return Envelope(meta=meta, data=CertificateAllowed(domain=hostname, reason=kind))


def _is_ip_address(name: str) -> bool:
    try:
        ipaddress.ip_address(name.removeprefix("[").removesuffix("]"))
    except ValueError:
        return False
    return True
