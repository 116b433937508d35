"""Every `dockyard` command says what it does in --help."""

from __future__ import annotations

from typing import Any

import typer

from dockyard.cli.main import app


def commands(group: Any, prefix: str = "dockyard") -> list[tuple[str, Any]]:
    """Every command under a group, subcommands of its groups included."""
    found: list[tuple[str, Any]] = []
    for name, command in group.commands.items():
        found.append((f"{prefix} {name}", command))
        if hasattr(command, "commands"):
            found += commands(command, f"{prefix} {name}")
    return found


def test_every_command_has_help_text() -> None:
    listed = commands(typer.main.get_command(app))

    assert "dockyard down" in dict(listed)
    assert [name for name, command in listed if not (command.help or "").strip()] == []
