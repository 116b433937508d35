"""Errors the edge answers itself, as RFC 7807 problem+json bodies.

`type` is "about:blank", so `title` is the HTTP status phrase (RFC 7807 section 4.2);
`code` tells the edge's errors apart for machines, `detail` for people. An edge error
also carries the header `x-dockyard-edge-error`, so nobody mistakes it for the app's own.
"""

from __future__ import annotations

import json
import math
from http import HTTPStatus

from starlette.responses import Response

PROBLEM_JSON = "application/problem+json"
EDGE_ERROR_HEADER = "x-dockyard-edge-error"

UNKNOWN_HOST = "no deployment is serving {host}"
NO_HOST = "the request has no Host header, so no deployment can be chosen"
NO_HEALTHY_INSTANCE = "deployment {deployment} of {host} has no healthy instance right now"
ALL_INSTANCES_FAILED = "no instance of deployment {deployment} of {host} could be reached"
UPSTREAM_FAILED = "the instance of deployment {deployment} of {host} failed to answer: {reason}"
UPSTREAM_TIMEOUT = (
    "the instance of deployment {deployment} of {host} did not answer within {seconds:g} s"
)
BODY_TOO_LARGE = "the request body is larger than the gateway accepts ({limit} bytes)"
ROUTES_NOT_LOADED = "the edge has not loaded its routes from the database yet"
DUPLICATE_HOST = "the request has more than one Host header: send exactly one"
PATH_ABOVE_ROOT = "the request path climbs above the root with '..'"
WAKE_OFF = (
    "deployment {deployment} of {host} is stopped and this environment does not wake on "
    "request; start it (dockyard start {deployment}) or turn wakeOnRequest on"
)
WAKE_TIMED_OUT = (
    "deployment {deployment} of {host} is waking up but was not serving within {seconds:g} s; "
    "retry shortly"
)
WAKE_FAILED = "deployment {deployment} of {host} is stopped and could not be woken: {reason}"
# Seconds a client is told to wait before it asks a stopped preview again.
WAKE_RETRY_AFTER = 5


class Problem(Response):
    media_type = PROBLEM_JSON

    def __init__(self, status: int, code: str, detail: str, **extra: object) -> None:
        body = {
            "type": "about:blank",
            "title": HTTPStatus(status).phrase,
            "status": status,
            "detail": detail,
            "code": code,
            **extra,
        }
        super().__init__(
            json.dumps(body).encode(),
            status_code=status,
            headers={EDGE_ERROR_HEADER: code, "cache-control": "no-store"},
        )


def unknown_host(host: str) -> Problem:
    if not host:
        return Problem(404, "unknown_host", NO_HOST)
    return Problem(404, "unknown_host", UNKNOWN_HOST.format(host=host), host=host)


def no_healthy_instance(host: str, deployment: str) -> Problem:
    detail = NO_HEALTHY_INSTANCE.format(host=host, deployment=deployment)
    return Problem(503, "no_healthy_instance", detail, host=host, deploymentId=deployment)


def not_woken(
    code: str, detail: str, host: str, deployment: str, retry_after: float = WAKE_RETRY_AFTER
) -> Problem:
    """503 for a stopped preview that is not serving (yet), with Retry-After."""
    problem = Problem(503, code, detail, host=host, deploymentId=deployment)
    problem.headers["retry-after"] = str(max(1, math.ceil(retry_after)))
    return problem


def wake_off(host: str, deployment: str) -> Problem:
    detail = WAKE_OFF.format(host=host, deployment=deployment)
    return not_woken("wake_on_request_off", detail, host, deployment)


def wake_timed_out(host: str, deployment: str, seconds: float) -> Problem:
    detail = WAKE_TIMED_OUT.format(host=host, deployment=deployment, seconds=seconds)
    return not_woken("wake_timeout", detail, host, deployment)


def wake_failed(
    host: str, deployment: str, reason: str, retry_after: float = WAKE_RETRY_AFTER
) -> Problem:
    """`retry_after`: how long until a request may try to wake the deployment again."""
    detail = WAKE_FAILED.format(host=host, deployment=deployment, reason=reason)
    return not_woken("wake_failed", detail, host, deployment, retry_after)


def all_instances_failed(host: str, deployment: str) -> Problem:
    detail = ALL_INSTANCES_FAILED.format(host=host, deployment=deployment)
    return Problem(502, "upstream_unreachable", detail, host=host, deploymentId=deployment)


def upstream_failed(host: str, deployment: str, reason: str) -> Problem:
    detail = UPSTREAM_FAILED.format(host=host, deployment=deployment, reason=reason)
    return Problem(502, "upstream_failed", detail, host=host, deploymentId=deployment)


def upstream_timeout(host: str, deployment: str, seconds: float) -> Problem:
    detail = UPSTREAM_TIMEOUT.format(host=host, deployment=deployment, seconds=seconds)
    return Problem(504, "upstream_timeout", detail, host=host, deploymentId=deployment)


def body_too_large(limit: int) -> Problem:
    detail = BODY_TOO_LARGE.format(limit=limit)
    return Problem(413, "body_too_large", detail, limitBytes=limit)
