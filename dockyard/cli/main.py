"""The `dockyard` command line."""

from __future__ import annotations

from typing import Annotated

import typer

from dockyard.cli import deployment_rows, environment_settings, lifecycle, repos
from dockyard.cli.client import ApiError, edge_port_of
from dockyard.cli.deploy import deploy
from dockyard.cli.domains import domains
from dockyard.cli.keys import keys, keyspaces
from dockyard.cli.listing import AppFilter, EnvFilter, echo_table, filters
from dockyard.cli.options import (
    ApiUrl,
    AppOption,
    EdgePort,
    Project,
    RootKey,
    call,
    client,
    fail,
    require_project,
    wait_until_current,
)
from dockyard.cli.policies import policies
from dockyard.cli.runtime_logs import show_runtime_log
from dockyard.cli.scope import environment_command
from dockyard.cli.variables import variables
from dockyard.cli.watch import build_log, domain_urls, follow_build_log, step_lines

app = typer.Typer(no_args_is_help=True, add_completion=False, help=__doc__)
projects = typer.Typer(no_args_is_help=True, help="Projects: the top of the resource tree.")
apps = typer.Typer(no_args_is_help=True, help="Apps of a project.")
environments = typer.Typer(no_args_is_help=True, help="Environments of an app.")
deployments = typer.Typer(no_args_is_help=True, help="Deployments.")
root_keys = typer.Typer(no_args_is_help=True, help="Root keys that authenticate the API.")
app.add_typer(projects, name="projects")
app.add_typer(apps, name="apps")
app.add_typer(environments, name="envs")
app.add_typer(deployments, name="deployments")
app.add_typer(root_keys, name="root-keys")
app.add_typer(variables, name="vars")
app.add_typer(domains, name="domains")
app.add_typer(keyspaces, name="keyspaces")
app.add_typer(keys, name="keys")
app.add_typer(policies, name="policies")
app.command()(deploy)
apps.command("connect")(repos.connect)
apps.command("disconnect")(repos.disconnect)
environment_command(environments, "settings")(environment_settings.settings)


@app.command()
def rollback(
    deployment_id: Annotated[str, typer.Argument(help="The earlier deployment to go back to.")],
    api_url: ApiUrl = "",
    root_key: RootKey = "",
) -> None:
    """Send live traffic back to an earlier production deployment (instant while it is warm)."""
    call(api_url, root_key, "deployments.rollbackDeployment", {"deploymentId": deployment_id})
    typer.echo(
        f"live traffic now goes to {deployment_id}; new deployments will not take it "
        "until you promote one"
    )


@app.command()
def promote(
    deployment_id: Annotated[str, typer.Argument(help="The deployment to make live.")],
    api_url: ApiUrl = "",
    root_key: RootKey = "",
) -> None:
    """Make a ready or stopped deployment live again (a stopped one is started first)."""
    call(api_url, root_key, "deployments.promoteDeployment", {"deploymentId": deployment_id})
    wait_until_current(api_url, root_key, deployment_id)
    typer.echo(f"{deployment_id} is live")


app.command()(lifecycle.stop)
app.command()(lifecycle.start)


@app.command()
def logs(
    deployment_id: Annotated[str, typer.Argument(help="The deployment whose logs to show.")],
    follow: Annotated[
        bool, typer.Option("--follow", "-f", help="Print lines as they are written.")
    ] = False,
    runtime: Annotated[
        bool, typer.Option("--runtime", help="What the app printed while it ran, not its build.")
    ] = False,
    since: Annotated[
        str, typer.Option(help="With --runtime: from this long ago (30s, 10m, 2h, 7d) or time.")
    ] = "",
    region: Annotated[str, typer.Option(help="With --runtime: only this region's instances.")] = "",
    api_url: ApiUrl = "",
    root_key: RootKey = "",
) -> None:
    """Print a deployment's build log; with --follow, live until the build is over. With
    --runtime, what its instances printed and how they exited; --follow until it stops."""
    if runtime:
        show_runtime_log(
            api_url, root_key, deployment_id, follow=follow, since=since, region=region
        )
        return
    if since or region:
        fail("--since and --region choose runtime log lines: add --runtime")
    with client(api_url, root_key) as api:
        try:
            if follow:
                status = follow_build_log(api, deployment_id, say=typer.echo)
                if status == "failed":
                    fail(f"deployment {deployment_id} failed")
                typer.secho(f"build over: deployment {deployment_id} is {status}", err=True)
                return
            for message in build_log(api, deployment_id):
                typer.echo(message)
        except ApiError as error:
            fail(error.message)


@app.command()
def dev(
    demo: Annotated[bool, typer.Option(help="Deploy the demo app once everything is up.")] = False,
) -> None:
    """Run the whole stack in the foreground: Temporal with its Web UI, API, worker, edge."""
    from dockyard.cli.dev import run_dev
    from dockyard.settings import load_settings

    raise typer.Exit(code=run_dev(load_settings(), demo=demo))


@app.command()
def down() -> None:
    """Stop the `dockyard dev` of DOCKYARD_HOME: its processes, app containers and networks."""
    from dockyard.cli.dev import stop_dev
    from dockyard.settings import load_settings

    raise typer.Exit(code=stop_dev(load_settings()))


