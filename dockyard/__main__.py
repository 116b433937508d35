from __future__ import annotations

from dockyard.cli import main

main()
