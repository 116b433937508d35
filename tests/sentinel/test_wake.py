"""sentinel.wake's hold, with the database and Temporal stood in for (tests/e2e/test_wake.py
runs it for real): one wake per deployment, and a clear 503 for every way it can end."""

from __future__ import annotations

import asyncio

from starlette.responses import Response

from dockyard.payloads import EnvironmentInput
from sentinel.route_keeper import RouteKeeper
from sentinel.routing import Route, RouteTable
from sentinel.wake import Asleep, Waker

HOST = "shop-preview-acme.localhost"
DEPLOYMENT = "d_1"


def table(*addresses: str) -> RouteTable:
    instances = {DEPLOYMENT: [("local", address) for address in addresses]}
    return RouteTable.build(
        region="local", domains={HOST: (DEPLOYMENT, "env_1")}, instances=instances
    )


class Sleeping:
    """The database and the environment's workflow: a wake makes the routes appear."""

    def __init__(self, *, wake_on_request: bool = True, fails: bool = False) -> None:
        self.asleep: Asleep | None = Asleep(
            deployment_id=DEPLOYMENT,
            wake_on_request=wake_on_request,
            environment=EnvironmentInput(environment_id="env_1", production=False),
        )
        self.fails = fails
        self.wakes = 0
        self.release = asyncio.Event()
        self.routes = table()

    def find(self, _deployment_id: str) -> Asleep | None:
        return self.asleep

    async def wake(self, _asleep: Asleep) -> None:
        self.wakes += 1
        await self.release.wait()
        if self.fails:
            raise RuntimeError("the image is gone")
        self.asleep = None  # ready now
        self.routes = table("127.0.0.1:9")


def keeper_for(sleeping: Sleeping) -> RouteKeeper:
    keeper = RouteKeeper(lambda: sleeping.routes, poll_interval=0.05)
    keeper.table = sleeping.routes
    return keeper


def status_and_code(answer: Route | Response) -> tuple[int, str]:
    assert isinstance(answer, Response)
    return answer.status_code, answer.headers.get("x-dockyard-edge-error", "")


async def test_concurrent_requests_share_one_wake_and_get_the_new_route() -> None:
    sleeping = Sleeping()
    keeper = keeper_for(sleeping)
    waker = Waker(find=sleeping.find, wake=sleeping.wake, timeout=5)
    route = keeper.table.routes[HOST]
    reloading = asyncio.create_task(keeper.run())
    try:
        held = [asyncio.create_task(waker.hold(keeper, HOST, route)) for _ in range(10)]
        while sleeping.wakes == 0:
            await asyncio.sleep(0.01)
        sleeping.release.set()
        answers = await asyncio.gather(*held)
    finally:
        reloading.cancel()
    assert sleeping.wakes == 1
    assert all(isinstance(a, Route) and a.local == ("127.0.0.1:9",) for a in answers)


async def test_turned_off_answers_503_with_retry_after_and_wakes_nothing() -> None:
    sleeping = Sleeping(wake_on_request=False)
    keeper = keeper_for(sleeping)
    waker = Waker(find=sleeping.find, wake=sleeping.wake, timeout=5)

    answer = await waker.hold(keeper, HOST, keeper.table.routes[HOST])

    assert status_and_code(answer) == (503, "wake_on_request_off")
    assert isinstance(answer, Response) and int(answer.headers["retry-after"]) > 0
    assert sleeping.wakes == 0


async def test_not_a_stopped_preview_answers_as_before() -> None:
    sleeping = Sleeping()
    sleeping.asleep = None  # production, or a preview whose instances crashed
    keeper = keeper_for(sleeping)
    waker = Waker(find=sleeping.find, wake=sleeping.wake, timeout=5)

    answer = await waker.hold(keeper, HOST, keeper.table.routes[HOST])

    assert status_and_code(answer) == (503, "no_healthy_instance")
    assert sleeping.wakes == 0


async def test_a_wake_past_the_hold_is_a_503_with_retry_after() -> None:
    sleeping = Sleeping()  # never released: the wake outlasts the hold
    keeper = keeper_for(sleeping)
    waker = Waker(find=sleeping.find, wake=sleeping.wake, timeout=0.2)

    answer = await waker.hold(keeper, HOST, keeper.table.routes[HOST])

    assert status_and_code(answer) == (503, "wake_timeout")
    assert isinstance(answer, Response) and int(answer.headers["retry-after"]) > 0
    await waker.aclose()


async def test_a_failed_wake_stands_for_a_while_then_the_next_request_tries_again() -> None:
    sleeping = Sleeping(fails=True)
    sleeping.release.set()
    keeper = keeper_for(sleeping)
    waker = Waker(find=sleeping.find, wake=sleeping.wake, timeout=5, failure_stands=30)
    route = keeper.table.routes[HOST]

    failed = await waker.hold(keeper, HOST, route)
    again = await waker.hold(keeper, HOST, route)

    for answer in (failed, again):
        assert status_and_code(answer) == (503, "wake_failed")
        assert isinstance(answer, Response) and b"the image is gone" in answer.body
        assert 25 <= int(answer.headers["retry-after"]) <= 30
    assert sleeping.wakes == 1  # the broken deployment is not started by every request
    sleeping.fails = False
    waker.failure_stands = 0  # the failure no longer stands
    reloading = asyncio.create_task(keeper.run())
    try:
        assert isinstance(await waker.hold(keeper, HOST, route), Route)
    finally:
        reloading.cancel()
    assert sleeping.wakes == 2


async def test_a_flood_to_a_deployment_that_cannot_wake_reads_the_database_once() -> None:
    sleeping = Sleeping()
    sleeping.asleep = None  # production whose instances all died
    reads = 0

    def find(deployment_id: str) -> Asleep | None:
        nonlocal reads
        reads += 1
        return sleeping.find(deployment_id)

    keeper = keeper_for(sleeping)
    waker = Waker(find=find, wake=sleeping.wake, timeout=5)
    route = keeper.table.routes[HOST]

    together = await asyncio.gather(*(waker.hold(keeper, HOST, route) for _ in range(50)))
    after = [await waker.hold(keeper, HOST, route) for _ in range(50)]

    assert {status_and_code(answer) for answer in together + after} == {
        (503, "no_healthy_instance")
    }
    assert reads == 1
