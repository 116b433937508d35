"""Queued: a git deployment waits here until one of `build_concurrency` build slots is free.

The queue lives in the database (`build_queue`), so it bounds builds across every worker.
Production goes first, then the oldest push. A waiting deployment that a newer deployment
of the same environment and branch has overtaken is superseded instead of built: only the
newest commit of a branch is worth building.
"""

from __future__ import annotations

import time

from sqlalchemy import Delete, and_, delete, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker
from temporalio import activity

from dockyard.models import BuildQueueEntry, Deployment, Environment, now_ms
from dockyard.payloads import BuildSlot, BuildSlotRequest, ReleaseBuildSlot

POLL_SECONDS = 0.5
# A waiting entry no one touched for this long belongs to a workflow that is gone.
STALE_WAITER_MS = 30_000
# A slot whose build no one touched for this long is free again (builds touch it often).
STALE_HOLDER_MS = 5 * 60_000
HOLDING = frozenset({"pending", "queued", "building"})
# A newer deployment supersedes an older one unless it was itself never going to build.
NOT_SUPERSEDING = ("skipped", "cancelled")


class BuildQueue:
    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self._sessions = sessions

    @activity.defn(name="wait for a build slot")
    def wait_for_slot(self, request: BuildSlotRequest) -> BuildSlot:
        while True:
            with self._sessions.begin() as session:
                newer = _newer_of_same_branch(session, request.deployment_id)
                if newer is not None:
                    session.execute(_remove(request.deployment_id))
                    return BuildSlot(superseded_by=newer)
                entry = _enter(session, request.deployment_id)
                if entry.slot is not None:  # a retried attempt that had got it already
                    return BuildSlot()
                _free_abandoned_slots(session)
            if self._claim(request):
                return BuildSlot()
            activity.heartbeat()
            time.sleep(POLL_SECONDS)

    @activity.defn(name="release the build slot")
    def release_slot(self, request: ReleaseBuildSlot) -> None:
        with self._sessions.begin() as session:
            session.execute(_remove(request.deployment_id))

    def _claim(self, request: BuildSlotRequest) -> bool:
        try:
            with self._sessions.begin() as session:
                entry = session.get_one(BuildQueueEntry, request.deployment_id)
                if _someone_ahead(session, entry):
                    return False
                taken = set(
                    session.scalars(
                        select(BuildQueueEntry.slot).where(BuildQueueEntry.slot.is_not(None))
                    )
                )
                free = [slot for slot in range(request.concurrency) if slot not in taken]
                if not free:
                    return False
                entry.slot = free[0]
                entry.seen_at = now_ms()
            return True
        except IntegrityError:  # another deployment took that slot in the meantime
            return False


def touch(session: Session, deployment_id: str) -> None:
    """The build holding this slot is alive."""
    session.execute(
        update(BuildQueueEntry)
        .where(BuildQueueEntry.deployment_id == deployment_id)
        .values(seen_at=now_ms())
    )


def _enter(session: Session, deployment_id: str) -> BuildQueueEntry:
    entry = session.get(BuildQueueEntry, deployment_id)
    if entry is None:
        deployment = session.get_one(Deployment, deployment_id)
        environment = session.get_one(Environment, deployment.environment_id)
        entry = BuildQueueEntry(
            deployment_id=deployment_id,
            production=environment.kind == "production",
            enqueued_at=deployment.created_at,
        )
        session.add(entry)
    entry.seen_at = now_ms()
    session.flush()
    return entry


def _someone_ahead(session: Session, entry: BuildQueueEntry) -> bool:
    """Whether a live waiting entry ranks before this one: production first, then oldest."""
    waiting = BuildQueueEntry
    earlier = or_(
        waiting.enqueued_at < entry.enqueued_at,
        and_(
            waiting.enqueued_at == entry.enqueued_at,
            waiting.deployment_id < entry.deployment_id,
        ),
    )
    production = waiting.production.is_(True)
    ranks_before = and_(production, earlier) if entry.production else or_(production, earlier)
    found = session.scalar(
        select(waiting.deployment_id)
        .where(
            waiting.slot.is_(None),
            waiting.deployment_id != entry.deployment_id,
            waiting.seen_at >= now_ms() - STALE_WAITER_MS,
            ranks_before,
        )
        .limit(1)
    )
    return found is not None


def _newer_of_same_branch(session: Session, deployment_id: str) -> str | None:
    deployment = session.get_one(Deployment, deployment_id)
    return session.scalar(
        select(Deployment.id)
        .where(
            Deployment.environment_id == deployment.environment_id,
            Deployment.git_branch == deployment.git_branch,
            Deployment.source == "git",
            Deployment.created_at > deployment.created_at,
            Deployment.status.not_in(NOT_SUPERSEDING),
        )
        .order_by(Deployment.created_at.desc())
        .limit(1)
    )


def _free_abandoned_slots(session: Session) -> None:
    """Slots of deployments that ended without releasing them, or whose build went silent."""
    finished = select(Deployment.id).where(Deployment.status.not_in(HOLDING))
    session.execute(
        delete(BuildQueueEntry).where(
            or_(
                BuildQueueEntry.deployment_id.in_(finished),
                and_(
                    BuildQueueEntry.slot.is_not(None),
                    BuildQueueEntry.seen_at < now_ms() - STALE_HOLDER_MS,
                ),
                and_(
                    BuildQueueEntry.slot.is_(None),
                    BuildQueueEntry.seen_at < now_ms() - STALE_WAITER_MS,
                ),
            )
        )
    )


def _remove(deployment_id: str) -> Delete:
    return delete(BuildQueueEntry).where(BuildQueueEntry.deployment_id == deployment_id)
