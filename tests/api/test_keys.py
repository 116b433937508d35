"""apis.* and keys.* through Unkey's own SDK: keys shown once, stored as hashes, verified
in Unkey's order of codes."""

from __future__ import annotations

import base64
import hashlib
import time

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from unkey.py import Unkey, errors

from dockyard.keyspaces import Key


def test_a_key_is_shown_once_and_stored_only_as_its_hash(
    unkey: Unkey, db: sessionmaker[Session]
) -> None:
    api_id = unkey.apis.create_api(name="payments").data.api_id
    assert api_id.startswith("api_")
    assert unkey.apis.get_api(api_id=api_id).data.name == "payments"
    created = unkey.keys.create_key(api_id=api_id, prefix="sk", name="first", meta={"plan": "pro"})
    secret = created.data.key
    assert secret.startswith("sk_") and len(secret) > 20
    with db() as session:
        row = session.scalars(select(Key).where(Key.id == created.data.key_id)).one()
        assert row.key_hash == hashlib.sha256(secret.encode()).hexdigest()
        assert secret not in repr(row.__dict__)
    key = unkey.keys.get_key(key_id=created.data.key_id).data
    assert key.start == secret[:7] and key.name == "first" and key.meta == {"plan": "pro"}
    assert unkey.keys.whoami(key=secret).data.key_id == created.data.key_id
    listed = unkey.apis.list_keys(api_id=api_id)
    assert [k.key_id for k in listed.result.data] == [created.data.key_id]
    assert all(getattr(k, "plaintext", None) is None for k in listed.result.data)


def test_verification_codes_in_unkeys_order(unkey: Unkey) -> None:
    api_id = unkey.apis.create_api(name="orders").data.api_id
    unkey.permissions.create_permission(name="read", slug="documents.read")
    key = unkey.keys.create_key(
        api_id=api_id,
        permissions=["documents.read"],
        ratelimits=[{"name": "requests", "limit": 2, "duration": 60_000, "autoApply": True}],
        credits={"remaining": 3},
    ).data

    def code(**kwargs: object) -> str:
        return str(unkey.keys.verify_key(key=key.key, **kwargs).data.code.value)

    assert code(keyspaces=["api_other123"]) == "NOT_FOUND"
    assert code(permissions="documents.write") == "INSUFFICIENT_PERMISSIONS"
    first = unkey.keys.verify_key(key=key.key, permissions="documents.read OR x").data
    assert first.valid and first.code.value == "VALID" and first.credits == 2
    assert first.permissions == ["documents.read"] and first.keyspace_id == api_id
    assert code() == "VALID"
    assert code() == "RATE_LIMITED"  # the auto-applied limit of 2 per minute, no credit spent
    assert unkey.keys.get_key(key_id=key.key_id).data.credits.remaining == 1
    # An inline limit of its own name is a separate counter; credits run out after it.
    inline = [{"name": "burst", "limit": 10, "duration": 60_000}]
    unkey.keys.update_key(key_id=key.key_id, ratelimits=[])
    assert code(ratelimits=inline) == "VALID"
    assert code(ratelimits=inline) == "USAGE_EXCEEDED"

    unkey.keys.update_key(key_id=key.key_id, expires=int(time.time() * 1000) + 60_000)
    unkey.keys.update_credits(key_id=key.key_id, operation="set", value=None)
    assert code() == "VALID"
    unkey.keys.update_key(key_id=key.key_id, enabled=False)
    assert code() == "DISABLED"
    unkey.keys.delete_key(key_id=key.key_id)
    assert code() == "NOT_FOUND"
    assert code() == "NOT_FOUND"
    assert unkey.keys.verify_key(key="nope").data.valid is False


