"""Verifying custom domains: the TXT record proves ownership, then the domain serves.

Like Unkey, verification runs in the background: every pending or verifying domain is
checked about once a minute for 24 hours from the start of its verification period, then
it is `failed` until domains.verifyDomain restarts the period. verifyDomain also checks at
once, so a caller whose records are in place does not wait for the next round.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool

from api.crud.domains import routing_target
from api.dns import LookupFailed, Resolver
from api.domain_names import CUSTOM, txt_name, txt_value
from dockyard.custom_domains import routed_deployment
from dockyard.events import Events
from dockyard.models import Domain, Environment, now_ms

log = logging.getLogger(__name__)

VERIFICATION_WINDOW_MS = 24 * 60 * 60 * 1000
RECHECK_SECONDS = 60.0
BATCH = 100
UNVERIFIED = ("pending", "verifying")
TXT_MISSING = "No TXT record {name} with the value {value} was found{seen}."
WINDOW_OVER = "Verification stopped: the records did not appear within 24 hours. {reason}"


@dataclass(frozen=True)
class Question:
    domain_id: str
    hostname: str
    token: str
    target: str


@dataclass(frozen=True)
class Answer:
    owned: bool
    routing: bool
    error: str | None


async def ask(resolver: Resolver, question: Question) -> Answer:
    name, value = txt_name(question.hostname), txt_value(question.token)
    try:
        found = await resolver.txt(name)
        owned = value in found
        routing = (await resolver.cname(question.hostname)) == question.target
    except LookupFailed as failure:
        return Answer(owned=False, routing=False, error=f"DNS look-up failed: {failure}")
    seen = f" (found: {', '.join(repr(v) for v in found)})" if found and not owned else ""
    missing = None if owned else TXT_MISSING.format(name=name, value=value, seen=seen)
    return Answer(owned=owned, routing=routing, error=missing)


class Verifier:
    def __init__(
        self, sessions: sessionmaker[Session], resolver: Resolver, events: Events, apex: str
    ) -> None:
        self._sessions = sessions
        self._resolver = resolver
        self._events = events
        self._apex = apex

    async def verify(self, domain_id: str) -> None:
        """Check one domain now and record the outcome."""
        question = await run_in_threadpool(self._question, domain_id)
        if question is not None:
            await self._settle(question)

    async def run(self) -> None:
        """Check every unverified domain about once a minute, for as long as the API runs."""
        while True:
            await asyncio.sleep(RECHECK_SECONDS)
            try:
                for question in await run_in_threadpool(self._due):
                    await self._settle(question)
            except Exception:
                log.exception("custom domain verification round failed; retrying next round")

    async def _settle(self, question: Question) -> None:
        answer = await ask(self._resolver, question)
        routes_changed = await run_in_threadpool(self._record, question, answer)
        if routes_changed is not None:
            await run_in_threadpool(self._events.routes_changed, routes_changed)

    def _question(self, domain_id: str) -> Question | None:
        with self._sessions() as session:
            domain = session.get(Domain, domain_id)
            if domain is None or domain.status not in UNVERIFIED:
                return None
            return self._question_of(session, domain)

    def _question_of(self, session: Session, domain: Domain) -> Question:
        return Question(
            domain_id=domain.id,
            hostname=domain.hostname,
            token=domain.verification_token or "",
            target=routing_target(session, domain=domain, apex=self._apex),
        )

    def _due(self) -> list[Question]:
        with self._sessions.begin() as session:
            now = now_ms()
            questions = []
            for domain in session.scalars(
                select(Domain)
                .where(Domain.kind == CUSTOM, Domain.status.in_(UNVERIFIED))
                .order_by(Domain.updated_at)
                .limit(BATCH)
            ):
                if now - (domain.verification_started_at or 0) >= VERIFICATION_WINDOW_MS:
                    domain.status = "failed"
                    domain.verification_error = WINDOW_OVER.format(
                        reason=domain.verification_error or ""
                    ).strip()
                else:
                    questions.append(self._question_of(session, domain))
            return questions

    def _record(self, question: Question, answer: Answer) -> str | None:
        """Store the outcome; the environment id when the domain became routable."""
        with self._sessions.begin() as session:
            domain = session.get(Domain, question.domain_id)
            if domain is None or domain.status not in UNVERIFIED:
                return None  # deleted or settled meanwhile
            domain.routing_verified = answer.routing
            if not answer.owned:
                domain.status = "verifying"
                domain.verification_error = answer.error
                return None
            domain.status = "verified"
            domain.verification_error = None
            environment = session.get_one(Environment, domain.environment_id)
            domain.deployment_id = routed_deployment(domain, environment)
            return domain.environment_id
