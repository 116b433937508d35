"""Encryption at rest for environment variables (AES-256-GCM)."""

from __future__ import annotations

import hashlib
import json
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

NONCE_BYTES = 12
UNREADABLE = "stored secret cannot be decrypted: DOCKYARD_SECRET_KEY changed since it was written"


class SecretBox:
    """Seals and opens values with a key derived from the operator's secret."""

    def __init__(self, secret: str) -> None:
        if not secret:
            raise ValueError("a secret key is required")
        self._aead = AESGCM(hashlib.sha256(secret.encode()).digest())

    def seal(self, plaintext: bytes) -> bytes:
        nonce = os.urandom(NONCE_BYTES)
        return nonce + self._aead.encrypt(nonce, plaintext, None)

    def open(self, sealed: bytes) -> bytes:
        try:
            return self._aead.decrypt(sealed[:NONCE_BYTES], sealed[NONCE_BYTES:], None)
        except InvalidTag as error:
            raise ValueError(UNREADABLE) from error

    def seal_mapping(self, values: dict[str, str]) -> bytes:
        return self.seal(json.dumps(values).encode())

    def open_mapping(self, sealed: bytes | None) -> dict[str, str]:
        if not sealed:
            return {}
        loaded: dict[str, str] = json.loads(self.open(sealed))
        return loaded
