"""`python -m sentinel`: run the region edge with the settings of this process's environment."""

from __future__ import annotations

from sentinel.edge import main

main()
