from __future__ import annotations

import asyncio

from sentinel.route_keeper import RouteKeeper
from sentinel.routing import RouteTable


def table(*hosts: str) -> RouteTable:
    return RouteTable.build(
        region="local", domains={h: ("d_1", "env_1") for h in hosts}, instances={}
    )


class Database:
    """A stand-in for the route query that can be taken down."""

    def __init__(self) -> None:
        self.hosts = ["a.localhost"]
        self.down = False
        self.reads = 0

    def load(self) -> RouteTable:
        self.reads += 1
        if self.down:
            raise ConnectionError("database unavailable")
        return table(*self.hosts)


async def test_last_table_keeps_serving_while_the_database_is_down() -> None:
    database = Database()
    keeper = RouteKeeper(database.load)
    assert await keeper.reload()
    database.down = True

    assert not await keeper.reload()

    assert keeper.table.lookup("a.localhost") is not None
    database.down = False
    database.hosts = ["b.localhost"]
    assert await keeper.reload()
    assert keeper.table.lookup("a.localhost") is None
    assert keeper.table.lookup("b.localhost") is not None


async def test_polls_without_any_change_notice() -> None:
    database = Database()
    keeper = RouteKeeper(database.load, poll_interval=0.05)
    task = asyncio.create_task(keeper.run())
    try:
        database.hosts = ["polled.localhost"]
        for _ in range(100):
            if keeper.table.lookup("polled.localhost"):
                break
            await asyncio.sleep(0.01)
        assert keeper.table.lookup("polled.localhost") is not None
    finally:
        task.cancel()


async def test_a_burst_of_notices_causes_few_reloads_not_one_each() -> None:
    database = Database()
    keeper = RouteKeeper(database.load, poll_interval=60)
    task = asyncio.create_task(keeper.run())
    try:
        for _ in range(50):
            keeper.changed()
        await asyncio.sleep(0.2)
        assert 1 <= database.reads <= 2
    finally:
        task.cancel()


async def test_reload_runs_off_the_event_loop() -> None:
    def slow_load() -> RouteTable:
        import time

        time.sleep(0.3)
        return table("slow.localhost")

    keeper = RouteKeeper(slow_load)
    reload = asyncio.create_task(keeper.reload())
    started = asyncio.get_running_loop().time()
    await asyncio.sleep(0.01)  # returns at once only if the loop is not blocked
    assert asyncio.get_running_loop().time() - started < 0.2
    assert await reload
