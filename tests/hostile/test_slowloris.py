"""Slowloris: clients that send a request's headers (or, to the API, its body) one byte a
second, never finishing. The API and the edge cut each of them off after their timeout and
serve everyone else meanwhile."""

from __future__ import annotations

import threading
import time

import httpx
import pytest

from tests.e2e.conftest import Dockyard
from tests.hostile.conftest import LIVE
from tests.hostile.raw import Drip, slow_body, slowloris

pytestmark = pytest.mark.integration

# Both servers allow 30 s for a request's head (api.server.HEAD_TIMEOUT, granian's own),
# the API 30 s for a body (api.body_limit.BODY_SECONDS).
CUT_OFF_WITHIN = 40.0
DRIPS_PER_SERVER = 4


def test_slow_headers_are_cut_off_while_other_clients_are_served(yard: Dockyard) -> None:
    targets = {
        "api": (yard.settings.api_port, "api"),
        "api body": (yard.settings.api_port, "api"),
        "edge": (yard.settings.edge_port, LIVE),
    }
    drips: dict[str, list[Drip]] = {name: [] for name in targets}

    def drip(name: str) -> None:
        port, host = targets[name]
        if name == "api body":
            path = "/v2/projects.createProject"
            drips[name].append(slow_body(port, host, path, limit=CUT_OFF_WITHIN + 10))
        else:
            drips[name].append(slowloris(port, host, limit=CUT_OFF_WITHIN + 10))

    threads = [
        threading.Thread(target=drip, args=(name,), daemon=True)
        for name in targets
        for _ in range(DRIPS_PER_SERVER)
    ]
    for thread in threads:
        thread.start()
    slowest = {"api": 0.0, "edge": 0.0}
    while any(thread.is_alive() for thread in threads):
        started = time.monotonic()
        listed = yard.api("projects.listProjects", {})
        slowest["api"] = max(slowest["api"], time.monotonic() - started)
        assert listed.status_code == 200, listed.text
        started = time.monotonic()
        served = httpx.get(
            f"http://127.0.0.1:{yard.settings.edge_port}/healthz",
            headers={"Host": LIVE},
            timeout=10,
        )
        slowest["edge"] = max(slowest["edge"], time.monotonic() - started)
        assert served.status_code == 200, served.text
        time.sleep(1)
    for name, ended in drips.items():
        assert len(ended) == DRIPS_PER_SERVER
        for one in ended:
            stayed = f"{name} let a slow client stay {one.seconds:.0f} s"
            assert one.seconds < CUT_OFF_WITHIN, stayed
            assert one.answer.status in (None, 408), one.answer
    assert all(drip.answer.status == 408 for drip in drips["api"] + drips["api body"])
    # Generous for a loaded machine; a server held by slow clients would not answer at all.
    assert max(slowest.values()) < 5, f"others waited while slow clients dripped: {slowest}"
