"""`dockyard keyspaces` and `dockyard keys`: the API keys Sentinel's keyauth policy checks.

A keyspace is Unkey's "API": a set of keys a keyauth policy names. A key's secret is
printed once, when it is made (create, reroll); only its hash is stored.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Annotated, Any

import typer

from dockyard.cli.client import ApiError
from dockyard.cli.listing import ago, echo_table, every
from dockyard.cli.options import ApiUrl, RootKey, call, client, fail

KEYSPACES_PATH = "/dashboard/api/keyspaces"  # Unkey's v2 has no operation that lists them
KEYSPACE_ID = re.compile(r"api_\w+")
DURATION = re.compile(r"(\d+)(ms|s|m|h|d)")
RATELIMIT = re.compile(r"([^=]{3,128})=(\d+)/(\w+)")
UNIT_MS = {"ms": 1, "s": 1000, "m": 60_000, "h": 3_600_000, "d": 86_400_000}
NEVER = "never"
BAD_DURATION = "{text!r} is not a duration: a number and a unit, e.g. 500ms, 30s, 15m, 12h, 30d"
BAD_EXPIRY = "--expires {text!r} is neither a duration (30d, 12h) nor a date (2030-01-31)"
BAD_RATELIMIT = (
    "--ratelimit {text!r} is not NAME=LIMIT/DURATION, e.g. requests=100/1m "
    "(a name of 3 to 128 characters)"
)
NO_KEYSPACE = "no keyspace is named {name!r}; `dockyard keyspaces list` shows them"
SAME_NAME = "{count} keyspaces are named {name!r}; pass the id of one (api_...)"
SHOWN_ONCE = "the key's secret (shown only now; keep it):"

KeyspaceOption = Annotated[
    str, typer.Option("--keyspace", "-k", help="The keyspace: its id (api_...) or its name.")
]
KeyIdArgument = Annotated[str, typer.Argument(help="The key's id (key_...).")]
Expires = Annotated[
    str | None,
    typer.Option(
        help="When the key stops working: a duration from now (30d, 12h) or a date "
        "(2030-01-31, UTC)."
    ),
]

keyspaces = typer.Typer(
    no_args_is_help=True,
    help="Keyspaces: sets of API keys that a keyauth policy checks (Unkey's APIs).",
)
keys = typer.Typer(no_args_is_help=True, help="API keys of a keyspace, checked by Sentinel.")


def duration_ms(text: str) -> int:
    match = DURATION.fullmatch(text.strip())
    if not match:
        fail(BAD_DURATION.format(text=text))
    return int(match[1]) * UNIT_MS[match[2]]


def expiry_ms(text: str, now_ms: int | None = None) -> int:
    """Unix ms of a duration from now or of a date (UTC unless it says otherwise)."""
    now = int(datetime.now(UTC).timestamp() * 1000) if now_ms is None else now_ms
    if DURATION.fullmatch(text.strip()):
        return now + duration_ms(text)
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        fail(BAD_EXPIRY.format(text=text))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp() * 1000)


def ratelimit(text: str) -> dict[str, Any]:
    """`requests=100/1m` as Unkey's key rate limit, applied to every verification."""
    match = RATELIMIT.fullmatch(text.strip())
    if not match:
        fail(BAD_RATELIMIT.format(text=text))
    name, limit, duration = match.groups()
    return {"name": name, "limit": int(limit), "duration": duration_ms(duration), "autoApply": True}


def date(unix_ms: int | None) -> str | None:
    if unix_ms is None:
        return None
    return datetime.fromtimestamp(unix_ms / 1000, UTC).strftime("%Y-%m-%d %H:%M UTC")


def all_keyspaces(api_url: str, root_key: str) -> list[dict[str, Any]]:
    with client(api_url, root_key) as api:
        try:
            return list(api.post(KEYSPACES_PATH).get("data") or [])
        except ApiError as error:
            fail(error.message)


def keyspace_id(api_url: str, root_key: str, keyspace: str) -> str:
    """The id of a keyspace given by id or by name."""
    if KEYSPACE_ID.fullmatch(keyspace):
        return keyspace
    named = [item for item in all_keyspaces(api_url, root_key) if item["name"] == keyspace]
    if not named:
        fail(NO_KEYSPACE.format(name=keyspace))
    if len(named) > 1:
        fail(SAME_NAME.format(count=len(named), name=keyspace))
    return str(named[0]["id"])


@keyspaces.command("create")
def create_keyspace(
    name: Annotated[str, typer.Argument(help="What the keys are for (3 to 256 characters).")],
    api_url: ApiUrl = "",
    root_key: RootKey = "",
) -> None:
    """Create a keyspace; prints its id, which a keyauth policy names."""
    typer.echo(call(api_url, root_key, "apis.createApi", {"name": name})["apiId"])


@keyspaces.command("list")
def list_keyspaces(api_url: ApiUrl = "", root_key: RootKey = "") -> None:
    """List the workspace's keyspaces, newest first, with how many keys each holds."""
    rows = [
        (item["id"], item["name"], item["keys"], ago(item.get("createdAt")))
        for item in all_keyspaces(api_url, root_key)
    ]
    echo_table(("id", "name", "keys", "created"), rows, empty="no keyspaces")


