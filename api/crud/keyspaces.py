"""Keyspaces ("apis" in Unkey's words): found by id within the caller's workspace."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from api.errors import NotFound
from dockyard.ids import new_id
from dockyard.keyspaces import Key, Keyspace

NO_KEYSPACE = "API '{api_id}' does not exist in this workspace."


def find_keyspace(session: Session, *, workspace_id: str, api_id: str) -> Keyspace:
    row = session.get(Keyspace, api_id)
    if row is None or row.workspace_id != workspace_id:
        raise NotFound(NO_KEYSPACE.format(api_id=api_id))
    return row


def create_keyspace(session: Session, *, workspace_id: str, name: str) -> Keyspace:
    keyspace = Keyspace(id=new_id("keyspace"), workspace_id=workspace_id, name=name)
    session.add(keyspace)
    session.flush()
    return keyspace


def delete_keyspace(session: Session, keyspace: Keyspace) -> list[str]:
    """Delete the keyspace and every key in it; the hashes of the keys it held."""
    hashes = list(session.scalars(select(Key.key_hash).where(Key.keyspace_id == keyspace.id)))
    session.delete(keyspace)
    return hashes


def keyspaces_with_key_counts(session: Session, *, workspace_id: str) -> list[tuple[Keyspace, int]]:
    """The workspace's keyspaces, newest first, each with how many keys it holds."""
    counts = (
        select(Key.keyspace_id, func.count().label("key_count"))
        .group_by(Key.keyspace_id)
        .subquery()
    )
    rows = session.execute(
        select(Keyspace, func.coalesce(counts.c.key_count, 0))
        .outerjoin(counts, counts.c.keyspace_id == Keyspace.id)
        .where(Keyspace.workspace_id == workspace_id)
        .order_by(Keyspace.created_at.desc(), Keyspace.id)
    )
    return [(keyspace, keys) for keyspace, keys in rows]
