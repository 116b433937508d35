"""Wake on request: the first request to a stopped preview deployment starts it.

A preview deployment that was archived (no traffic for DOCKYARD_PREVIEW_IDLE_TIME) or
stopped keeps its domains, so its requests still reach the environment's replica, which
finds no instance to forward to. Unless the environment turned it off (`wakeOnRequest`),
the replica asks the environment's workflow to wake the deployment (its `wake_deployment`
update, sent by sentinel.wake_workflow: the same start as `dockyard start`, idle clock
included) and holds the request until the route has instances, at most
DOCKYARD_WAKE_TIMEOUT. Past that the request gets
a 503 with Retry-After and the wake carries on. A wake that fails (the app exits or fails
its health check; the workflow removes what it started) stands for FAILED_WAKE_STANDS:
requests meanwhile get its reason at once, then the next one tries again.

Concurrent requests share one wake: a replica sends one update per deployment at a time,
and the workflow, serializing its moves, starts only a deployment that is not running, so
the wakes of several regions' replicas start it once. Production deployments never wake:
standby is the environment workflow's business alone.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from starlette.responses import Response

from dockyard.payloads import EnvironmentInput
from sentinel import problems
from sentinel.route_keeper import RouteKeeper
from sentinel.routing import Route

log = logging.getLogger(__name__)

# How long what the database said of a deployment without instances stands. Requests to
# a production deployment whose instances all died, or to a preview that does not wake,
# would otherwise each cost a database read: a flood of them is one read a second.
ANSWER_SECONDS = 1.0
MAX_ANSWERS = 10_000
# How long a failed wake stands: meanwhile requests get its reason at once instead of
# each starting the deployment again (a broken app would otherwise be restarted by its
# own traffic, one failing start after another).
FAILED_WAKE_STANDS = 30.0


@dataclass(frozen=True, slots=True)
class Asleep:
    """A stopped preview deployment, as the database has it."""

    deployment_id: str
    wake_on_request: bool
    environment: EnvironmentInput


class Waker:
    """Holds requests to stopped previews while one wake per deployment runs."""

    def __init__(
        self,
        *,
        find: Callable[[str], Asleep | None],
        wake: Callable[[Asleep], Awaitable[None]],
        timeout: float,
        failure_stands: float = FAILED_WAKE_STANDS,
    ) -> None:
        """`find`: blocking (it reads the database), so it runs in a thread."""
        self._find = find
        self._wake = wake
        self.timeout = timeout
        self.failure_stands = failure_stands
        # Per deployment: when its last wake failed (loop time), and why.
        self._failures: dict[str, tuple[float, str]] = {}
        # A deployment's wake, kept until a request sees the deployment routed again, so
        # requests between the wake's end and the next route reload still wait for it.
        self._wakes: dict[str, asyncio.Task[None]] = {}
        # Per deployment: the read under way, and the last answer with when it expires.
        self._reads: dict[str, asyncio.Future[Asleep | None]] = {}
        self._answers: dict[str, tuple[float, Asleep | None]] = {}

    async def hold(self, routes: RouteKeeper, host: str, route: Route) -> Route | Response:
        """`route` has no instances: the route once it has, or the problem to answer."""
        deployment_id = route.deployment_id
        wake = self._wakes.get(deployment_id)
        if wake is not None and not wake.done():  # a burst: one database read, by the first
            return await self._until_routed(routes, host, route, wake)
        try:
            asleep = await self._read(deployment_id)
        except Exception as error:  # the database blinked: answer as before wake existed
            log.warning("could not tell whether %s can wake: %s", deployment_id, error)
            asleep = None
        current = routes.table.lookup(host)
        if current is not None and current.has_instances:  # woken while it was read
            return current
        wake = self._wakes.get(deployment_id)
        if asleep is not None and not asleep.wake_on_request:
            return problems.wake_off(host, deployment_id)
        if asleep is not None and (wake is None or wake.done()):
            failed = self._standing_failure(host, deployment_id)
            if failed is not None:
                return failed
            wake = self._begin(asleep, routes)
        if wake is None:
            return problems.no_healthy_instance(host, deployment_id)
        return await self._until_routed(routes, host, route, wake)

    async def _read(self, deployment_id: str) -> Asleep | None:
        """What the database says of the deployment: one read at a time per deployment,
        and its answer stands for ANSWER_SECONDS."""
        loop = asyncio.get_running_loop()
        answered = self._answers.get(deployment_id)
        if answered is not None and answered[0] > loop.time():
            return answered[1]
        reading = self._reads.get(deployment_id)
        if reading is None:
            reading = asyncio.ensure_future(asyncio.to_thread(self._find, deployment_id))
            self._reads[deployment_id] = reading
            reading.add_done_callback(lambda done: self._remember(deployment_id, done))
        return await asyncio.shield(reading)

    def _remember(self, deployment_id: str, read: asyncio.Future[Asleep | None]) -> None:
        self._reads.pop(deployment_id, None)
        if read.cancelled() or read.exception() is not None:
            return
        if len(self._answers) >= MAX_ANSWERS:
            self._answers.clear()
        expires = asyncio.get_running_loop().time() + ANSWER_SECONDS
        self._answers[deployment_id] = (expires, read.result())

    def _standing_failure(self, host: str, deployment_id: str) -> Response | None:
        """The 503 of the deployment's last wake while that failure stands, else None."""
        failure = self._failures.get(deployment_id)
        if failure is None:
            return None
        failed_at, reason = failure
        remaining = failed_at + self.failure_stands - asyncio.get_running_loop().time()
        if remaining <= 0:
            del self._failures[deployment_id]
            return None
        return problems.wake_failed(host, deployment_id, reason, retry_after=remaining)

    def _begin(self, asleep: Asleep, routes: RouteKeeper) -> asyncio.Task[None]:
        async def wake() -> None:
            try:
                await self._wake(asleep)
            except Exception as error:
                # Requests get this failure until it stops standing; then one tries again.
                reason = str(error) or type(error).__name__
                self._failures[asleep.deployment_id] = (asyncio.get_running_loop().time(), reason)
                self._wakes.pop(asleep.deployment_id, None)
                raise
            except BaseException:
                self._wakes.pop(asleep.deployment_id, None)  # the next request tries again
                raise
            self._failures.pop(asleep.deployment_id, None)
            routes.changed()  # its instances are healthy: read them now, not at the poll

        log.info("waking deployment %s on request", asleep.deployment_id)
        task = asyncio.create_task(wake(), name=f"wake-{asleep.deployment_id}")
        task.add_done_callback(_log_failure)
        self._wakes[asleep.deployment_id] = task
        return task

    async def _until_routed(
        self, routes: RouteKeeper, host: str, route: Route, wake: asyncio.Task[None]
    ) -> Route | Response:
        deployment_id = route.deployment_id
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.timeout
        while True:
            current = routes.table.lookup(host)
            if current is None:  # the domain moved away meanwhile
                return problems.unknown_host(host)
            if current.has_instances:
                if self._wakes.get(deployment_id) is wake and wake.done():
                    del self._wakes[deployment_id]
                return current
            if current.deployment_id != deployment_id:
                return problems.no_healthy_instance(host, current.deployment_id)
            if wake.done() and not wake.cancelled() and wake.exception() is not None:
                reason = str(wake.exception()) or type(wake.exception()).__name__
                return problems.wake_failed(
                    host, deployment_id, reason, retry_after=self.failure_stands
                )
            remaining = deadline - loop.time()
            if remaining <= 0:
                return problems.wake_timed_out(host, deployment_id, self.timeout)
            reload = asyncio.ensure_future(routes.next_reload())
            waiting = {reload} if wake.done() else {reload, wake}
            try:
                await asyncio.wait(waiting, timeout=remaining, return_when=asyncio.FIRST_COMPLETED)
            finally:
                reload.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await reload

    async def aclose(self) -> None:
        for task in self._wakes.values():
            task.cancel()
        for task in list(self._wakes.values()):
            with contextlib.suppress(BaseException):
                await task
        self._wakes.clear()


def _log_failure(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and (error := task.exception()) is not None:
        log.warning("%s failed: %s", task.get_name(), error)
