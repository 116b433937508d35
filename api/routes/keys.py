"""keys.createKey / migrateKeys / getKey / whoami / updateKey / updateCredits / deleteKey /
rerollKey.

Every change that can make a cached key wrong is announced to the Sentinel replicas
after it is committed (dockyard.key_events), so they stop accepting the old state at once.
"""

from __future__ import annotations

from api.crud import keys as crud
from api.crud import rbac
from api.crud.keyspaces import find_keyspace
from api.deps import MetaDep, RootKeyDep, SessionDep
from api.errors import BadRequest, NotFound
from api.redis_deps import RedisDep
from api.routes import resource_router
from api.schemas.base import Empty, Envelope
from api.schemas.keys import (
    CreateKey,
    CreditsOut,
    DeleteKey,
    GetKey,
    KeyCreated,
    KeyMigrated,
    KeyOut,
    KeysMigrated,
    MigrateKeys,
    RerollKey,
    UpdateKey,
    UpdateKeyCredits,
    WhoAmI,
)
from dockyard import key_events
from dockyard.keys import sha256_hex
from dockyard.keyspaces import Key
from dockyard.models import now_ms

router = resource_router("keys")

NO_DECRYPT = (
    "Keys are stored only as SHA-256 hashes in dockyard, so no key can be decrypted; "
    "omit `decrypt`."
)
VALUE_REQUIRED = "is required for the operations 'increment' and 'decrement'"
# How the keys being migrated were hashed where they come from. dockyard stores SHA-256,
# so those keys move as they are and verify with their old secrets.
SHA256_MIGRATION = "sha256"
NO_MIGRATION = (
    "There is no migration '{migration_id}'. dockyard migrates keys stored as SHA-256 "
    "digests of the whole secret: use migrationId 'sha256'."
)
NOT_SHA256 = "is not a SHA-256 digest (64 hex characters, or 43-44 characters of base64)"


@router.post("/v2/keys.createKey")
def create_key(
    body: CreateKey, session: SessionDep, caller: RootKeyDep, redis: RedisDep, meta: MetaDep
) -> Envelope[KeyCreated]:
    """A new key; its secret is in this response only, and only its hash is stored."""
    crud.require(caller, "create_key", body.api_id)
    if body.recoverable:
        raise BadRequest.at("body.recoverable", NO_DECRYPT)
    keyspace = find_keyspace(session, workspace_id=caller.workspace_id, api_id=body.api_id)
    key, plaintext = crud.create_key(session, caller=caller, keyspace=keyspace, body=body)
    session.commit()
    # A replica may have remembered this secret as unknown; make it look again.
    key_events.publish(redis, key_events.key_message(key.key_hash))
    return Envelope(meta=meta, data=KeyCreated(key_id=key.id, key=plaintext))


@router.post("/v2/keys.migrateKeys")
def migrate_keys(
    body: MigrateKeys, session: SessionDep, caller: RootKeyDep, redis: RedisDep, meta: MetaDep
) -> Envelope[KeysMigrated]:
    """Keys from another system, by hash: their holders keep their secrets. Hashes already
    held come back as `failed`; any malformed one refuses the whole request."""
    crud.require(caller, "create_key", body.api_id)
    if body.migration_id != SHA256_MIGRATION:
        raise NotFound(NO_MIGRATION.format(migration_id=body.migration_id))
    keyspace = find_keyspace(session, workspace_id=caller.workspace_id, api_id=body.api_id)
    digests = []
    sent: dict[str, str] = {}  # digest -> the hash as the caller wrote it
    for index, key in enumerate(body.keys):
        digest = sha256_hex(key.hash)
        if digest is None:
            raise BadRequest.at(f"body.keys[{index}].hash", NOT_SHA256)
        digests.append(digest)
        sent.setdefault(digest, key.hash)
    migrated, failed = crud.migrate_keys(
        session, caller=caller, keyspace=keyspace, keys=list(zip(body.keys, digests, strict=True))
    )
    session.commit()
    # Replicas may remember these secrets as unknown; make them look again.
    key_events.publish(redis, *(key_events.key_message(key.key_hash) for key in migrated))
    return Envelope(
        meta=meta,
        data=KeysMigrated(
            migrated=[KeyMigrated(hash=sent[key.key_hash], key_id=key.id) for key in migrated],
            failed=failed,
        ),
    )


@router.post("/v2/keys.getKey")
def get_key(
    body: GetKey, session: SessionDep, caller: RootKeyDep, meta: MetaDep
) -> Envelope[KeyOut]:
    if body.decrypt:
        raise BadRequest.at("body.decrypt", NO_DECRYPT)
    key = crud.find_key(session, workspace_id=caller.workspace_id, key_id=body.key_id)
    crud.require(caller, "read_key", key.keyspace_id, key.id)
    return Envelope(meta=meta, data=crud.key_out(session, key))


