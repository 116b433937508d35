"""How the CLI shows lists: aligned columns under a header, ages, and every page of an answer."""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from typing import Annotated, Any

import typer

from dockyard.cli.client import ApiError
from dockyard.cli.options import client, fail

AppFilter = Annotated[str | None, typer.Option("--app", "-a", help="Only this app's.")]
EnvFilter = Annotated[str | None, typer.Option("--env", "-e", help="Only this environment's.")]
GAP = "  "
NONE = "-"
UNITS = ((86400, "d"), (3600, "h"), (60, "m"), (1, "s"))


def table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> list[str]:
    """Lines of columns as wide as their widest cell; the header first, in capitals. A cell
    that is None shows as `-`; an empty string stays blank."""
    cells = [[header.upper() for header in headers]]
    cells += [[NONE if cell is None else str(cell) for cell in row] for row in rows]
    widths = [max(len(row[column]) for row in cells) for column in range(len(headers))]
    return [
        GAP.join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in cells
    ]


def echo_table(headers: Sequence[str], rows: Sequence[Sequence[object]], *, empty: str) -> None:
    """Print the table, or one sentence when there is nothing to list."""
    if not rows:
        typer.echo(empty)
        return
    for line in table(headers, rows):
        typer.echo(line)


def ago(unix_ms: int | None, now_ms: int | None = None) -> str:
    """How long ago a time in Unix milliseconds was, in its largest whole unit: `3m ago`."""
    if not unix_ms:
        return NONE
    now = int(time.time() * 1000) if now_ms is None else now_ms
    seconds = max(now - unix_ms, 0) // 1000
    for size, unit in UNITS:
        if seconds >= size:
            return f"{seconds // size}{unit} ago"
    return "just now"


def every(api_url: str, root_key: str, operation: str, body: dict[str, Any]) -> Iterator[Any]:
    """Each item of a paginated operation, page after page."""
    request = dict(body)
    with client(api_url, root_key) as api:
        while True:
            try:
                page = api.call_page(operation, request)
            except ApiError as error:
                fail(error.message)
            yield from page.get("data") or []
            cursor = (page.get("pagination") or {}).get("cursor")
            if not cursor:
                return
            request["cursor"] = cursor


def filters(project: str, app_slug: str | None, env: str | None) -> dict[str, str]:
    """The body of a list that may be narrowed to a project, an app and an environment."""
    given = (("project", project), ("app", app_slug), ("environment", env))
    return {name: value for name, value in given if value}
