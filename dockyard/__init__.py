"""dockyard: a self-hosted deployment engine and API gateway on Temporal."""

from __future__ import annotations

__version__ = "0.1.0"
