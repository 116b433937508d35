"""The `dockyard` command line, and `dockyard dev`, the whole stack on one machine.

main     the Typer app and the commands that read or change resources
deploy   `dockyard deploy`: create a deployment and follow it
options  the options every command shares, and how a command fails
client   the API client, and where the CLI finds the running stack
watch    following a deployment: its phases, domains and build log
dev      `dockyard dev` and `dockyard down`
stack    the child processes of `dockyard dev`, their output and logs
demo     the demo app that `dockyard dev --demo` deploys
"""

from dockyard.cli.main import main

__all__ = ["main"]
