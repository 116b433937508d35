"""domains.*: custom domains attached to an environment."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import StringConstraints

from api.schemas.base import Cursor, Input, Limit, Output, ResourceIdentifier, Search

# A domain id (`dom_...`) or a name (Unicode or Punycode); names are checked in api.domain_names.
DomainIdentifier = Annotated[str, StringConstraints(min_length=1, max_length=255)]
DomainStatus = Literal["pending", "verifying", "verified", "failed"]


class CreateDomain(Input):
    project: ResourceIdentifier
    app: ResourceIdentifier
    environment: ResourceIdentifier
    domain: DomainIdentifier


class DomainRef(Input):
    domain: DomainIdentifier


class ListDomains(Input):
    project: ResourceIdentifier | None = None
    app: ResourceIdentifier | None = None
    environment: ResourceIdentifier | None = None
    limit: Limit = 100
    cursor: Cursor | None = None
    search: Search | None = None


class DnsRecordOut(Output):
    type: Literal["CNAME", "ALIAS", "TXT"]
    name: str
    value: str
    ttl: int
    verified: bool
    note: str | None = None


class DomainCreated(Output):
    domain_id: str
    dns_records: list[DnsRecordOut]


class DomainOut(Output):
    id: str
    domain: str
    project_id: str
    app_id: str
    environment_id: str
    status: DomainStatus
    dns_records: list[DnsRecordOut]
    created_at: int
    verification_error: str | None = None
    updated_at: int | None = None
