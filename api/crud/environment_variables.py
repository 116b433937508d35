"""Environment variables: sealed at rest, written atomically, read back only when recoverable.

Deployments freeze the variables they start with (dockyard.deployments), so a change here
applies to the next deployment, never to a running one.
"""

from __future__ import annotations

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from api.pagination import decode_cursor, encode_cursor, page
from api.schemas.base import Pagination
from api.schemas.environment_variables import VariableIn, VariableOut
from dockyard.crypto import SecretBox
from dockyard.models import Environment, EnvironmentVariable, now_ms

RECOVERABLE = "recoverable"


def set_variables(
    session: Session,
    *,
    box: SecretBox,
    environment: Environment,
    variables: list[VariableIn],
    prune: bool,
) -> None:
    """Upsert each variable exactly as sent; with `prune`, delete every other one."""
    existing = {
        row.key: row
        for row in session.scalars(
            select(EnvironmentVariable).where(EnvironmentVariable.environment_id == environment.id)
        )
    }
    for variable in variables:
        row = existing.get(variable.key)
        if row is None:
            row = EnvironmentVariable(environment_id=environment.id, key=variable.key)
            session.add(row)
        row.kind = variable.kind
        row.description = variable.description
        row.value_encrypted = box.seal(variable.value.get_secret_value().encode())
        row.updated_at = now_ms()
    if prune:
        kept = {variable.key for variable in variables}
        for key, row in existing.items():
            if key not in kept:
                session.delete(row)
    session.flush()


def remove_variables(session: Session, *, environment: Environment, keys: list[str]) -> None:
    """Delete the named variables; names that do not exist already match what was asked."""
    session.execute(
        delete(EnvironmentVariable).where(
            EnvironmentVariable.environment_id == environment.id,
            EnvironmentVariable.key.in_(set(keys)),
        )
    )


def list_variables(
    session: Session,
    *,
    box: SecretBox,
    environment: Environment,
    limit: int,
    cursor: str | None,
) -> tuple[list[VariableOut], Pagination]:
    """By variable id; `value` only for recoverable variables, never for writeonly ones."""
    query = select(EnvironmentVariable).where(EnvironmentVariable.environment_id == environment.id)
    if cursor:
        (after,) = decode_cursor(cursor, kinds=(int,))
        query = query.where(EnvironmentVariable.id > after)
    rows = session.scalars(query.order_by(EnvironmentVariable.id).limit(limit + 1)).all()
    kept, pagination = page(rows, limit=limit, cursor_of=lambda row: encode_cursor(row.id))
    return [_out(row, box) for row in kept], pagination


def _out(row: EnvironmentVariable, box: SecretBox) -> VariableOut:
    recoverable = row.kind == RECOVERABLE
    return VariableOut(
        key=row.key,
        kind="recoverable" if recoverable else "writeonly",
        created_at=row.created_at,
        value=box.open(row.value_encrypted).decode() if recoverable else None,
        description=row.description,
    )
