"""`dockyard domains`: custom domains, attached to an environment and proven by a TXT record.

A domain serves the environment's live deployment once its TXT record is found; until then
`add`, `list` and `verify` show the DNS records it waits for.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer

from dockyard.cli.listing import AppFilter, EnvFilter, ago, echo_table, every, filters, table
from dockyard.cli.options import ApiUrl, Project, RootKey, call, fail
from dockyard.cli.scope import Environment, environment_command

DomainArgument = Annotated[str, typer.Argument(help="The domain name (or its dom_ id).")]
ADDED = (
    "{domain} added; it serves nothing until its TXT record is found. Create these DNS "
    "records, then run `dockyard domains verify {domain}`:"
)
NOT_VERIFIED = "{domain} is {status}: {reason}"

domains = typer.Typer(
    no_args_is_help=True, help="Custom domains of an environment, verified by a DNS TXT record."
)


def record_lines(domain: dict[str, Any]) -> list[str]:
    """The domain's DNS records, indented: each one found or still to create."""
    rows = [
        (
            record["type"],
            record["name"],
            record["value"],
            "found" if record.get("verified") else "missing",
            record.get("note"),
        )
        for record in domain.get("dnsRecords") or []
    ]
    return [f"  {line}" for line in table(("type", "name", "value", "dns", "note"), rows)]


@environment_command(domains, "add")
def add_domain(environment: Environment, domain: DomainArgument) -> None:
    """Attach a custom domain to an environment; prints the DNS records to create."""
    created = environment.call("domains.createDomain", domain=domain)
    typer.echo(ADDED.format(domain=domain))
    for line in record_lines(created):
        typer.echo(line)


@domains.command("list")
def list_domains(
    project: Project = "",
    app_slug: AppFilter = None,
    env: EnvFilter = None,
    api_url: ApiUrl = "",
    root_key: RootKey = "",
) -> None:
    """List custom domains, and the DNS records each unverified one waits for."""
    found = list(every(api_url, root_key, "domains.listDomains", filters(project, app_slug, env)))
    rows = [
        (item["domain"], item["status"], ago(item.get("createdAt")), item.get("verificationError"))
        for item in found
    ]
    echo_table(("domain", "status", "added", "why"), rows, empty="no custom domains")
    for item in found:
        if item["status"] != "verified":
            typer.echo(f"\n{item['domain']} waits for these DNS records:")
            for line in record_lines(item):
                typer.echo(line)


@domains.command("verify")
def verify_domain(domain: DomainArgument, api_url: ApiUrl = "", root_key: RootKey = "") -> None:
    """Look up a domain's DNS records now; fails, showing what is missing, unless verified."""
    call(api_url, root_key, "domains.verifyDomain", {"domain": domain})
    item = call(api_url, root_key, "domains.getDomain", {"domain": domain})
    if item["status"] == "verified":
        typer.echo(f"{item['domain']} is verified and serves its environment's live deployment")
        return
    for line in record_lines(item):
        typer.echo(line)
    reason = item.get("verificationError") or "its records are not found yet"
    fail(NOT_VERIFIED.format(domain=item["domain"], status=item["status"], reason=reason))


@domains.command("remove")
def remove_domain(domain: DomainArgument, api_url: ApiUrl = "", root_key: RootKey = "") -> None:
    """Detach a custom domain: it stops serving at once; its DNS records stay where they are."""
    call(api_url, root_key, "domains.deleteDomain", {"domain": domain})
    typer.echo(f"{domain} removed")
