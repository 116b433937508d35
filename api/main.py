"""The FastAPI application: startup, one router per resource, Unkey's error shape."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

from fastapi import FastAPI
from starlette.concurrency import run_in_threadpool

import dashboard
from api.analytics import start_analytics
from api.body_limit import BodyLimit
from api.deps import Services
from api.dns import Resolver, SystemResolver
from api.domain_verification import Verifier
from api.errors import install_error_handlers
from api.metrics import install_metrics
from api.routes import (
    analytics,
    apis,
    apps,
    build_logs,
    deployment_actions,
    deployments,
    domains,
    environment_variables,
    environments,
    gateway,
    identities,
    key_permissions,
    key_verification,
    keys,
    permissions,
    projects,
    ratelimit,
    ratelimit_overrides,
    root_keys,
    runtime_logs,
    tls_ask,
    webhooks,
)
from api.temporal import TemporalConnection
from dockyard.bootstrap import bootstrap
from dockyard.crypto import SecretBox
from dockyard.events import Events
from dockyard.settings import Settings

log = logging.getLogger(__name__)

ROUTERS = (
    projects.router,
    apps.router,
    environments.router,
    environment_variables.router,
    deployments.router,
    deployment_actions.router,
    domains.router,
    root_keys.router,
    apis.router,
    keys.router,
    key_verification.router,
    identities.router,
    key_permissions.router,
    permissions.router,
    ratelimit.router,
    ratelimit_overrides.router,
    gateway.router,
    analytics.router,
    build_logs.router,
    runtime_logs.router,
    webhooks.router,
    tls_ask.router,
    dashboard.router,
)


def create_app(settings: Settings, *, resolver: Resolver | None = None) -> FastAPI:
    """The API; `resolver` answers custom domains' DNS questions (the system's by default)."""

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # Migrations, the workspace and the root key from DOCKYARD_ROOT_KEY: every start.
        booted = await run_in_threadpool(bootstrap, settings)
        if booted.new_root_key:
            # The key is stored only as a hash: this is the one time it can be shown.
            log.warning("created the first root key (shown only now): %s", booted.new_root_key)
        temporal = TemporalConnection(settings)
        events = Events(settings.redis_url)
        verifier = Verifier(
            booted.sessions, resolver or SystemResolver(), events, settings.apex_domain
        )
        background = [
            asyncio.create_task(temporal.run(), name="temporal-connection"),
            asyncio.create_task(verifier.run(), name="custom-domain-verification"),
        ]
        app.state.services = Services(
            settings=settings,
            sessions=booted.sessions,
            box=SecretBox(settings.secret_key),
            temporal=temporal,
            events=events,
            verifier=verifier,
        )
        app.state.analytics = start_analytics(settings, booted.sessions)
        try:
            yield
        finally:
            await app.state.analytics.stop()
            for task in background:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            events.close()
            booted.sessions.kw["bind"].dispose()

    app = FastAPI(
        title="dockyard",
        summary="Self-hosted deployments, on Unkey's v2 API.",
        version="0.1.0",
        lifespan=lifespan,
    )
    # GitHub's deliveries are bounded by the webhook itself, at GitHub's own limit.
    app.add_middleware(BodyLimit, exempt=(webhooks.PATH,))
    install_error_handlers(app)
    install_metrics(app)
    for router in ROUTERS:
        app.include_router(router)
    return app
