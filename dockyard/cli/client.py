"""A small client of dockyard's REST API (Unkey's v2 wire protocol), for the CLI, and the
connection file through which `dockyard dev` tells the CLI where it runs."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import asdict, dataclass, fields
from functools import cache
from pathlib import Path
from typing import Any

import httpx

UNREACHABLE = "cannot reach the dockyard API at {url}: {error}. Is `dockyard dev` running?"
CONNECTION_FILE = "connection.json"
PRIVATE_FILE_MODE = 0o600


@dataclass(frozen=True)
class Connection:
    """Where a running dockyard answers, as its `dockyard dev` saved it in its home.

    `root_key` is the key that start created, if it created one: like the tokens `fly`,
    `railway` or `gh` keep, it lives in a file only its owner can read, so the CLI on the
    same machine works without copying it into every shell.
    """

    api_url: str
    edge_port: int
    edge_https_port: int
    apex_domain: str
    temporal_ui_url: str
    root_key: str = ""

    def save(self, home: Path) -> None:
        """Write `<home>/connection.json` (mode 0600) in one step: a CLI reading it at
        the same moment sees the old file or the new one, never half of one."""
        path = home / CONNECTION_FILE
        partial = path.with_name(f".{path.name}.{os.getpid()}")
        descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, PRIVATE_FILE_MODE)
        with os.fdopen(descriptor, "w") as file:
            json.dump(asdict(self), file, indent=2)
            file.write("\n")
        os.replace(partial, path)

    @classmethod
    def load(cls, home: Path) -> Connection | None:
        """The saved connection, or None when there is none (or it cannot be read)."""
        try:
            saved = json.loads((home / CONNECTION_FILE).read_text())
        except (OSError, ValueError):
            return None
        if not isinstance(saved, dict):
            return None
        known = {field.name for field in fields(cls)}
        try:
            return cls(**{name: value for name, value in saved.items() if name in known})
        except TypeError:
            return None


DEFAULT_TEMPORAL_UI = "http://127.0.0.1:8233"
DEFAULT_API_URL = "http://127.0.0.1:8000"
DEFAULT_EDGE_PORT = 8080
DEFAULT_HOME = ".dockyard"


@cache
def saved() -> Connection | None:
    """Where the `dockyard dev` of DOCKYARD_HOME answers, as it saved it at its start."""
    return Connection.load(Path(os.environ.get("DOCKYARD_HOME") or DEFAULT_HOME))


def local_url(port_variable: str) -> str:
    """The local address a DOCKYARD_*_PORT variable names, as `dockyard dev` reads it."""
    port = os.environ.get(port_variable)
    return f"http://127.0.0.1:{port}" if port else ""


# Each setting: the option, else its environment variable, else the saved connection (only
# when no variable of the setting is set at all: an empty DOCKYARD_ROOT_KEY means no key),
# else the default of a stack started with no settings.
def environment_sets(*variables: str) -> bool:
    return any(name in os.environ for name in variables)


def api_url_of(option: str) -> str:
    connection = saved()
    if option or environment_sets("DOCKYARD_API_URL", "DOCKYARD_API_PORT"):
        return option or local_url("DOCKYARD_API_PORT") or DEFAULT_API_URL
    return connection.api_url if connection else DEFAULT_API_URL


def root_key_of(option: str) -> str:
    connection = saved()
    if option or environment_sets("DOCKYARD_ROOT_KEY", "UNKEY_ROOT_KEY") or not connection:
        return option
    return connection.root_key


def edge_port_of(option: int | None) -> int:
    connection = saved()
    if option is not None:
        return option
    return connection.edge_port if connection else DEFAULT_EDGE_PORT


def temporal_ui_of(option: str) -> str:
    connection = saved()
    if option or environment_sets("DOCKYARD_TEMPORAL_UI_URL", "DOCKYARD_TEMPORAL_UI_PORT"):
        return option or local_url("DOCKYARD_TEMPORAL_UI_PORT") or DEFAULT_TEMPORAL_UI
    return connection.temporal_ui_url if connection else DEFAULT_TEMPORAL_UI


class ApiError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass(frozen=True)
class ServerEvent:
    """One server-sent event."""

    name: str
    data: str
    id: str | None = None


class ApiClient:
    def __init__(self, base_url: str, root_key: str, timeout: float = 30.0) -> None:
        self._base_url = base_url.rstrip("/")
        self._http = httpx.Client(
            base_url=self._base_url,
            headers={"Authorization": f"Bearer {root_key}", "User-Agent": "dockyard-cli"},
            timeout=timeout,
        )

    def call(self, operation: str, body: dict[str, Any] | None = None) -> Any:
        """POST /v2/<operation>; the `data` of the answer, or ApiError with Unkey's detail."""
        payload = self.call_page(operation, body)
        return payload.get("data")

    def call_page(self, operation: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        return self.post(f"/v2/{operation}", body)

    def post(self, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        """POST a JSON body to any path of the API; its whole JSON answer."""
        try:
            response = self._http.post(path, json=body or {})
        except httpx.HTTPError as error:
            raise ApiError(0, UNREACHABLE.format(url=self._base_url, error=error)) from error
        payload = _json(response)
        if response.status_code >= 400:
            raise ApiError(response.status_code, _describe(response.status_code, payload))
        return payload

    def events(self, path: str, *, last_event_id: str | None = None) -> Iterator[ServerEvent]:
        """The server-sent events of `GET path`, each as soon as it arrives."""
        headers = {"Accept": "text/event-stream"}
        if last_event_id:
            headers["Last-Event-ID"] = last_event_id
        timeout = httpx.Timeout(30.0, read=None)  # a quiet build sends nothing for a while
        try:
            with self._http.stream("GET", path, headers=headers, timeout=timeout) as response:
                if response.status_code >= 400:
                    response.read()
                    raise ApiError(
                        response.status_code, _describe(response.status_code, _json(response))
                    )
                yield from _parse_events(response.iter_lines())
        except httpx.HTTPError as error:
            raise ApiError(0, UNREACHABLE.format(url=self._base_url, error=error)) from error

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> ApiClient:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()


def _describe(status: int, payload: dict[str, Any]) -> str:
    """The API's error as one sentence: its detail, each bad field the detail does not
    already name, and the fix the API suggests."""
    error = payload.get("error") or {}
    detail = str(error.get("detail") or error.get("title") or f"the API answered {status}")
    parts = [detail]
    for item in error.get("errors") or []:
        message = str(item.get("message") or "")
        if message and message not in detail:
            parts.append(f"{item.get('location', '')}: {message}".strip(": "))
        if item.get("fix"):
            parts.append(str(item["fix"]))
    return "; ".join(parts)


def _json(response: httpx.Response) -> dict[str, Any]:
    try:
        payload = response.json()
    except ValueError:
        return {}
    return payload if isinstance(payload, dict) else {}


def _parse_events(lines: Iterator[str]) -> Iterator[ServerEvent]:
    name, event_id = "message", None
    data: list[str] = []
    for line in lines:
        if not line:
            if data:
                yield ServerEvent(name=name, data="\n".join(data), id=event_id)
            name, data = "message", []
            continue
        if line.startswith(":"):  # a comment: the server keeping the connection open
            continue
        field, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if field == "event":
            name = value
        elif field == "data":
            data.append(value)
        elif field == "id":
            event_id = value
