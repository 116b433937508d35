"""Secrets that authenticate: generated once, shown once, stored only as SHA-256 hashes."""

from __future__ import annotations

import hashlib
import hmac
import secrets

ROOT_KEY_PREFIX = "dy_root"


def generate_key(prefix: str = "", byte_length: int = 24) -> str:
    body = secrets.token_urlsafe(byte_length)
    return f"{prefix}_{body}" if prefix else body


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def matches(key: str, stored_hash: str) -> bool:
    return hmac.compare_digest(hash_key(key), stored_hash)


def visible_start(key: str, length: int = 12) -> str:
    """The first characters of a key, safe to show so a person can tell keys apart."""
    return key[:length]
