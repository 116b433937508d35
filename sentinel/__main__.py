"""`python -m sentinel`: run the edge with the settings of this process's environment."""

from __future__ import annotations

from sentinel.server import main

main()
