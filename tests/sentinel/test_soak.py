"""The edge and its replicas hold their memory and descriptors under steady load: a short
`python -m bench.soak`, so a leak on the hot path fails CI rather than a long-lived edge."""

from __future__ import annotations

from bench.soak import soak


def test_edge_and_replicas_keep_descriptors_and_bounded_memory_under_load(
    redis_url: str,
) -> None:
    # bench.loadgen, not wrk: the suite's machines need nothing beyond its services.
    soaked = soak(30, warmup=8, rate=300, redis_url=redis_url)
    print(soaked.table())
    assert soaked.load.requests > 5000  # the load really ran (300/s for 30 s)
    assert not soaked.problems(), soaked.table()