@projects.command("create")
def create_project(
    slug: str,
    name: Annotated[str | None, typer.Option(help="Display name; the slug by default.")] = None,
    api_url: ApiUrl = "",
    root_key: RootKey = "",
) -> None:
    """Create a project; prints its id."""
    data = call(api_url, root_key, "projects.createProject", {"slug": slug, "name": name or slug})
    typer.echo(data["id"])


@projects.command("list")
def list_projects(api_url: ApiUrl = "", root_key: RootKey = "") -> None:
    """List the workspace's projects: id and slug."""
    for project in call(api_url, root_key, "projects.listProjects", {}):
        typer.echo(f"{project['id']}  {project['slug']}")


@apps.command("create")
def create_app(
    slug: str, project: Project = "", api_url: ApiUrl = "", root_key: RootKey = ""
) -> None:
    """Create an app in a project; prints its id."""
    body = {"project": require_project(project), "slug": slug, "name": slug}
    typer.echo(call(api_url, root_key, "apps.createApp", body)["appId"])


@apps.command("list")
def list_apps(project: Project = "", api_url: ApiUrl = "", root_key: RootKey = "") -> None:
    """List a project's apps: id and slug."""
    for item in call(api_url, root_key, "apps.listApps", {"project": require_project(project)}):
        typer.echo(f"{item['id']}  {item['slug']}")


@environments.command("create")
def create_environment(
    slug: str,
    project: Project = "",
    app_slug: AppOption = "default",
    kind: Annotated[str, typer.Option(help="production or preview.")] = "preview",
    api_url: ApiUrl = "",
    root_key: RootKey = "",
) -> None:
    """Create an environment of an app (a preview by default); prints its id."""
    body = {"project": require_project(project), "app": app_slug, "slug": slug, "kind": kind}
    typer.echo(call(api_url, root_key, "environments.createEnvironment", body)["id"])


@environments.command("list")
def list_environments(
    project: Project = "",
    app_slug: AppOption = "default",
    api_url: ApiUrl = "",
    root_key: RootKey = "",
) -> None:
    """List an app's environments: id, slug and kind."""
    body = {"project": require_project(project), "app": app_slug}
    for item in call(api_url, root_key, "environments.listEnvironments", body):
        typer.echo(f"{item['id']}  {item['slug']}  {item['kind']}")


@deployments.command("list")
def list_deployments(
    project: Project = "",
    app_slug: AppFilter = None,
    env: EnvFilter = None,
    api_url: ApiUrl = "",
    root_key: RootKey = "",
) -> None:
    """List deployments, newest first, with their source and age.

    TRAFFIC marks production's live deployment; after a rollback, the one rolled back to
    and the newer ones rolled back from (`dockyard promote` makes one of them live again).
    """
    found = call(api_url, root_key, "deployments.listDeployments", filters(project, app_slug, env))
    echo_table(deployment_rows.HEADERS, deployment_rows.rows(found), empty="no deployments")


@deployments.command("get")
def get_deployment(
    deployment_id: str,
    api_url: ApiUrl = "",
    root_key: RootKey = "",
    edge_port: EdgePort = None,
) -> None:
    """Show a deployment: its status, each step, its error and its domains."""
    item = call(api_url, root_key, "deployments.getDeployment", {"deploymentId": deployment_id})
    typer.echo(f"{item['id']}  {item['status']}")
    for line in step_lines(item):
        typer.echo(line)
    if item.get("error"):
        typer.echo(f"  error: {item['error']['message']}")
    for url in domain_urls(item, edge_port_of(edge_port)):
        typer.echo(f"  {url}")


@root_keys.command("create")
def create_root_key(
    name: Annotated[str, typer.Option(help="What the key is for.")] = "cli",
    permission: Annotated[
        list[str] | None,
        typer.Option(
            "--permission",
            help="A permission to grant, e.g. project.*.read_project; repeat it for more. "
            "Default: * (everything). Through the API, only permissions your key holds.",
        ),
    ] = None,
    local: Annotated[
        bool,
        typer.Option(
            "--local",
            help="Write the key straight into this machine's dockyard database, with no API "
            "and no root key: only for the very first key.",
        ),
    ] = False,
    api_url: ApiUrl = "",
    root_key: RootKey = "",
) -> None:
    """Create a root key; it is printed only now.

    With a root key (DOCKYARD_ROOT_KEY or --root-key) this is the API's rootKeys.createKey,
    so the new key never has a permission the given one lacks. The very first key has no
    key to create it with: `dockyard root-keys create --local` writes it into the database
    that DOCKYARD_DATABASE_URL names, as `dockyard dev` does at its first start.
    """
    permissions = permission or ["*"]
    if not local:
        body = {"name": name, "permissions": permissions}
        typer.echo(call(api_url, root_key, "rootKeys.createKey", body)["key"])
        return
    from dockyard.bootstrap import bootstrap
    from dockyard.bootstrap import create_root_key as store_root_key
    from dockyard.settings import load_settings

    booted = bootstrap(load_settings())
    with booted.sessions.begin() as session:
        _, plaintext = store_root_key(
            session, workspace_id=booted.workspace.id, name=name, permissions=permissions
        )
    typer.echo(plaintext)


def main() -> None:
    app()