def test_expired_keys_and_rerolls(unkey: Unkey) -> None:
    api_id = unkey.apis.create_api(name="rotate").data.api_id
    soon = int(time.time() * 1000) + 400
    old = unkey.keys.create_key(api_id=api_id, prefix="rk", expires=soon).data
    rerolled = unkey.keys.reroll_key(key_id=old.key_id, expiration=None).data
    assert rerolled.key.startswith("rk_") and rerolled.key != old.key
    time.sleep(0.5)
    assert unkey.keys.verify_key(key=old.key).data.code.value == "EXPIRED"
    # The new key copies the expiry as well.
    assert unkey.keys.verify_key(key=rerolled.key).data.code.value == "EXPIRED"
    fresh = unkey.keys.create_key(api_id=api_id).data
    again = unkey.keys.reroll_key(key_id=fresh.key_id, expiration=0).data
    assert unkey.keys.verify_key(key=fresh.key).data.code.value == "EXPIRED"
    assert unkey.keys.verify_key(key=again.key).data.code.value == "VALID"


def test_roles_grant_permissions_and_identities_come_back(unkey: Unkey) -> None:
    api_id = unkey.apis.create_api(name="docs").data.api_id
    unkey.permissions.create_permission(name="write", slug="documents.write")
    unkey.permissions.create_role(name="editor", permissions=["documents.write"])
    key = unkey.keys.create_key(api_id=api_id, external_id="user_42").data
    roles = unkey.keys.add_roles(key_id=key.key_id, roles=["editor"]).data
    assert [r.name for r in roles] == ["editor"]
    verified = unkey.keys.verify_key(key=key.key, permissions="documents.write").data
    assert verified.valid and verified.roles == ["editor"]
    assert verified.identity is not None and verified.identity.external_id == "user_42"
    # A wildcard permission grants everything under it; new slugs are created on demand.
    held = unkey.keys.set_permissions(key_id=key.key_id, permissions=["reports.*"]).data
    assert [p.slug for p in held] == ["reports.*"]
    assert unkey.keys.verify_key(key=key.key, permissions="reports.read").data.valid
    unkey.keys.remove_roles(key_id=key.key_id, roles=["editor"])
    code = unkey.keys.verify_key(key=key.key, permissions="documents.write").data.code
    assert code.value == "INSUFFICIENT_PERMISSIONS"
    by_owner = unkey.apis.list_keys(api_id=api_id, external_id="user_42").result.data
    assert [k.key_id for k in by_owner] == [key.key_id]


def test_permissions_and_roles_are_added_removed_and_set(unkey: Unkey) -> None:
    api_id = unkey.apis.create_api(name="grants").data.api_id
    unkey.permissions.create_permission(name="read", slug="files.read")
    unkey.permissions.create_role(name="viewer", permissions=["files.read"])
    unkey.permissions.create_role(name="auditor")
    key_id = unkey.keys.create_key(api_id=api_id).data.key_id
    # Adding creates a permission the workspace lacks; removing only takes existing ones.
    added = unkey.keys.add_permissions(key_id=key_id, permissions=["files.read", "files.write"])
    assert sorted(p.slug for p in added.data) == ["files.read", "files.write"]
    left = unkey.keys.remove_permissions(key_id=key_id, permissions=["files.write"]).data
    assert [p.slug for p in left] == ["files.read"]
    with pytest.raises(errors.NotFoundErrorResponse):
        unkey.keys.remove_permissions(key_id=key_id, permissions=["files.delete"])
    unkey.keys.add_roles(key_id=key_id, roles=["viewer"])
    roles = unkey.keys.set_roles(key_id=key_id, roles=["auditor"]).data
    assert [r.name for r in roles] == ["auditor"]
    assert [p.slug for p in unkey.keys.set_permissions(key_id=key_id, permissions=[]).data] == []


def test_unknown_keyspace_and_key_are_404(unkey: Unkey) -> None:
    with pytest.raises(errors.NotFoundErrorResponse):
        unkey.keys.create_key(api_id="api_doesnotexist")
    with pytest.raises(errors.NotFoundErrorResponse):
        unkey.keys.get_key(key_id="key_doesnotexist")


def test_deleting_a_keyspace_deletes_its_keys(unkey: Unkey) -> None:
    api_id = unkey.apis.create_api(name="temporary").data.api_id
    key = unkey.keys.create_key(api_id=api_id).data
    unkey.apis.delete_api(api_id=api_id)
    assert unkey.keys.verify_key(key=key.key).data.code.value == "NOT_FOUND"
    with pytest.raises(errors.NotFoundErrorResponse):
        unkey.apis.get_api(api_id=api_id)


