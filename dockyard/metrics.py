"""Serving a Prometheus registry on loopback, for the processes with no HTTP app of their
own to add /metrics to (the worker), and the Temporal SDK's own exporter."""

from __future__ import annotations

import logging
from typing import Any

from prometheus_client import CollectorRegistry, start_http_server
from temporalio.runtime import PrometheusConfig, Runtime, TelemetryConfig

log = logging.getLogger(__name__)

LOOPBACK = "127.0.0.1"


def serve_metrics(registry: CollectorRegistry, port: int) -> Any:
    """GET /metrics on 127.0.0.1:port from a thread; the server (call shutdown() to stop),
    or None when port is 0 or taken: metrics are not worth refusing to start over."""
    if not port:
        return None
    try:
        server, _ = start_http_server(port, addr=LOOPBACK, registry=registry)
    except OSError as error:
        log.warning("metrics not served on %s:%d: %s", LOOPBACK, port, error)
        return None
    return server


def sdk_runtime(port: int) -> Runtime | None:
    """A Temporal runtime whose Rust core serves its own metrics on 127.0.0.1:port (task
    slots, polls, schedule-to-start latencies), or None for the default runtime."""
    if not port:
        return None
    address = f"{LOOPBACK}:{port}"
    try:
        return Runtime(telemetry=TelemetryConfig(metrics=PrometheusConfig(bind_address=address)))
    except Exception as error:  # the core reports a taken port as a plain exception
        log.warning("Temporal SDK metrics not served on %s: %s", address, error)
        return None
