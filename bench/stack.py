"""The dockyard a benchmark starts for itself."""

from __future__ import annotations

import secrets
import shutil
import sys
from pathlib import Path
from typing import Any

from dockyard.cli.dev import free_port, private_edge_ports
from dockyard.settings import Settings


def own_settings(home: Path, label: str, **extra: Any) -> Settings:
    """Settings for a dockyard of the benchmark's own: its home, free ports, a fresh root
    key and task queues no other dockyard on the machine polls (`<label>-<random>`)."""
    return Settings(
        home=home,
        root_key=f"dy_bench_{secrets.token_urlsafe(16)}",
        api_port=free_port(),
        **private_edge_ports(),
        temporal_port=free_port(),
        temporal_ui_port=free_port(),
        task_queue_prefix=f"{label}-{secrets.token_hex(3)}",
        **extra,
    )


def require_tools(*tools: str) -> None:
    """Exit with the install command when a tool the benchmark runs is missing."""
    for tool in tools:
        if not shutil.which(tool) and not Path(f"/usr/sbin/{tool}").exists():
            sys.exit(f"{tool} is missing: apt-get install -y {tool}")
