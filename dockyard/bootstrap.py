"""First start: the schema, the workspace and the first root key."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from dockyard.db import make_engine, make_sessionmaker, migrate
from dockyard.ids import new_id
from dockyard.keys import ROOT_KEY_PREFIX, generate_key, hash_key, visible_start
from dockyard.models import RootKey, Workspace
from dockyard.settings import Settings

ALL_PERMISSIONS = ["*"]


@dataclass(frozen=True)
class Bootstrapped:
    workspace: Workspace
    sessions: sessionmaker[Session]
    new_root_key: str | None  # plaintext, only when this start created it


def ensure_workspace(session: Session, *, slug: str) -> Workspace:
    workspace = session.scalar(select(Workspace).where(Workspace.slug == slug))
    if workspace is None:
        workspace = Workspace(id=new_id("workspace"), slug=slug, name=slug)
        session.add(workspace)
        session.flush()
    return workspace


def create_root_key(
    session: Session,
    *,
    workspace_id: str,
    name: str | None = None,
    permissions: list[str] | None = None,
    key: str | None = None,
) -> tuple[RootKey, str]:
    """Store a root key by its hash; return the row and the plaintext, shown only now."""
    plaintext = key or generate_key(ROOT_KEY_PREFIX)
    row = RootKey(
        id=new_id("root_key"),
        workspace_id=workspace_id,
        name=name,
        key_hash=hash_key(plaintext),
        start=visible_start(plaintext),
        end=plaintext[-4:],
        permissions=list(permissions or ALL_PERMISSIONS),
    )
    session.add(row)
    session.flush()
    return row, plaintext


def bootstrap(settings: Settings) -> Bootstrapped:
    engine = make_engine(settings.database_url)
    migrate(engine)
    sessions = make_sessionmaker(engine)
    new_key: str | None = None
    with sessions.begin() as session:
        workspace = ensure_workspace(session, slug=settings.workspace)
        if settings.root_key:
            known = session.scalar(
                select(RootKey).where(RootKey.key_hash == hash_key(settings.root_key))
            )
            if known is None:
                create_root_key(
                    session, workspace_id=workspace.id, name="bootstrap", key=settings.root_key
                )
        elif session.scalar(select(RootKey.id).limit(1)) is None:
            _, new_key = create_root_key(session, workspace_id=workspace.id, name="bootstrap")
    return Bootstrapped(workspace=workspace, sessions=sessions, new_root_key=new_key)
