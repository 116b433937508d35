"""`python -m api`: serve the API on DOCKYARD_BIND_HOST:DOCKYARD_API_PORT."""

from __future__ import annotations

from api.main import create_app
from api.server import serve
from dockyard.settings import load_settings


def main() -> None:
    settings = load_settings()
    serve(create_app(settings), host=settings.bind_host, port=settings.api_port)


if __name__ == "__main__":
    main()
