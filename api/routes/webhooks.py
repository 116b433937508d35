"""`POST /webhooks/github`: GitHub's deliveries, verified, deduplicated, then acted on.

Order matters: the size is checked first (413), then the signature over the raw body (401;
nothing else is read from an unsigned request), then the headers and the JSON (400). A
delivery id seen before answers 200 and does nothing again. `ping` answers 200; events
dockyard does not act on answer 202. `push` deploys or archives; `pull_request` closed
archives the head branch's preview.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from typing import Annotated, TypeVar
from urllib.parse import parse_qs

from fastapi import APIRouter, Header, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ValidationError
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool
from temporalio.client import Client, WorkflowUpdateFailedError

from api.crud import deployments as crud
from api.crud import push as plans
from api.deps import Services, ServicesDep
from api.errors import BadRequest, PayloadTooLarge, Unauthorized
from api.github import PullRequest, Push, signature_matches
from api.schemas.base import Output
from api.temporal import TEMPORAL_ERRORS, archive_deployment, launch
from dockyard.crypto import SecretBox
from dockyard.settings import Settings

log = logging.getLogger(__name__)
router = APIRouter(tags=["webhooks"])

PATH = "/webhooks/github"
# GitHub never sends more (it caps deliveries at 25 MB); anything larger is not GitHub.
MAX_BODY_BYTES = 25 * 1024 * 1024
MAX_DELIVERY_ID = 128
UNVERIFIABLE = (
    "this dockyard has no webhook secret (DOCKYARD_GITHUB_WEBHOOK_SECRET), so no delivery "
    "can be verified; nothing was done"
)
NO_SIGNATURE = "the X-Hub-Signature-256 header is missing; nothing was done"
BAD_SIGNATURE = (
    "the X-Hub-Signature-256 signature does not match the body under this dockyard's webhook "
    "secret; nothing was done"
)
TOO_LARGE = "the delivery is larger than GitHub's 25 MB limit; nothing was done"
NOT_STARTED = "the deployments were not started; redeliver once Temporal is up"
PayloadT = TypeVar("PayloadT", bound=BaseModel)


class WebhookOutcome(Output):
    message: str
    delivery: str | None = None
    deployment_ids: list[str] = []
    skipped_deployment_ids: list[str] = []
    archived_deployment_ids: list[str] = []


@dataclass
class _Plan:
    """What a delivery does, decided and written in one transaction before Temporal hears."""

    replayed: bool = False
    message: str = ""
    starts: list[crud.WorkflowStart] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    archivals: list[plans.Archival] = field(default_factory=list)


@router.post(PATH, response_model_exclude_none=True)
async def github_webhook(
    request: Request,
    services: ServicesDep,
    event: Annotated[str | None, Header(alias="X-GitHub-Event")] = None,
    delivery: Annotated[str | None, Header(alias="X-GitHub-Delivery")] = None,
    signature: Annotated[str | None, Header(alias="X-Hub-Signature-256")] = None,
) -> JSONResponse:
    """A GitHub App's (or a repository webhook's) delivery, JSON or form encoded."""
    body = await _read_body(request)
    _verify(services.settings, body, signature)
    if not event:
        raise BadRequest.at("header.X-GitHub-Event", "is required", "Send GitHub's event name.")
    if not delivery or len(delivery) > MAX_DELIVERY_ID:
        raise BadRequest.at("header.X-GitHub-Delivery", "is required (a GUID)")
    document = _document(body, request.headers.get("content-type", ""))
    if event == "ping":
        return _answer(200, WebhookOutcome(message="pong", delivery=delivery))
    if event not in ("push", "pull_request"):
        return _answer(202, WebhookOutcome(message=f"{event} events are ignored"))
    client = await services.temporal.client()  # a 503 now leaves nothing written
    if event == "push":
        plan = await run_in_threadpool(
            _plan_push,
            services.sessions,
            services.settings,
            services.box,
            delivery,
            _parse(document, Push),
        )
    else:
        plan = await run_in_threadpool(
            _plan_pull_request,
            services.sessions,
            services.settings,
            delivery,
            _parse(document, PullRequest),
        )
    if plan.replayed:
        return _answer(200, WebhookOutcome(message="delivery already handled", delivery=delivery))
    await _start(client, services, delivery, plan)
    await _archive(client, services, delivery, plan)
    return _answer(
        200,
        WebhookOutcome(
            message=plan.message,
            delivery=delivery,
            deployment_ids=[start.deployment_id for start in plan.starts],
            skipped_deployment_ids=plan.skipped,
            archived_deployment_ids=[archival.deployment_id for archival in plan.archivals],
        ),
    )


async def _read_body(request: Request) -> bytes:
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        raise PayloadTooLarge(TOO_LARGE)
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            raise PayloadTooLarge(TOO_LARGE)
        chunks.append(chunk)
    return b"".join(chunks)


def _verify(settings: Settings, body: bytes, signature: str | None) -> None:
    secret = settings.github_webhook_secret.get_secret_value()
    if not secret:
        raise Unauthorized(UNVERIFIABLE)
    if not signature:
        raise Unauthorized(NO_SIGNATURE)
    if not signature_matches(secret, body, signature):
        raise Unauthorized(BAD_SIGNATURE)


def _document(body: bytes, content_type: str) -> object:
    """The event's JSON: the body, or its `payload` field when GitHub sends a form."""
    try:
        if content_type.startswith("application/x-www-form-urlencoded"):
            [text] = parse_qs(body.decode(), strict_parsing=True)["payload"]
            return json.loads(text)
        return json.loads(body)
    except (ValueError, KeyError) as error:
        raise BadRequest.at(
            "body", f"is not a GitHub event: {error}", "Send the JSON GitHub sends."
        ) from error


