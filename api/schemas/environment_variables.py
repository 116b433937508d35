"""environments.set/list/removeEnvironmentVariables: an environment's variables.

Values arrive as `SecretStr`, so a value never shows in a repr, a log line or a
validation error; they are sealed (AES-GCM, dockyard.crypto) before they are stored.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AfterValidator, Field, SecretStr, StringConstraints, model_validator

from api.schemas.base import Cursor, Input, Limit, Output, ResourceIdentifier

MAX_VALUE_BYTES = 16384
MAX_VARIABLES = 50
KEY_RULE = "must be a POSIX shell name: letters, digits and underscores, not starting with a digit"
VALUE_EMPTY = "must not be empty"
VALUE_TOO_LONG = f"must be at most {MAX_VALUE_BYTES} bytes in UTF-8"
DUPLICATE_KEY = "key {key!r} appears more than once; each key may be set once per request"

VariableKind = Literal["recoverable", "writeonly"]


def _check_value(value: SecretStr) -> SecretStr:
    # The message never repeats the value: it is a secret even when it is invalid.
    secret = value.get_secret_value()
    if not secret:
        raise ValueError(VALUE_EMPTY)
    if len(secret.encode()) > MAX_VALUE_BYTES:
        raise ValueError(VALUE_TOO_LONG)
    return value


VariableKey = Annotated[
    str,
    StringConstraints(min_length=1, max_length=256, pattern=r"^[A-Za-z_][A-Za-z0-9_]*$"),
]
VariableValue = Annotated[SecretStr, AfterValidator(_check_value)]


class VariableIn(Input):
    key: VariableKey
    value: VariableValue
    kind: VariableKind = "writeonly"
    description: Annotated[str, StringConstraints(max_length=255)] | None = None


class EnvironmentScoped(Input):
    project: ResourceIdentifier
    app: ResourceIdentifier
    environment: ResourceIdentifier


class SetVariables(EnvironmentScoped):
    variables: Annotated[list[VariableIn], Field(max_length=MAX_VARIABLES)]
    prune: bool = False

    @model_validator(mode="after")
    def _unique_keys(self) -> SetVariables:
        seen: set[str] = set()
        for variable in self.variables:
            if variable.key in seen:
                raise ValueError(DUPLICATE_KEY.format(key=variable.key))
            seen.add(variable.key)
        return self


class RemoveVariables(EnvironmentScoped):
    variables: Annotated[list[VariableKey], Field(min_length=1, max_length=MAX_VARIABLES)]


class ListVariables(EnvironmentScoped):
    limit: Limit = 100
    cursor: Cursor | None = None


class VariableOut(Output):
    key: str
    kind: VariableKind
    created_at: int
    value: str | None = None  # recoverable variables only
    description: str | None = None
