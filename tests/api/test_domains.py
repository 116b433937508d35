"""domains.*: custom domains verified through a TXT record, served only once verified."""

from __future__ import annotations

import pytest
from sqlalchemy import select, update
from unkey.py import Unkey, errors

from dockyard.bootstrap import create_root_key
from dockyard.models import Deployment, Domain, Environment, Workspace
from tests.api.conftest import FakeDns, RunningApi, Shop, assert_error

pytestmark = pytest.mark.filterwarnings("ignore:.*DEPRECATED:DeprecationWarning")
WHERE = {"project": "shop", "app": "web", "environment": "production"}


def attach(unkey: Unkey, name: str = "api.acme.com", environment: str = "production"):
    return unkey.domains.create_domain(
        project="shop", app="web", environment=environment, domain=name
    ).data


def test_create_shows_the_records_and_serves_nothing_yet(unkey: Unkey, shop: Shop, db) -> None:
    created = attach(unkey, "API.Acme.com.")
    routing, ownership = created.dns_records
    assert (routing.type.value, routing.name) == ("CNAME", "api.acme.com")
    assert routing.value == "shop-web-production-acme.localhost"
    assert (ownership.type.value, ownership.name) == ("TXT", "_dockyard.api.acme.com")
    assert ownership.value.startswith("dockyard-domain-verify=")
    assert not routing.verified and not ownership.verified

    domain = unkey.domains.get_domain(domain="api.acme.com").data
    assert (domain.id, domain.status.value) == (created.domain_id, "pending")
    assert domain.dns_records == created.dns_records
    assert unkey.domains.get_domain(domain=created.domain_id).data == domain
    with db() as session:
        row = session.get_one(Domain, created.domain_id)
        assert row.deployment_id is None  # the edge skips it

    apex = attach(unkey, "bücher.example")
    assert apex.dns_records[0].type.value == "ALIAS"
    assert unkey.domains.get_domain(domain="xn--bcher-kva.example").data.id == apex.domain_id


def test_verification_points_the_domain_at_the_live_deployment(
    unkey: Unkey, shop: Shop, db, fake_dns: FakeDns
) -> None:
    created = attach(unkey)
    token = created.dns_records[1].value
    deployment_id = unkey.deployments.create_deployment(
        request={**WHERE, "image": {"docker_image": "dockyard/hello:v1"}}
    ).data.deployment_id
    with db() as session, session.begin():
        session.execute(update(Deployment).values(status="ready"))
        session.execute(
            update(Environment)
            .where(Environment.slug == "production")
            .values(current_deployment_id=deployment_id)
        )

    fake_dns.txt_records["_dockyard.api.acme.com"] = ["something else"]
    unkey.domains.verify_domain(domain="api.acme.com")
    failed = unkey.domains.get_domain(domain="api.acme.com").data
    assert failed.status.value == "verifying"
    assert failed.verification_error is not None and "'something else'" in failed.verification_error

    fake_dns.txt_records["_dockyard.api.acme.com"] = ["something else", token]
    fake_dns.cnames["api.acme.com"] = "shop-web-production-acme.localhost"
    unkey.domains.verify_domain(domain="api.acme.com")
    verified = unkey.domains.get_domain(domain="api.acme.com").data
    assert verified.status.value == "verified" and verified.verification_error is None
    assert all(record.verified for record in verified.dns_records)
    with db() as session:
        assert session.get_one(Domain, created.domain_id).deployment_id == deployment_id
    served = unkey.deployments.get_deployment(deployment_id=deployment_id).data.domains
    assert served == ["api.acme.com"]

    with pytest.raises(errors.PreconditionFailedErrorResponse):
        unkey.domains.verify_domain(domain="api.acme.com")


def test_dns_failure_is_reported_not_raised(unkey: Unkey, shop: Shop, fake_dns: FakeDns) -> None:
    attach(unkey)
    fake_dns.failing = True
    unkey.domains.verify_domain(domain="api.acme.com")
    domain = unkey.domains.get_domain(domain="api.acme.com").data
    assert domain.status.value == "verifying"
    assert domain.verification_error is not None and "timed out" in domain.verification_error


def test_list_filter_and_delete(unkey: Unkey, shop: Shop, api: RunningApi, db) -> None:
    attach(unkey, "a.acme.com")
    attach(unkey, "b.acme.com", environment="preview")
    listed = unkey.domains.list_domains()
    assert sorted(d.domain for d in listed.data) == ["a.acme.com", "b.acme.com"]
    preview = unkey.domains.list_domains(environment="preview")
    assert [d.domain for d in preview.data] == ["b.acme.com"]
    assert unkey.domains.list_domains(project="no-such-project").data == []
    first = unkey.domains.list_domains(limit=1)
    assert first.pagination.has_more and first.pagination.cursor
    second = unkey.domains.list_domains(limit=1, cursor=first.pagination.cursor)
    assert not second.pagination.has_more and second.data[0].id > first.data[0].id

    with db() as session, session.begin():
        workspace_id = session.scalar(select(Workspace.id))
        preview_id = session.scalar(select(Environment.id).where(Environment.slug == "preview"))
        _, reader = create_root_key(
            session,
            workspace_id=workspace_id,
            permissions=[f"environment.{preview_id}.read_domain"],
        )
    with Unkey(server_url=api.url, root_key=reader) as client:
        readable = client.domains.list_domains()
        assert [d.domain for d in readable.data] == ["b.acme.com"]
        with pytest.raises(errors.ForbiddenErrorResponse):
            client.domains.get_domain(domain="a.acme.com")
        with pytest.raises(errors.ForbiddenErrorResponse):
            client.domains.delete_domain(domain="b.acme.com")
        with pytest.raises(errors.ForbiddenErrorResponse):
            client.domains.verify_domain(domain="b.acme.com")
        # Attaching without the permission answers as for an environment that is not there.
        with pytest.raises(errors.NotFoundErrorResponse):
            client.domains.create_domain(**WHERE, domain="c.acme.com")

    unkey.domains.delete_domain(domain="a.acme.com")
    for call in ("get_domain", "delete_domain", "verify_domain"):
        with pytest.raises(errors.NotFoundErrorResponse):
            getattr(unkey.domains, call)(domain="a.acme.com")


def test_bad_names_and_conflicts(unkey: Unkey, shop: Shop, http) -> None:
    attach(unkey, "api.acme.com")
    with pytest.raises(errors.ConflictErrorResponse) as taken:
        attach(unkey, "API.acme.com", environment="preview")
    assert "already attached" in taken.value.data.error.detail
    for name, says in (
        ("https://api.acme.com", "not a valid fully qualified domain name"),
        ("co.uk", "public suffix"),
        ("shop-acme.localhost", "dockyard names deployments itself"),
        ("no_underscores.acme.com", "not a valid"),
    ):
        response = http.post("/v2/domains.createDomain", json={**WHERE, "domain": name})
        assert says in assert_error(response, 400)["detail"]
    with pytest.raises(errors.NotFoundErrorResponse):
        unkey.domains.create_domain(
            project="shop", app="web", environment="nope", domain="x.acme.com"
        )
    with pytest.raises(errors.BadRequestErrorResponse):
        unkey.domains.get_domain(domain="")
    with (
        Unkey(server_url=http.base_url.__str__(), root_key="dy_root_nobody") as nobody,
        pytest.raises(errors.UnauthorizedErrorResponse),
    ):
        nobody.domains.list_domains()
