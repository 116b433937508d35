"""`dockyard policies`: an environment's Sentinel policies, in the order they run.

Policies are frozen into each deployment when it is created: a change reaches traffic with
the next deployment, and a rollback brings back the policies its deployment had.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from dockyard.cli.listing import echo_table
from dockyard.cli.options import fail
from dockyard.cli.scope import Command, Environment, environment_command

RULES = ("keyauth", "ratelimit", "firewall", "openapi", "logging", "ipRules", "jwt")
TAKES_EFFECT = "deployments created from now on enforce them; deploy again to apply them"
UNREADABLE = "cannot read {file}: {reason}"
NOT_JSON = "{file} is not valid JSON: {reason} (line {line}, column {column})"
NOT_POLICIES = (
    '{file} must hold a JSON list of policies, or an object with one: {{"policies": [...]}}'
)
STDIN = "-"

PolicyId = Annotated[str, typer.Argument(help="The policy's id, as `policies list` shows it.")]

policies = typer.Typer(
    no_args_is_help=True,
    help="Sentinel gateway policies of an environment: keyauth, ratelimit, firewall, "
    "ipRules, jwt, openapi, logging.",
)


def read_policies(file: str) -> list[Any]:
    """The policies a JSON file holds (`-` reads standard input)."""
    try:
        text = sys.stdin.read() if file == STDIN else Path(file).read_text()
    except OSError as error:
        fail(UNREADABLE.format(file=file, reason=error.strerror or error))
    try:
        document = json.loads(text)
    except json.JSONDecodeError as error:
        fail(NOT_JSON.format(file=file, reason=error.msg, line=error.lineno, column=error.colno))
    if isinstance(document, dict) and set(document) == {"policies"}:
        document = document["policies"]
    if not isinstance(document, list):
        fail(NOT_POLICIES.format(file=file))
    return document


def rule_of(policy: dict[str, Any]) -> str:
    """The policy's rule and the gist of its settings: `keyauth api_1,api_2`."""
    rule = next((name for name in RULES if policy.get(name) is not None), "?")
    settings = policy.get(rule) or {}
    if rule == "keyauth":
        return f"keyauth {','.join(settings.get('keyspaces') or [])}"
    if rule == "ratelimit":
        return f"ratelimit {settings.get('limit')}/{settings.get('windowMs')}ms"
    return rule


def matches(policy: dict[str, Any]) -> str:
    """Where the policy applies: every request, or each match expression as compact JSON."""
    expressions = policy.get("match") or []
    if not expressions:
        return "every request"
    return " and ".join(json.dumps(e, separators=(",", ":")) for e in expressions)


@environment_command(policies, "list")
def list_policies(
    environment: Environment,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print them as JSON that `policies set` takes.")
    ] = False,
) -> None:
    """List an environment's policies in the order Sentinel runs them."""
    found = environment.call("gateway.listPolicies")
    if as_json:
        unsaved = [{k: v for k, v in policy.items() if k != "id"} for policy in found]
        typer.echo(json.dumps(unsaved, indent=2))
        return
    rows = [
        (p["id"], p["name"], rule_of(p), "yes" if p["enabled"] else "no", matches(p)) for p in found
    ]
    headers = ("id", "name", "rule", "enabled", "applies to")
    echo_table(headers, rows, empty=f"no policies on {environment.name}")


@environment_command(policies, "set")
def set_policies(
    environment: Environment,
    file: Annotated[
        str,
        typer.Option(
            "--file", "-f", help="A JSON file: a list of policies, in order (- reads stdin)."
        ),
    ],
) -> None:
    """Replace all of an environment's policies with those of a JSON file (`[]` clears them)."""
    given = read_policies(file)
    environment.call("gateway.setPolicies", policies=given)
    typer.echo(f"{len(given)} policies set on {environment.name}; {TAKES_EFFECT}")


def switch(enabled: bool, doc: str) -> Command:
    """`policies enable` or `policies disable`: the same request, with `enabled` set."""

    def command(environment: Environment, policy_id: PolicyId) -> None:
        environment.call("gateway.updatePolicy", policyId=policy_id, enabled=enabled)
        typer.echo(f"{policy_id} {'enabled' if enabled else 'disabled'}; {TAKES_EFFECT}")

    command.__doc__ = doc
    return command


environment_command(policies, "enable")(switch(True, "Turn a policy on, in its place."))
environment_command(policies, "disable")(switch(False, "Turn a policy off without removing it."))


@environment_command(policies, "replicas")
def set_replicas(
    environment: Environment,
    count: Annotated[
        str,
        typer.Argument(
            help="Replicas per region (1 to 16), or `default`: 3 for production, 1 for a preview."
        ),
    ],
) -> None:
    """Set how many Sentinel replicas per region enforce the environment's policies."""
    if count != "default" and not count.isdigit():
        fail(f"{count!r} is not a number of replicas (1 to 16) or `default`")
    replicas = None if count == "default" else int(count)
    environment.call("gateway.updateSettings", sentinelReplicas=replicas)
    typer.echo(
        f"{environment.name} runs {count} Sentinel replicas per region; "
        "the edges follow within a second"
    )
