"""Which instance to try, in which order, and passive ejection of instances that fail.

Choice is random with no affinity: instances of one deployment are interchangeable, and
random choice needs no shared state between edges. The edge's own region comes first;
other regions are a fallback only when no local instance is left to try.

An instance that refused a connection is ejected for a few seconds: requests stop paying
for a connect attempt that will fail. Ejection is a hint, not a verdict: when every
instance of a route is ejected they are all tried anyway (a "panic" order, as load
balancers call it), since a stale ejection must never turn a recovering app into a 502.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable

from sentinel.routing import Route

DEFAULT_EJECT_SECONDS = 5.0


class Balancer:
    def __init__(
        self,
        *,
        eject_seconds: float = DEFAULT_EJECT_SECONDS,
        clock: Callable[[], float] = time.monotonic,
        rng: random.Random | None = None,
    ) -> None:
        if eject_seconds < 0:
            raise ValueError("eject_seconds must not be negative")
        self._eject_seconds = eject_seconds
        self._clock = clock
        self._rng = rng or random.Random()  # noqa: S311 - load spreading, not security
        # address -> clock() until which it is skipped; keyed by address, not by route, so
        # a route table reload does not forget which instances just failed.
        self._ejected: dict[str, float] = {}

    def attempt_order(self, route: Route) -> list[str]:
        """Addresses to try for one request, best first; empty when there are none."""
        if not self._ejected:
            # The common case: nothing failing. One instance needs no shuffle at all.
            return self._shuffled(route.local) + self._shuffled(route.remote)
        now = self._clock()
        local, local_out = self._split(route.local, now)
        remote, remote_out = self._split(route.remote, now)
        return (
            self._shuffled(local)
            + self._shuffled(remote)
            + self._shuffled(local_out)
            + self._shuffled(remote_out)
        )

    def eject(self, address: str) -> None:
        now = self._clock()
        # Forget expired ejections of instances no request asked for since (they may be
        # gone from every route), so the fast path in attempt_order comes back.
        self._ejected = {a: until for a, until in self._ejected.items() if until > now}
        self._ejected[address] = now + self._eject_seconds

    def restore(self, address: str) -> None:
        """An ejected instance answered after all: take it back at once."""
        self._ejected.pop(address, None)

    def is_ejected(self, address: str) -> bool:
        until = self._ejected.get(address)
        return until is not None and until > self._clock()

    def _split(self, addresses: tuple[str, ...], now: float) -> tuple[list[str], list[str]]:
        live: list[str] = []
        out: list[str] = []
        for address in addresses:
            until = self._ejected.get(address)
            if until is None:
                live.append(address)
            elif until > now:
                out.append(address)
            else:
                del self._ejected[address]  # expired: forget it, so the fast path returns
                live.append(address)
        return live, out

    def _shuffled(self, addresses: tuple[str, ...] | list[str]) -> list[str]:
        if len(addresses) < 2:
            return list(addresses)
        return self._rng.sample(addresses, len(addresses))