def _parse(document: object, model: type[PayloadT]) -> PayloadT:
    try:
        return model.model_validate(document)
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(part) for part in ("body", *first["loc"]))
        raise BadRequest.at(where, str(first["msg"])) from error


def _answer(status: int, outcome: WebhookOutcome) -> JSONResponse:
    return JSONResponse(outcome.model_dump(by_alias=True, exclude_defaults=True), status)


def _plan_push(
    sessions: sessionmaker[Session],
    settings: Settings,
    box: SecretBox,
    delivery: str,
    push: Push,
) -> _Plan:
    branch = push.branch
    if branch is None:
        return _Plan(message=f"{push.ref} is not a branch; nothing to deploy")
    with sessions.begin() as session:
        if not plans.record_delivery(session, delivery_id=delivery, event="push"):
            return _Plan(replayed=True)
        apps = plans.connected_apps(session, push.repository)
        plan = _Plan(message=f"{len(apps)} app(s) connected to {push.repository.full_name}")
        for app in apps:
            if push.branch_deleted:
                plan.archivals += plans.previews_to_archive(
                    session, settings=settings, app=app, branch=branch
                )
                continue
            pushed = plans.deploy_push(
                session, settings=settings, box=box, app=app, push=push, branch=branch
            )
            if pushed is not None and pushed.start is not None:
                plan.starts.append(pushed.start)
            elif pushed is not None:
                plan.skipped.append(pushed.deployment_id)
    return plan


def _plan_pull_request(
    sessions: sessionmaker[Session], settings: Settings, delivery: str, event: PullRequest
) -> _Plan:
    branch = event.head_branch
    if event.action != "closed" or branch is None:
        return _Plan(message=f"pull_request {event.action} needs nothing")
    with sessions.begin() as session:
        if not plans.record_delivery(session, delivery_id=delivery, event="pull_request"):
            return _Plan(replayed=True)
        plan = _Plan(message=f"pull request closed: archiving the previews of {branch}")
        for app in plans.connected_apps(session, event.repository):
            plan.archivals += plans.previews_to_archive(
                session, settings=settings, app=app, branch=branch
            )
    return plan


async def _start(client: Client, services: Services, delivery: str, plan: _Plan) -> None:
    for index, start in enumerate(plan.starts):
        try:
            await launch(client, start)
        except TEMPORAL_ERRORS as error:
            reason = services.temporal.failed(error)
            log.warning("delivery %s: deployments not started: %s", delivery, reason)
            await run_in_threadpool(
                _not_started, services.sessions, plan.starts[index:], reason, delivery, index
            )
            raise services.temporal.unavailable(reason, NOT_STARTED) from error


def _not_started(
    sessions: sessionmaker[Session],
    starts: list[crud.WorkflowStart],
    reason: str,
    delivery: str,
    started: int,
) -> None:
    with sessions.begin() as session:
        for start in starts:
            crud.mark_not_started(session, deployment_id=start.deployment_id, reason=reason)
        if not started:  # nothing started, so a redelivery may do it all
            plans.forget_delivery(session, delivery_id=delivery)


def _forget(sessions: sessionmaker[Session], delivery: str) -> None:
    with sessions.begin() as session:
        plans.forget_delivery(session, delivery_id=delivery)


async def _archive(client: Client, services: Services, delivery: str, plan: _Plan) -> None:
    """Ask each environment's workflow to stop the deployment (its stop update)."""
    for archival in plan.archivals:
        try:
            await archive_deployment(
                client,
                archival.environment,
                deployment_id=archival.deployment_id,
                # Per delivery: GitHub's redelivery of it sends nothing twice, a later
                # delivery (the branch deleted again) stops the deployment again.
                update_id=f"archive-{archival.deployment_id}-{delivery}",
            )
        except WorkflowUpdateFailedError as error:  # the workflow refused: nothing to stop
            log.info("delivery %s: %s not archived: %s", delivery, archival.deployment_id, error)
        except TEMPORAL_ERRORS as error:
            reason = services.temporal.failed(error)
            log.warning("delivery %s: archival not sent: %s", delivery, reason)
            # A redelivery sends each archival again; the ones already sent are no-ops.
            await run_in_threadpool(_forget, services.sessions, delivery)
            raise services.temporal.unavailable(reason, "Redeliver to archive.") from error
