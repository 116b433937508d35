"""Every `dockyard` command says what it does in --help, and the top level lists every group."""

from __future__ import annotations

from typing import Any

import typer
from typer.testing import CliRunner

from dockyard.cli.main import app

GROUPS = ("vars", "domains", "keyspaces", "keys", "policies", "deployments", "apps")
COMMANDS = ("stop", "start", "deploy", "rollback", "promote")
SUBCOMMANDS = (
    "dockyard vars set",
    "dockyard vars list",
    "dockyard vars unset",
    "dockyard domains add",
    "dockyard domains list",
    "dockyard domains verify",
    "dockyard domains remove",
    "dockyard keyspaces create",
    "dockyard keyspaces list",
    "dockyard keys create",
    "dockyard keys list",
    "dockyard keys revoke",
    "dockyard keys reroll",
    "dockyard keys verify",
    "dockyard policies list",
    "dockyard policies set",
    "dockyard apps connect",
    "dockyard apps disconnect",
    "dockyard envs settings",
)


def commands(group: Any, prefix: str = "dockyard") -> list[tuple[str, Any]]:
    """Every command under a group, subcommands of its groups included."""
    found: list[tuple[str, Any]] = []
    for name, command in group.commands.items():
        found.append((f"{prefix} {name}", command))
        if hasattr(command, "commands"):
            found += commands(command, f"{prefix} {name}")
    return found


def test_every_command_has_help_text() -> None:
    listed = dict(commands(typer.main.get_command(app)))

    assert "dockyard down" in listed
    assert [name for name in SUBCOMMANDS if name not in listed] == []
    assert [name for name, command in listed.items() if not (command.help or "").strip()] == []


def test_top_level_help_lists_every_group_and_stop_start() -> None:
    result = CliRunner().invoke(app, ["--help"], terminal_width=200)

    assert result.exit_code == 0, result.output
    listed = {line.strip(" │").split(" ")[0] for line in result.output.splitlines()}
    assert [name for name in GROUPS + COMMANDS if name not in listed] == []


def test_every_group_help_lists_its_subcommands() -> None:
    runner = CliRunner()
    for name, command in commands(typer.main.get_command(app)):
        if not hasattr(command, "commands"):
            continue
        result = runner.invoke(app, [*name.split()[1:], "--help"], terminal_width=200)
        assert result.exit_code == 0, (name, result.output)
        assert all(sub in result.output for sub in command.commands), (name, result.output)
