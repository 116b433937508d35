"""Scraping a /metrics endpoint in tests: samples by name and labels, and waiting on them."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping

import httpx
from prometheus_client.parser import text_string_to_metric_families

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


async def scrape(url: str, headers: Mapping[str, str] | None = None) -> Samples:
    async with httpx.AsyncClient(timeout=10) as client:
        response = await client.get(url, headers=dict(headers or {}))
    assert response.status_code == 200, response.text
    return parse(response.text)


def parse(text: str) -> Samples:
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    """A sample's value, 0 when it is not there yet (a counter that never moved)."""
    return samples.get((name, frozenset(labels.items())), 0.0)


def total(samples: Samples, name: str, **labels: str) -> float:
    """The sum over every sample of `name` whose labels include these."""
    wanted = set(labels.items())
    return sum(v for (n, have), v in samples.items() if n == name and wanted <= have)


async def until(url: str, done: Callable[[Samples], bool], *, timeout: float = 20.0) -> Samples:
    """Scrape until `done` holds (replicas write their counts once a second)."""
    deadline = time.monotonic() + timeout
    while True:
        samples = await scrape(url)
        if done(samples):
            return samples
        if time.monotonic() > deadline:
            raise AssertionError(f"{url} never reached the expected values")
        await asyncio.sleep(0.1)
