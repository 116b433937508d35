"""The monitoring that ships beside the code: docs/prometheus.yml, the compose file's
`monitoring` profile and docs/grafana/dockyard.json. Compose cannot run here, so each is
parsed and checked against what the processes really serve."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import yaml
from prometheus_client import CollectorRegistry

from activities.metrics import WorkerMetrics
from api.metrics import ApiMetrics
from dockyard.settings import Settings
from sentinel import metered
from sentinel.metrics import EdgeCollector

ROOT = Path(__file__).resolve().parent.parent
SERIES = re.compile(r"\bdockyard_[a-z_]+")
SUFFIXES = ("_bucket", "_count", "_sum", "_total")


def load_yaml(path: Path) -> Any:
    return yaml.safe_load(path.read_text())


def families(registry: CollectorRegistry) -> set[str]:
    return {family.name for family in registry.collect()}


def served_series() -> set[str]:
    """The names every dockyard process exposes (family names, without suffixes)."""
    names = families(WorkerMetrics(None).registry)  # type: ignore[arg-type]
    names |= families(ApiMetrics(lambda: None).registry)
    edge = CollectorRegistry()
    edge.register(EdgeCollector("local", fork_starts=lambda: 1, healthy=lambda: 3))
    names |= families(edge)
    names.add("dockyard_deployments")  # from the API's database, at scrape time
    for metric in (metered.REQUESTS, metered.DURATION, metered.REPLICAS):
        names |= {family.name for family in metric.describe()}
    return names


def family_of(series: str) -> str:
    for suffix in SUFFIXES:
        if series.endswith(suffix):
            return series.removesuffix(suffix)
    return series


def test_the_scrape_config_reaches_every_process_at_its_default_port() -> None:
    config = load_yaml(ROOT / "docs" / "prometheus.yml")
    targets = {
        job["job_name"]: [t for group in job["static_configs"] for t in group["targets"]]
        for job in config["scrape_configs"]
    }
    defaults = Settings()
    assert targets["dockyard-api"] == [f"127.0.0.1:{defaults.api_port}"]
    assert targets["dockyard-worker"] == [f"127.0.0.1:{defaults.worker_metrics_port}"]
    assert targets["dockyard-sentinel"] == [f"127.0.0.1:{defaults.edge_control_port}"]
    compose = load_yaml(ROOT / "docker-compose.yml")
    sdk_port = compose["x-dockyard"]["environment"]["DOCKYARD_WORKER_SDK_METRICS_PORT"]
    assert targets["dockyard-temporal-sdk"] == [f"127.0.0.1:{sdk_port}"]


def test_the_monitoring_profile_is_optional_and_mounts_files_that_exist() -> None:
    services = load_yaml(ROOT / "docker-compose.yml")["services"]
    monitoring = {name for name, s in services.items() if "monitoring" in s.get("profiles", [])}
    assert monitoring == {"prometheus", "grafana"}
    assert all("profiles" not in s for name, s in services.items() if name not in monitoring)
    for name in monitoring:
        service = services[name]
        assert service["network_mode"] == "host"  # the /metrics endpoints are on loopback
        for volume in service["volumes"]:
            source = volume.split(":")[0]
            if source.startswith("./"):
                assert (ROOT / source).exists(), f"{name} mounts {source}, which is missing"
    assert "--web.listen-address=127.0.0.1:9090" in services["prometheus"]["command"]
    assert services["grafana"]["environment"]["GF_SERVER_HTTP_ADDR"] == "127.0.0.1"
    provisioning = ROOT / "deploy" / "grafana" / "provisioning"
    [source] = load_yaml(provisioning / "datasources" / "prometheus.yml")["datasources"]
    assert source["url"] == "http://127.0.0.1:9090"
    [provider] = load_yaml(provisioning / "dashboards" / "dockyard.yml")["providers"]
    mounted = [v for v in services["grafana"]["volumes"] if v.startswith("./docs/grafana:")]
    assert mounted == [f"./docs/grafana:{provider['options']['path']}:ro"]


def test_the_dashboard_asks_only_for_series_dockyard_serves() -> None:
    dashboard = json.loads((ROOT / "docs" / "grafana" / "dockyard.json").read_text())
    panels = [p for p in dashboard["panels"] if p["type"] != "row"]
    assert len({p["id"] for p in dashboard["panels"]}) == len(dashboard["panels"])
    asked = {
        family_of(series)
        for panel in panels
        for target in panel["targets"]
        for series in SERIES.findall(target["expr"])
    }
    served = served_series()
    assert asked <= served, f"the dashboard asks for series nobody serves: {asked - served}"
    assert len(asked) >= 8