def test_ratelimit_limit_is_exact(unkey: Unkey) -> None:
    results = [
        unkey.ratelimit.limit(namespace="sms", identifier="user_1", limit=3, duration=60_000).data
        for _ in range(4)
    ]
    assert [r.success for r in results] == [True, True, True, False]
    assert [r.remaining for r in results] == [2, 1, 0, 0]
    multi = unkey.ratelimit.multi_limit(
        request=[
            {"namespace": "sms", "identifier": "user_1", "limit": 3, "duration": 60_000},
            {"namespace": "email", "identifier": "user_1", "limit": 3, "duration": 60_000},
        ]
    ).data
    assert multi.passed is False
    assert [check.passed for check in multi.limits] == [False, True]


def test_ratelimit_windows_run_from_a_second_to_thirty_days(unkey: Unkey) -> None:
    thirty_days = 30 * 24 * 3600 * 1000
    before = time.time() * 1000
    month = unkey.ratelimit.limit(
        namespace="signups", identifier="org_1", limit=1, duration=thirty_days
    ).data
    assert month.success and before < month.reset <= before + thirty_days + 1000
    assert not unkey.ratelimit.limit(
        namespace="signups", identifier="org_1", limit=1, duration=thirty_days
    ).data.success
    for duration in (999, thirty_days + 1):
        with pytest.raises(errors.BadRequestErrorResponse):
            unkey.ratelimit.limit(
                namespace="signups", identifier="org_2", limit=1, duration=duration
            )


def test_migrated_keys_verify_with_the_secrets_their_holders_already_have(unkey: Unkey) -> None:
    api_id = unkey.apis.create_api(name="legacy").data.api_id
    active, paused = "sk_live_4f9a2c", "sk_live_77b1e0"
    as_hex = hashlib.sha256(active.encode()).hexdigest()
    as_base64 = base64.b64encode(hashlib.sha256(paused.encode()).digest()).decode()

    moved = unkey.keys.migrate_keys(
        migration_id="sha256",
        api_id=api_id,
        keys=[
            {"hash": as_hex, "external_id": "acme", "meta": {"plan": "pro"}},
            {"hash": as_base64, "enabled": False},
        ],
    ).data

    assert [m.hash for m in moved.migrated] == [as_hex, as_base64] and moved.failed == []
    verified = unkey.keys.verify_key(key=active).data
    assert verified.valid and verified.key_id == moved.migrated[0].key_id
    assert verified.identity is not None and verified.identity.external_id == "acme"
    assert verified.meta == {"plan": "pro"}
    assert unkey.keys.verify_key(key=paused).data.code.value == "DISABLED"
    # The same hash again, in either spelling: already held, so reported and not duplicated.
    again = unkey.keys.migrate_keys(
        migration_id="sha256", api_id=api_id, keys=[{"hash": as_hex.upper()}]
    ).data
    assert again.migrated == [] and again.failed == [as_hex.upper()]
    assert len(unkey.apis.list_keys(api_id=api_id).result.data) == 2


def test_a_migration_with_an_unknown_scheme_or_a_bad_hash_changes_nothing(unkey: Unkey) -> None:
    api_id = unkey.apis.create_api(name="legacy").data.api_id
    good = {"hash": hashlib.sha256(b"sk_one").hexdigest()}
    with pytest.raises(errors.NotFoundErrorResponse) as unknown:
        unkey.keys.migrate_keys(migration_id="bcrypt", api_id=api_id, keys=[good])
    assert "use migrationId 'sha256'" in unknown.value.data.error.detail
    with pytest.raises(errors.BadRequestErrorResponse) as malformed:
        unkey.keys.migrate_keys(
            migration_id="sha256", api_id=api_id, keys=[good, {"hash": "md5:5f4dcc3b"}]
        )
    assert "body.keys[1].hash" in malformed.value.data.error.detail
    assert unkey.apis.list_keys(api_id=api_id).result.data == []
