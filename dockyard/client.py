"""A small client of dockyard's REST API (Unkey's v2 wire protocol), for the CLI."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx

UNREACHABLE = "cannot reach the dockyard API at {url}: {error}. Is `dockyard dev` running?"


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
        try:
            response = self._http.post(f"/v2/{operation}", json=body or {})
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
    error = payload.get("error") or {}
    detail = error.get("detail") or error.get("title") or f"the API answered {status}"
    fields = [
        f"{item.get('location', '')}: {item.get('message', '')}".strip(": ")
        for item in error.get("errors") or []
    ]
    return "; ".join([detail, *fields]) if fields else str(detail)


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
