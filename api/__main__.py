"""`python -m api`: serve the API on DOCKYARD_BIND_HOST:DOCKYARD_API_PORT."""

from __future__ import annotations

import uvicorn

from api.main import create_app
from dockyard.settings import load_settings


def main() -> None:
    settings = load_settings()
    uvicorn.run(create_app(settings), host=settings.bind_host, port=settings.api_port)


if __name__ == "__main__":
    main()
