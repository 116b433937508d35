"""Secrets that authenticate: generated once, shown once, stored only as SHA-256 hashes."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
import secrets

ROOT_KEY_PREFIX = "dy_root"


def generate_key(prefix: str = "", byte_length: int = 24) -> str:
    body = secrets.token_urlsafe(byte_length)
    return f"{prefix}_{body}" if prefix else body


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def sha256_hex(digest: str) -> str | None:
    """A SHA-256 digest written as hex or base64 (standard or URL-safe, padded or not),
    written as hash_key writes it; None when `digest` is neither."""
    if re.fullmatch(r"[0-9a-fA-F]{64}", digest):
        return digest.lower()
    if not re.fullmatch(r"[A-Za-z0-9+/_-]{43}=?", digest):
        return None
    try:
        raw = base64.urlsafe_b64decode(digest.replace("+", "-").replace("/", "_").rstrip("=") + "=")
    except binascii.Error:
        return None
    return raw.hex() if len(raw) == hashlib.sha256().digest_size else None


def matches(key: str, stored_hash: str) -> bool:
    return hmac.compare_digest(hash_key(key), stored_hash)


def visible_start(key: str, length: int = 12) -> str:
    """The first characters of a key, safe to show so a person can tell keys apart."""
    return key[:length]