@router.post("/v2/keys.whoami")
def whoami(
    body: WhoAmI, session: SessionDep, caller: RootKeyDep, meta: MetaDep
) -> Envelope[KeyOut]:
    """The key a secret belongs to, found by the secret's hash."""
    key = crud.find_key_by_secret(session, workspace_id=caller.workspace_id, secret=body.key)
    crud.require(caller, "read_key", key.keyspace_id, key.id)
    return Envelope(meta=meta, data=crud.key_out(session, key))


@router.post("/v2/keys.updateKey")
def update_key(
    body: UpdateKey, session: SessionDep, caller: RootKeyDep, redis: RedisDep, meta: MetaDep
) -> Envelope[Empty]:
    key = crud.find_key(session, workspace_id=caller.workspace_id, key_id=body.key_id)
    crud.require(caller, "update_key", key.keyspace_id, key.id)
    given = body.model_fields_set
    if "name" in given:
        key.name = body.name
    if "meta" in given:
        key.meta = body.meta
    if "expires" in given:
        crud.check_expires(body.expires)
        key.expires_at = body.expires
    if "enabled" in given and body.enabled is not None:
        key.enabled = body.enabled
    if "external_id" in given:
        key.identity_id = (
            crud.identity_for(
                session, workspace_id=caller.workspace_id, external_id=body.external_id
            ).id
            if body.external_id
            else None
        )
    if "ratelimits" in given:
        key.ratelimits = crud.stored_ratelimits(body.ratelimits or [])
    if "credits" in given:
        _update_credits(key, body)
    if body.permissions is not None:
        permissions = rbac.resolve_permissions(session, caller=caller, slugs=body.permissions)
        rbac.replace_permissions(session, key, permissions)
    if body.roles is not None:
        roles = rbac.resolve_roles(session, workspace_id=caller.workspace_id, names=body.roles)
        rbac.replace_roles(session, key, roles)
    key.updated_at = now_ms()
    session.commit()
    key_events.publish(redis, key_events.key_message(key.key_hash))
    return Envelope(meta=meta, data=Empty())


def _update_credits(key: Key, body: UpdateKey) -> None:
    if body.credits is None:
        key.credits_remaining = None  # unlimited
        crud.set_refill(key, None)
        return
    given = body.credits.model_fields_set
    if "remaining" in given:
        key.credits_remaining = body.credits.remaining
    if "refill" in given:
        if body.credits.refill is not None and key.credits_remaining is None:
            raise BadRequest.at("body.credits.refill", "needs a number of remaining credits")
        crud.set_refill(key, body.credits.refill)


@router.post("/v2/keys.updateCredits")
def update_credits(
    body: UpdateKeyCredits, session: SessionDep, caller: RootKeyDep, redis: RedisDep, meta: MetaDep
) -> Envelope[CreditsOut]:
    key = crud.find_key(session, workspace_id=caller.workspace_id, key_id=body.key_id)
    crud.require(caller, "update_key", key.keyspace_id, key.id)
    if body.operation == "set":
        key.credits_remaining = body.value
        if body.value is None:
            crud.set_refill(key, None)
    else:
        if body.value is None:
            raise BadRequest.at("body.value", VALUE_REQUIRED)
        if key.credits_remaining is None:
            raise BadRequest.at(
                "body.operation",
                f"cannot {body.operation} the credits of a key with unlimited usage",
                "Set a number of credits first with the operation 'set'.",
            )
        sign = 1 if body.operation == "increment" else -1
        key.credits_remaining = max(0, key.credits_remaining + sign * body.value)
    key.updated_at = now_ms()
    session.commit()
    key_events.publish(redis, key_events.key_message(key.key_hash))
    return Envelope(meta=meta, data=crud.credits_out(key) or CreditsOut(remaining=None))


@router.post("/v2/keys.deleteKey")
def delete_key(
    body: DeleteKey, session: SessionDep, caller: RootKeyDep, redis: RedisDep, meta: MetaDep
) -> Envelope[Empty]:
    """The key stops verifying at once, on every gateway replica."""
    key = crud.find_key(session, workspace_id=caller.workspace_id, key_id=body.key_id)
    crud.require(caller, "delete_key", key.keyspace_id, key.id)
    session.delete(key)
    session.commit()
    key_events.publish(redis, key_events.key_message(key.key_hash))
    return Envelope(meta=meta, data=Empty())


@router.post("/v2/keys.rerollKey")
def reroll_key(
    body: RerollKey, session: SessionDep, caller: RootKeyDep, redis: RedisDep, meta: MetaDep
) -> Envelope[KeyCreated]:
    """A new secret with the original's settings; the original expires after `expiration`."""
    original = crud.find_key(session, workspace_id=caller.workspace_id, key_id=body.key_id)
    crud.require(caller, "create_key", original.keyspace_id)
    crud.require(caller, "update_key", original.keyspace_id, original.id)
    created, plaintext = crud.copy_key(session, original)
    if body.expiration is not None:
        expires = now_ms() + body.expiration
        if original.expires_at is None or expires < original.expires_at:
            original.expires_at = expires
    session.commit()
    key_events.publish(
        redis, key_events.key_message(original.key_hash), key_events.key_message(created.key_hash)
    )
    return Envelope(meta=meta, data=KeyCreated(key_id=created.id, key=plaintext))
