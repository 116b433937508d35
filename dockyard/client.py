"""A small client of dockyard's REST API (Unkey's v2 wire protocol), for the CLI."""

from __future__ import annotations

from typing import Any

import httpx

UNREACHABLE = "cannot reach the dockyard API at {url}: {error}. Is `dockyard dev` running?"


class ApiError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


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
        try:
            payload: dict[str, Any] = response.json()
        except ValueError:
            payload = {}
        if response.status_code >= 400:
            raise ApiError(response.status_code, _describe(response.status_code, payload))
        return payload

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
