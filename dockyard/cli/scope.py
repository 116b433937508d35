"""Commands that act on one environment: its --project, --app and --env options, declared once.

`@environment_command(group, "set")` registers a function whose first parameter is an
`Environment`; the command it makes has the function's own arguments and options, then
--project, --app, --env, --api-url and --root-key, from which that `Environment` is made.
"""

from __future__ import annotations

import functools
import inspect
import typing
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import typer

from dockyard.cli.listing import every
from dockyard.cli.options import (
    ApiUrl,
    AppOption,
    EnvOption,
    Project,
    RootKey,
    call,
    require_project,
)

Command = Callable[..., None]
SCOPE = tuple(
    inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=default, annotation=option)
    for name, option, default in (
        ("project", Project, ""),
        ("app_slug", AppOption, "default"),
        ("env", EnvOption, "production"),
        ("api_url", ApiUrl, ""),
        ("root_key", RootKey, ""),
    )
)


@dataclass(frozen=True)
class Environment:
    """The environment a command acts on, and the API it asks."""

    project: str
    app: str
    name: str
    api_url: str
    root_key: str

    def body(self) -> dict[str, Any]:
        """The body fields that name the environment; a missing project fails the command."""
        return {"project": require_project(self.project), "app": self.app, "environment": self.name}

    def call(self, operation: str, **fields: Any) -> Any:
        """The operation's answer for this environment, with `fields` added to the body."""
        return call(self.api_url, self.root_key, operation, {**self.body(), **fields})

    def every(self, operation: str) -> Iterator[Any]:
        """Each item the paginated operation lists for this environment."""
        return every(self.api_url, self.root_key, operation, self.body())


def environment_command(group: typer.Typer, name: str) -> Callable[[Command], Command]:
    def register(function: Command) -> Command:
        hints = typing.get_type_hints(function, include_extras=True)
        _, *own = (
            parameter.replace(annotation=hints[parameter.name])
            for parameter in inspect.signature(function).parameters.values()
        )

        @functools.wraps(function)
        def command(**options: Any) -> None:
            scope = [options.pop(parameter.name) for parameter in SCOPE]
            function(Environment(*scope), **options)

        parameters = [*own, *SCOPE]
        command.__signature__ = inspect.Signature(parameters)  # type: ignore[attr-defined]
        command.__annotations__ = {p.name: p.annotation for p in parameters}
        group.command(name)(command)
        return function

    return register
