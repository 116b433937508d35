from __future__ import annotations

import random

from sentinel.balancer import Balancer
from sentinel.routing import Route


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def route(local: tuple[str, ...], remote: tuple[str, ...] = ()) -> Route:
    return Route("shop.localhost", "d_1", "env_1", local=local, remote=remote)


def test_own_region_first_then_other_regions() -> None:
    balancer = Balancer(rng=random.Random(1))
    order = balancer.attempt_order(route(("eu-1", "eu-2"), ("us-1", "us-2")))
    assert set(order[:2]) == {"eu-1", "eu-2"}
    assert set(order[2:]) == {"us-1", "us-2"}


def test_choice_is_random_across_local_instances() -> None:
    balancer = Balancer(rng=random.Random(7))
    firsts = {balancer.attempt_order(route(("a", "b", "c")))[0] for _ in range(200)}
    assert firsts == {"a", "b", "c"}


def test_ejected_instance_goes_last_until_its_time_is_up() -> None:
    clock = Clock()
    balancer = Balancer(eject_seconds=5, clock=clock, rng=random.Random(3))
    balancer.eject("eu-1")
    for _ in range(20):
        assert balancer.attempt_order(route(("eu-1", "eu-2"), ("us-1",))) == [
            "eu-2",
            "us-1",
            "eu-1",
        ]
    clock.now += 5.1
    assert not balancer.is_ejected("eu-1")
    assert set(balancer.attempt_order(route(("eu-1", "eu-2")))) == {"eu-1", "eu-2"}


def test_all_ejected_are_still_tried_rather_than_failing_outright() -> None:
    balancer = Balancer(eject_seconds=5, clock=Clock())
    balancer.eject("a")
    balancer.eject("b")
    assert sorted(balancer.attempt_order(route(("a", "b")))) == ["a", "b"]


def test_an_instance_that_answers_is_taken_back_at_once() -> None:
    balancer = Balancer(eject_seconds=5, clock=Clock())
    balancer.eject("a")
    balancer.restore("a")
    assert not balancer.is_ejected("a")
