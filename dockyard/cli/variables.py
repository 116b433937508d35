"""`dockyard vars`: an environment's variables, frozen into each deployment when it is created.

A secret (`--secret`, Unkey's `writeonly`) is sealed and never shown again; any other
variable (`recoverable`) is listed with its value.
"""

from __future__ import annotations

import re
from typing import Annotated, Any

import typer

from dockyard.cli.listing import ago, echo_table
from dockyard.cli.options import fail
from dockyard.cli.scope import Environment, environment_command

NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
# An assignment that is not KEY=VALUE may hold a secret pasted in the wrong place: the
# messages name its position or its key, never what follows the `=`.
NO_EQUALS = "argument {n} is not KEY=VALUE: it has no `=`"
BAD_NAME = (
    "{key!r} is not a variable name: letters, digits and underscores, not starting with a digit"
)
NO_VALUE = "{key} has no value; `dockyard vars unset {key}` removes a variable"
NOT_SET = "not set in {env}: {keys}"
HIDDEN = "(secret)"
TAKES_EFFECT = "deployments created from now on get them; deploy again to use them"

variables = typer.Typer(
    no_args_is_help=True,
    help="Environment variables, frozen into each new deployment (`envs` are the environments).",
)


def parse_assignments(assignments: list[str]) -> dict[str, str]:
    """KEY=VALUE arguments as a dict; the first malformed one fails the command."""
    parsed: dict[str, str] = {}
    for n, assignment in enumerate(assignments, start=1):
        key, equals, value = assignment.partition("=")
        if not equals:
            fail(NO_EQUALS.format(n=n))
        if not NAME.fullmatch(key):
            fail(BAD_NAME.format(key=key))
        if not value:
            fail(NO_VALUE.format(key=key))
        parsed[key] = value
    return parsed


@environment_command(variables, "set")
def set_variables(
    environment: Environment,
    assignments: Annotated[
        list[str],
        typer.Argument(metavar="KEY=VALUE...", help="Variables to set, e.g. LOG_LEVEL=debug."),
    ],
    secret: Annotated[
        bool,
        typer.Option(
            "--secret", help="Write-only: the value is never shown again, not even by `vars list`."
        ),
    ] = False,
) -> None:
    """Set variables of an environment; an existing one is replaced."""
    kind = "writeonly" if secret else "recoverable"
    parsed = parse_assignments(assignments)
    given = [{"key": key, "value": value, "kind": kind} for key, value in parsed.items()]
    environment.call("environments.setEnvironmentVariables", variables=given)
    typer.echo(f"set {', '.join(parsed)} in {environment.name}; {TAKES_EFFECT}")


@environment_command(variables, "list")
def list_variables(environment: Environment) -> None:
    """List an environment's variables: name, kind and when set; a secret's value never."""
    rows = [
        (
            variable["key"],
            "secret" if variable["kind"] == "writeonly" else "plain",
            _shown(variable),
            ago(variable.get("createdAt")),
        )
        for variable in environment.every("environments.listEnvironmentVariables")
    ]
    echo_table(("name", "kind", "value", "set"), rows, empty=f"no variables in {environment.name}")


def _shown(variable: dict[str, Any]) -> str | None:
    if variable["kind"] == "writeonly":
        return HIDDEN
    value = variable.get("value")
    return value.replace("\n", "\\n") if value is not None else None


@environment_command(variables, "unset")
def unset_variables(
    environment: Environment,
    keys: Annotated[list[str], typer.Argument(metavar="KEY...", help="Variables to remove.")],
) -> None:
    """Remove variables from an environment; deployments created from now on lack them."""
    known = {
        variable["key"] for variable in environment.every("environments.listEnvironmentVariables")
    }
    missing = [key for key in keys if key not in known]
    if missing:
        fail(NOT_SET.format(env=environment.name, keys=", ".join(missing)))
    environment.call("environments.removeEnvironmentVariables", variables=keys)
    removed = ", ".join(keys)
    typer.echo(
        f"removed {removed} from {environment.name}; deployments created from now on lack them"
    )
