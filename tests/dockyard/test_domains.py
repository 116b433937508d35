from __future__ import annotations

from dockyard.domains import DomainKind, DomainNames


def names(app: str = "default") -> DomainNames:
    return DomainNames(project="shop", app=app, workspace="acme", apex="localhost")


def test_unkey_patterns_for_default_app() -> None:
    assert names().commit("9F2C1A7D3B") == "shop-git-9f2c1a7-acme.localhost"
    assert names().branch("feature/Login Page") == "shop-git-feature-login-page-acme.localhost"
    assert names().environment("production") == "shop-production-acme.localhost"
    assert names().live() == "shop-acme.localhost"
    assert names().deployment("d_abc123") == "shop-dep-abc123-acme.localhost"


def test_app_other_than_default_joins_the_prefix() -> None:
    assert names("api").live() == "shop-api-acme.localhost"


def test_long_branch_is_cut_to_one_dns_label_keeping_the_workspace() -> None:
    host = names().branch("x" * 200)
    label = host.removesuffix(".localhost")
    assert len(label) <= 63
    assert label.endswith("-acme")


def test_preview_deployment_gets_no_live_domain() -> None:
    domains = names().for_deployment(
        deployment_id="d_1", environment="preview", branch="dev", commit_sha=None, production=False
    )
    assert DomainKind.LIVE not in domains
    assert DomainKind.COMMIT not in domains
    assert domains[DomainKind.BRANCH] == "shop-git-dev-acme.localhost"
