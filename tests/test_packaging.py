"""The files that install, run and ship dockyard agree with each other and with Settings.

No Docker image is built and no compose stack is started here (scripts/build-image does
the first; no registry is reachable for the second): these checks catch the drift that
breaks them, such as a renamed setting or a script that no longer parses.
"""

from __future__ import annotations

import os
import re
import subprocess
import tomllib
from pathlib import Path

import pytest
import yaml
from setuptools import find_namespace_packages

from dockyard.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
SCRIPTS = ["scripts/setup", "scripts/test", "scripts/dev", "scripts/lint", "scripts/build-image"]
SHELL_FILES = [*SCRIPTS, ".ci/run"]
POSIX_SH_FILES = [
    "deploy/docker-entrypoint.sh",
    "deploy/temporal/setup-schema.sh",
    "deploy/temporal/create-namespace.sh",
]
DOCKYARD_SERVICES = ("api", "worker", "edge")
VARIABLE = re.compile(r"\$\{([A-Z0-9_]+)(?::?[-?][^}]*)?\}")


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


@pytest.mark.parametrize("path", SHELL_FILES)
def test_shell_scripts_parse(path: str) -> None:
    subprocess.run(["bash", "-n", str(ROOT / path)], check=True)


@pytest.mark.parametrize("path", [*SCRIPTS, *POSIX_SH_FILES])
def test_scripts_are_executable(path: str) -> None:
    assert os.access(ROOT / path, os.X_OK), f"chmod +x {path}"


@pytest.mark.parametrize("path", POSIX_SH_FILES)
def test_container_scripts_are_posix_sh(path: str) -> None:
    # They run in images that may have no bash (alpine-based Temporal images).
    assert (ROOT / path).read_text().startswith("#!/bin/sh\n")
    subprocess.run(["sh", "-n", str(ROOT / path)], check=True)


def test_compose_has_the_whole_stack(compose: dict) -> None:
    services = compose["services"]
    for name in ("postgres", "redis", "temporal", "temporal-ui", *DOCKYARD_SERVICES):
        assert name in services, name
    assert any(
        port.endswith(":8080") and "8233" in port for port in services["temporal-ui"]["ports"]
    )


def test_compose_dockyard_services_run_one_image_in_production_mode(compose: dict) -> None:
    services = compose["services"]
    images = {services[name]["image"] for name in DOCKYARD_SERVICES}
    assert len(images) == 1
    for name in DOCKYARD_SERVICES:
        service = services[name]
        assert service["command"] == [name]
        assert service["environment"]["DOCKYARD_MODE"] == "production"
        assert ":?" in service["environment"]["DOCKYARD_SECRET_KEY"], "the secret must be required"
        # Instances publish on the host's loopback: only the host network reaches them.
        assert service["network_mode"] == "host"
    assert "/var/run/docker.sock:/var/run/docker.sock" in services["worker"]["volumes"]


def test_compose_sets_only_real_settings(compose: dict) -> None:
    known = {f"DOCKYARD_{name.upper()}" for name in Settings.model_fields}
    for name in DOCKYARD_SERVICES:
        unknown = set(compose["services"][name]["environment"]) - known
        assert not unknown, f"{name} sets variables Settings does not read: {sorted(unknown)}"


def test_every_compose_variable_is_documented_in_env_example() -> None:
    used = set(VARIABLE.findall((ROOT / "docker-compose.yml").read_text()))
    documented = {
        line.split("=", 1)[0]
        for line in (ROOT / "deploy/env.example").read_text().splitlines()
        if line and not line.startswith("#")
    }
    assert used - {"DOCKYARD_IMAGE"} <= documented, sorted(used - documented)


def test_dockerfile_takes_its_base_as_an_argument_and_drops_root() -> None:
    lines = [
        line
        for line in (ROOT / "Dockerfile").read_text().splitlines()
        if line and not line.startswith("#")
    ]
    assert lines[0] == "ARG BASE_IMAGE=python:3.12-slim"
    users = [line.split()[1] for line in lines if line.startswith("USER ")]
    assert users and users[-1].split(":")[0] not in ("root", "0")


def test_dockerignore_keeps_what_the_image_installs() -> None:
    ignored = {
        line.strip()
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    }
    needed = {"pyproject.toml", "README.md", "deploy", "wheels", "worker.py"}
    needed |= {"dockyard", "api", "dashboard", "workflows", "activities", "sentinel"}
    assert not ignored & needed


def test_the_package_ships_every_layer_and_the_dashboards_files() -> None:
    setuptools = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    # As pyproject's packages.find finds them (namespace packages included).
    found = set(
        find_namespace_packages(str(ROOT), include=setuptools["packages"]["find"]["include"])
    )
    assert {"dockyard", "api", "dashboard", "workflows", "activities", "sentinel"} <= found
    shipped: set[Path] = set()
    for package, patterns in setuptools["package-data"].items():
        for pattern in patterns:
            matched = set((ROOT / package.replace(".", "/")).glob(pattern))
            assert matched, f"package-data {package}: {pattern!r} matches no file"
            shipped |= matched
    assert set((ROOT / "dashboard" / "static").iterdir()) <= shipped


def test_compose_publishes_only_the_edge_and_serves_the_api_through_it(compose: dict) -> None:
    shared = compose["x-dockyard"]["environment"]
    assert shared["DOCKYARD_BIND_HOST"] == "127.0.0.1"  # API and replicas: loopback only
    assert shared["DOCKYARD_EDGE_BIND_HOST"].endswith("0.0.0.0}")
    assert shared["DOCKYARD_EDGE_PORT"].endswith(":-80}")
    assert shared["DOCKYARD_EDGE_HTTPS_PORT"].endswith(":-443}")
    assert shared["DOCKYARD_TLS"].endswith(":-acme}")
    assert ":?" in shared["DOCKYARD_API_DOMAIN"], "the API is reached by its hostname"
    published = {
        name: service.get("ports", [])
        for name, service in compose["services"].items()
        if service.get("network_mode") != "host"
    }
    for name, ports in published.items():
        assert all(port.startswith("127.0.0.1:") for port in ports), (name, ports)
