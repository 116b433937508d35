"""Unkey's error envelope: every failure answers in the shape Unkey's SDKs parse.

    {"meta": {"requestId": "req_..."},
     "error": {"title": ..., "detail": ..., "status": ..., "type": ..., "errors": [...]}}

`errors` (one entry per bad field: location, message, fix) is part of 400s only, as in
Unkey's BadRequestErrorDetails. Anything a caller can get wrong becomes a 4xx with a message
saying what to change; a 500 means a bug in dockyard, never bad input.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from api.meta import request_id
from api.schemas.base import ErrorBody, ErrorDetails, FieldError, Meta

log = logging.getLogger(__name__)

# Every router declares these, so the OpenAPI document shows Unkey's envelope for errors
# (declaring "4XX" also keeps FastAPI from documenting a 422 that is never sent).
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    "4XX": {"model": ErrorBody, "description": "Unkey's error envelope; a 400 lists each bad field"}
}
UNAVAILABLE_RESPONSE: dict[int | str, dict[str, Any]] = {
    503: {"model": ErrorBody, "description": "Temporal is unreachable; retry after Retry-After"}
}

NOT_JSON = "The request body must be a JSON object sent with `Content-Type: application/json`."
BODY_REQUIRED = "A JSON request body is required; send `{}` when every field is optional."
INTERNAL = "dockyard failed to handle this request. The error is logged under this request id."
BODY_TOO_LARGE = (
    "The request body is larger than the {limit} bytes this operation accepts; nothing was done."
)
# Where api.body_limit keeps the body limit of this request.
LIMIT_SCOPE_KEY = "dockyard.max_body_bytes"


# Titles are the status's reason phrase, but 413's as Unkey's error bodies spell it:
# Python's phrase for it is the older "Request Entity Too Large".
TITLES = {413: "Payload Too Large"}


class ApiError(Exception):
    status = 500
    type = "internal-server-error"

    def __init__(
        self,
        detail: str,
        *,
        errors: Sequence[FieldError] = (),
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        self.errors = list(errors)
        self.headers = headers

    @property
    def title(self) -> str:
        return TITLES.get(self.status) or HTTPStatus(self.status).phrase


class BadRequest(ApiError):
    status = 400
    type = "validation-error"

    @classmethod
    def at(cls, location: str, message: str, fix: str | None = None) -> BadRequest:
        return cls(
            f"{location}: {message}",
            errors=[FieldError(location=location, message=message, fix=fix)],
        )


class Unauthorized(ApiError):
    status = 401
    type = "unauthorized"


class Forbidden(ApiError):
    status = 403
    type = "forbidden"


class NotFound(ApiError):
    status = 404
    type = "not-found"


class Conflict(ApiError):
    status = 409
    type = "conflict"


class PreconditionFailed(ApiError):
    status = 412
    type = "precondition-failed"


class MethodNotAllowed(ApiError):
    status = 405
    type = "method-not-allowed"


class PayloadTooLarge(ApiError):
    status = 413
    type = "payload-too-large"


class ServiceUnavailable(ApiError):
    status = 503
    type = "service-unavailable"


def body_too_large(limit: object) -> str:
    return BODY_TOO_LARGE.format(limit=limit)


# Unkey's spec declares these operations' errors as application/problem+json (the rest
# as application/json), and its SDKs pick the error type to raise by that content type.
PROBLEM_JSON_PATHS = frozenset({"/v2/identities.deleteIdentity"})


def error_response(request: Request, error: ApiError) -> JSONResponse:
    body = ErrorBody(
        meta=Meta(request_id=request_id(request)),
        error=ErrorDetails(
            title=error.title,
            detail=error.detail,
            status=error.status,
            type=error.type,
            errors=error.errors if error.status == 400 else None,
        ),
    )
    return JSONResponse(
        body.model_dump(mode="json", by_alias=True, exclude_none=True),
        status_code=error.status,
        headers=error.headers,
        media_type=("application/problem+json" if request.url.path in PROBLEM_JSON_PATHS else None),
    )


def field_errors(validation: RequestValidationError) -> list[FieldError]:
    return [_field_error(error) for error in validation.errors()]


def _field_error(error: Any) -> FieldError:
    loc = tuple(error.get("loc", ()))
    kind = error.get("type", "")
    if kind == "json_invalid":
        reason = error.get("ctx", {}).get("error", "malformed JSON")
        position = loc[1] if len(loc) > 1 else "?"
        return FieldError(
            location="body",
            message=f"The request body is not valid JSON: {reason} (at character {position}).",
            fix="Send a JSON object, e.g. check for a missing quote, comma or brace.",
        )
    if loc == ("body",) and kind == "missing":
        return FieldError(location="body", message=BODY_REQUIRED)
    if loc == ("body",) and kind in {"model_attributes_type", "model_type", "dict_type"}:
        return FieldError(location="body", message=NOT_JSON)
    location = _location(loc)
    if kind == "extra_forbidden":
        return FieldError(
            location=location,
            message="is not a known field",
            fix="Remove it, or check its spelling.",
        )
    if kind == "missing":
        return FieldError(location=location, message="is required", fix="Add this field.")
    message = str(error.get("msg", "is not valid"))
    if kind == "value_error":
        # pydantic prefixes our own messages with "Value error, "; the message is enough.
        message = str(error.get("ctx", {}).get("error", message))
    return FieldError(location=location, message=message)


def _location(loc: Sequence[Any]) -> str:
    text = ""
    for part in loc:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else str(part)
    return text or "body"


def _validation_detail(errors: Sequence[FieldError]) -> str:
    if not errors:
        return "The request is not valid."
    first = errors[0]
    detail = first.message if first.location == "body" else f"{first.location} {first.message}"
    if len(errors) > 1:
        detail += f" (and {len(errors) - 1} more problem{'s' if len(errors) > 2 else ''})"
    return detail


async def _on_api_error(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, ApiError)
    return error_response(request, error)


async def _on_validation_error(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, RequestValidationError)
    errors = field_errors(error)
    return error_response(request, BadRequest(_validation_detail(errors), errors=errors))


async def _on_http_error(request: Request, error: Exception) -> JSONResponse:
    """Starlette's own errors: unknown operations, wrong methods, bodies over the limit."""
    assert isinstance(error, HTTPException)
    if error.status_code == 404:
        mapped: ApiError = NotFound(
            f"There is no operation at {request.method} {request.url.path}. "
            "Operations are POST /v2/<resource>.<operation>, e.g. POST /v2/projects.listProjects."
        )
    elif error.status_code == 405:
        mapped = MethodNotAllowed(f"{request.method} is not allowed; every operation is a POST.")
    elif error.status_code == 413:
        mapped = PayloadTooLarge(body_too_large(request.scope.get(LIMIT_SCOPE_KEY)))
    else:
        mapped = ApiError(str(error.detail))
        mapped.status = error.status_code
        mapped.headers = dict(error.headers or {}) or None
    return error_response(request, mapped)


async def _on_unexpected(request: Request, error: Exception) -> JSONResponse:
    log.exception("request %s failed", request_id(request), exc_info=error)
    return error_response(request, ApiError(INTERNAL))


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(ApiError, _on_api_error)
    app.add_exception_handler(RequestValidationError, _on_validation_error)
    app.add_exception_handler(HTTPException, _on_http_error)
    app.add_exception_handler(Exception, _on_unexpected)
