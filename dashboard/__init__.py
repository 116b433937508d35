"""The web dashboard: one page served by the API process, driving the same /v2 API as the
SDKs and the CLI (dashboard.pages), plus the few reads Unkey's v2 API has no list
operation for (dashboard.reads), and the series its charts draw (dashboard.charts)."""

from __future__ import annotations

from fastapi import APIRouter

from dashboard import charts, pages, reads

router = APIRouter(include_in_schema=False)
router.include_router(pages.router)
router.include_router(reads.router)
router.include_router(charts.router)

__all__ = ["router"]