@keyspaces.command("delete")
def delete_keyspace(
    keyspace: Annotated[str, typer.Argument(help="The keyspace: its id (api_...) or its name.")],
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
    api_url: ApiUrl = "",
    root_key: RootKey = "",
) -> None:
    """Delete a keyspace and every key in it; gateways refuse those keys within a second."""
    api_id = keyspace_id(api_url, root_key, keyspace)
    if not yes:
        typer.confirm(f"delete {api_id} and every key in it?", abort=True)
    call(api_url, root_key, "apis.deleteApi", {"apiId": api_id})
    typer.echo(f"{api_id} deleted")


@keys.command("create")
def create_key(
    keyspace: KeyspaceOption,
    name: Annotated[str | None, typer.Option(help="What or who the key is for.")] = None,
    prefix: Annotated[str | None, typer.Option(help="Start the secret with PREFIX_.")] = None,
    expires: Expires = None,
    rate: Annotated[
        list[str] | None,
        typer.Option(
            "--ratelimit",
            help="NAME=LIMIT/DURATION, e.g. requests=100/1m: at most LIMIT verifications per "
            "window, on every check of the key. Repeat it for more.",
        ),
    ] = None,
    credits: Annotated[
        int | None, typer.Option(min=0, help="How many uses the key has; unlimited by default.")
    ] = None,
    external_id: Annotated[
        str | None, typer.Option(help="Your id for the key's owner; its keys share limits.")
    ] = None,
    api_url: ApiUrl = "",
    root_key: RootKey = "",
) -> None:
    """Create a key; its secret is printed only now."""
    body: dict[str, Any] = {"apiId": keyspace_id(api_url, root_key, keyspace)}
    settings = (("name", name), ("prefix", prefix), ("externalId", external_id))
    body.update({field: value for field, value in settings if value})
    if expires:
        body["expires"] = expiry_ms(expires)
    if rate:
        body["ratelimits"] = [ratelimit(text) for text in rate]
    if credits is not None:
        body["credits"] = {"remaining": credits}
    created = call(api_url, root_key, "keys.createKey", body)
    typer.echo(f"key {created['keyId']} created in {body['apiId']}")
    typer.echo(SHOWN_ONCE)
    typer.echo(f"  {created['key']}")


@keys.command("list")
def list_keys(keyspace: KeyspaceOption, api_url: ApiUrl = "", root_key: RootKey = "") -> None:
    """List a keyspace's keys, oldest first: never their secrets, only how they start."""
    body = {"apiId": keyspace_id(api_url, root_key, keyspace)}
    rows = [
        (
            item["keyId"],
            f"{item['start']}...",
            item.get("name"),
            "yes" if item["enabled"] else "no",
            date(item.get("expires")) or NEVER,
            ago(item.get("lastUsedAt")) if item.get("lastUsedAt") else NEVER,
            ago(item.get("createdAt")),
        )
        for item in every(api_url, root_key, "apis.listKeys", body)
    ]
    headers = ("id", "starts", "name", "enabled", "expires", "last used", "created")
    echo_table(headers, rows, empty=f"no keys in {body['apiId']}")


@keys.command("update")
def update_key(
    key_id: KeyIdArgument,
    name: Annotated[str | None, typer.Option(help="A new name.")] = None,
    expires: Annotated[
        str | None,
        typer.Option(help=f"A duration from now (30d), a date (2030-01-31), or {NEVER}."),
    ] = None,
    enabled: Annotated[
        bool | None,
        typer.Option("--enable/--disable", help="A disabled key is refused until enabled."),
    ] = None,
    api_url: ApiUrl = "",
    root_key: RootKey = "",
) -> None:
    """Rename, enable, disable or change when a key expires; gateways follow within a second."""
    body: dict[str, Any] = {"keyId": key_id}
    if name is not None:
        body["name"] = name
    if expires is not None:
        body["expires"] = None if expires == NEVER else expiry_ms(expires)
    if enabled is not None:
        body["enabled"] = enabled
    if len(body) == 1:
        fail("nothing to change: pass --name, --expires, --enable or --disable")
    call(api_url, root_key, "keys.updateKey", body)
    typer.echo(f"{key_id} updated")


@keys.command("revoke")
def revoke_key(key_id: KeyIdArgument, api_url: ApiUrl = "", root_key: RootKey = "") -> None:
    """Delete a key: every gateway refuses it within a second."""
    call(api_url, root_key, "keys.deleteKey", {"keyId": key_id})
    typer.echo(f"{key_id} revoked")


@keys.command("reroll")
def reroll_key(
    key_id: KeyIdArgument,
    grace: Annotated[
        str,
        typer.Option(help="How long the old secret keeps working, e.g. 1h; 0s stops it now."),
    ] = "0s",
    api_url: ApiUrl = "",
    root_key: RootKey = "",
) -> None:
    """Give a key a new secret with the same settings; prints the secret only now."""
    body = {"keyId": key_id, "expiration": duration_ms(grace)}
    created = call(api_url, root_key, "keys.rerollKey", body)
    typer.echo(f"key {created['keyId']} replaces {key_id}")
    typer.echo(SHOWN_ONCE)
    typer.echo(f"  {created['key']}")


@keys.command("verify")
def verify_key(
    key: Annotated[
        str | None, typer.Argument(help="The secret to check; asked for (hidden) if left out.")
    ] = None,
    api_url: ApiUrl = "",
    root_key: RootKey = "",
) -> None:
    """Check a key's secret as a gateway would; fails unless the key is valid."""
    secret = key or typer.prompt("key", hide_input=True)
    answer = call(api_url, root_key, "keys.verifyKey", {"key": secret})
    if not answer["valid"]:
        fail(f"the key is not valid: {answer['code']}")
    typer.echo(f"valid: {answer.get('keyId')} in {answer.get('keyspaceId')}")
