"""Prefixed resource ids and URL-safe slugs."""

from __future__ import annotations

import re
import secrets

_ALPHABET = "0123456789abcdefghijklmnopqrstuvwxyz"
_SLUG_STRIP = re.compile(r"[^a-z0-9]+")
SLUG_PATTERN = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")

PREFIXES = {
    "workspace": "ws",
    "project": "proj",
    "app": "app",
    "environment": "env",
    "deployment": "d",
    "step": "step",
    "instance": "inst",
    "domain": "dom",
    "root_key": "rk",
    "request": "req",
    # Unkey calls a keyspace an "api", and so do its ids.
    "keyspace": "api",
    "key": "key",
    "identity": "id",
    "permission": "perm",
    "role": "role",
    "ratelimit": "rl",
    "ratelimit_namespace": "rlns",
    "ratelimit_override": "rlo",
    "policy": "pol",
}


def new_id(kind: str, length: int = 16) -> str:
    """A random id such as `d_3k9x...`; the prefix says what it names."""
    body = "".join(secrets.choice(_ALPHABET) for _ in range(length))
    return f"{PREFIXES[kind]}_{body}"


def slugify(text: str, max_length: int = 63) -> str:
    """Lower-case, dash-separated, DNS-label-safe: `feature/Login Page` -> `feature-login-page`."""
    slug = _SLUG_STRIP.sub("-", text.lower()).strip("-")
    return slug[:max_length].rstrip("-")
