"""The `dockyard` command line, and `dockyard dev`, the whole stack on one machine.

main             the Typer app and the commands that read or change resources
deploy           `dockyard deploy`: create a deployment and follow it
lifecycle        `dockyard stop` and `dockyard start`: a preview deployment off and on
deployment_rows  how `dockyard deployments list` shows each deployment
variables        `dockyard vars`: an environment's variables, secret or not
domains          `dockyard domains`: custom domains and the DNS records they wait for
keys             `dockyard keyspaces` and `dockyard keys`: the API keys Sentinel checks
policies         `dockyard policies`: an environment's Sentinel policies, from a JSON file
repos            `dockyard apps connect`: the repository whose pushes deploy an app
options          the options every command shares, and how a command fails
scope            commands that act on one environment: --project, --app and --env
listing          how lists are shown: aligned columns, ages, every page
client           the API client, and where the CLI finds the running stack
watch            following a deployment: its phases, domains and build log
dev              `dockyard dev` and `dockyard down`
stack            the child processes of `dockyard dev`, their output and logs
demo             the demo app that `dockyard dev --demo` deploys
"""

from dockyard.cli.main import main

__all__ = ["main"]
