"""`/dashboard`: the page shell and its assets (`/` redirects here).

The dashboard is a single page of plain ES modules and CSS, served from this package: no
build step, no CDN, nothing fetched from a registry at runtime. The browser keeps the root
key in sessionStorage and sends it to /v2 like any SDK would, so the shell itself is public
and carries no data, only the settings a browser needs to draw links (edge port, Temporal
Web UI).
"""

from __future__ import annotations

import hashlib
import html
import json
from functools import lru_cache
from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from api.deps import SettingsDep
from dockyard.settings import Settings

router = APIRouter()

STATIC = Path(__file__).parent / "static"
MEDIA_TYPES = {
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
}
# Everything the page runs or draws comes from this origin; nothing inline can execute,
# so a name or a log line shown on a page can never read the key in sessionStorage.
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; font-src 'self'; base-uri 'none'; form-action 'none'; "
        "frame-ancestors 'none'"
    ),
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
}
NO_SUCH_ASSET = "No such dashboard asset."


@router.get("/")
def root() -> RedirectResponse:
    return RedirectResponse("/dashboard", status_code=307)


@router.get("/dashboard/assets/{name}")
def asset(name: str, request: Request) -> Response:
    """A file of the page; revalidated by ETag, so a new dockyard never serves stale code."""
    path = STATIC / name
    media_type = MEDIA_TYPES.get(path.suffix)
    if media_type is None or "/" in name or name.startswith(".") or not path.is_file():
        return Response(NO_SUCH_ASSET, status_code=404, media_type="text/plain")
    body, etag = _read(path, path.stat().st_mtime_ns)
    headers = {"ETag": etag, "Cache-Control": "no-cache", "X-Content-Type-Options": "nosniff"}
    if request.headers.get("if-none-match") == etag:
        return Response(status_code=304, headers=headers)
    return Response(body, media_type=media_type, headers=headers)


@router.get("/dashboard")
@router.get("/dashboard/{path:path}")
def page(settings: SettingsDep, path: str = "") -> HTMLResponse:
    """Every dashboard address answers with the same shell; the page routes itself."""
    return HTMLResponse(_shell(settings), headers={**SECURITY_HEADERS, "Cache-Control": "no-cache"})


@lru_cache(maxsize=64)
def _read(path: Path, mtime_ns: int) -> tuple[bytes, str]:
    body = path.read_bytes()
    return body, f'"{hashlib.sha256(body).hexdigest()[:16]}-{mtime_ns}"'


def _shell(settings: Settings) -> str:
    template, _ = _read(STATIC / "index.html", (STATIC / "index.html").stat().st_mtime_ns)
    config = {
        "edgePort": settings.edge_port,
        "temporalUi": settings.temporal_ui_url,
        "temporalNamespace": settings.temporal_namespace,
        "apexDomain": settings.apex_domain,
        "workspace": settings.workspace,
        "standbyMinutes": int(settings.standby_time.total_seconds() // 60),
    }
    # Data for the page, not code: an attribute value, escaped as one.
    return template.decode().replace("{{config}}", html.escape(json.dumps(config), quote=True))
