"""Connecting to Temporal and starting dockyard's workflows from outside a workflow."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import (
    AddSearchAttributesRequest,
    ListSearchAttributesRequest,
)
from temporalio.client import Client, WorkflowHandle
from temporalio.common import SearchAttributePair, TypedSearchAttributes, WorkflowIDConflictPolicy
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.runtime import Runtime
from temporalio.service import RPCError, TLSConfig

from dockyard import search_attributes
from dockyard.payloads import (
    DEPLOYMENT_WORKFLOW,
    ENVIRONMENT_WORKFLOW,
    DeploymentInput,
    EnvironmentInput,
    deployment_workflow_id,
    environment_workflow_id,
)
from dockyard.settings import Settings

log = logging.getLogger(__name__)


async def connect(settings: Settings, *, runtime: Runtime | None = None) -> Client:
    """`runtime`: the SDK's own (its metrics exporter, say); the default one when None."""
    return await Client.connect(
        settings.temporal_address,
        namespace=settings.temporal_namespace,
        data_converter=pydantic_data_converter,
        runtime=runtime,
        tls=temporal_tls(settings),
        api_key=settings.temporal_api_key.get_secret_value() or None,
    )


def temporal_tls(settings: Settings) -> TLSConfig | bool:
    """TLS to Temporal when asked for, or implied by a certificate setting; else plain."""
    files = (settings.temporal_tls_ca, settings.temporal_tls_cert, settings.temporal_tls_key)
    if not settings.temporal_tls and not any(files):
        return False
    ca, cert, key = (path.read_bytes() if path is not None else None for path in files)
    return TLSConfig(server_root_ca_cert=ca, client_cert=cert, client_private_key=key)


async def register_search_attributes(client: Client, namespace: str) -> None:
    """Idempotent: a Temporal cluster that already knows them answers and nothing changes."""
    existing = await client.operator_service.list_search_attributes(
        ListSearchAttributesRequest(namespace=namespace)
    )
    missing = {
        key.name: IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD
        for key in search_attributes.ALL
        if key.name not in existing.custom_attributes
    }
    if not missing:
        return
    try:
        await client.operator_service.add_search_attributes(
            AddSearchAttributesRequest(search_attributes=missing, namespace=namespace)
        )
    except RPCError as error:
        log.warning("could not register search attributes %s: %s", sorted(missing), error)


async def ensure_environment_workflow(
    client: Client,
    environment: EnvironmentInput,
    *,
    signal: str | None = None,
    signal_args: Sequence[Any] = (),
) -> None:
    """Start the environment's workflow unless it runs; with `signal`, also send it that
    signal in the same call, so a workflow that was not running gets it when it starts."""
    await client.start_workflow(
        ENVIRONMENT_WORKFLOW,
        environment,
        id=environment_workflow_id(environment.environment_id),
        task_queue=environment.queues.control,
        id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
        start_signal=signal,
        start_signal_args=signal_args,
    )


async def start_deployment(
    client: Client,
    deployment: DeploymentInput,
    *,
    project: str,
    app: str,
    environment: str,
    branch: str | None,
    sha: str | None,
    trigger: str,
    commit_message: str | None = None,
    author: str | None = None,
) -> WorkflowHandle[Any, Any]:
    attributes = [
        SearchAttributePair(search_attributes.PROJECT, project),
        SearchAttributePair(search_attributes.APP, app),
        SearchAttributePair(search_attributes.ENVIRONMENT, environment),
        SearchAttributePair(search_attributes.STATUS, "pending"),
        SearchAttributePair(search_attributes.TRIGGER, trigger),
    ]
    if branch:
        attributes.append(SearchAttributePair(search_attributes.BRANCH, branch))
    if sha:
        attributes.append(SearchAttributePair(search_attributes.SHA, sha))
    return await client.start_workflow(
        DEPLOYMENT_WORKFLOW,
        deployment,
        id=deployment_workflow_id(deployment.deployment_id),
        task_queue=deployment.queues.control,
        search_attributes=TypedSearchAttributes(attributes),
        memo={
            key: value
            for key, value in (("commitMessage", commit_message), ("author", author))
            if value
        },
        static_summary=f"{project}/{app} to {environment}" + (f" at {sha[:7]}" if sha else ""),
        id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
    )
