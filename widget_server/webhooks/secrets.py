"""Endpoint signing secrets at rest: Fernet (AES-128-CBC + HMAC-SHA256) under a key derived
from SECRET_KEY with HKDF-SHA256.

The secrets cannot be hashed like API client secrets, because we need them in clear to sign
every delivery; encrypting them means a database dump alone does not let anyone forge our
webhooks. Changing SECRET_KEY makes the stored secrets unreadable: rotate every endpoint's
secret afterwards (`POST /v1/webhook_endpoints/{id}/rotate_secret`).
"""

from __future__ import annotations

import base64
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

# Changing this string changes the derived key, so it is part of the stored format.
_HKDF_INFO = b"ridepledge webhook endpoint secrets v1"


class SecretUnreadable(Exception):
    """A stored secret does not decrypt with the current SECRET_KEY."""


@lru_cache(maxsize=8)
def _fernet(app_secret_key: str) -> Fernet:
    derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_HKDF_INFO).derive(
        app_secret_key.encode()
    )
    return Fernet(base64.urlsafe_b64encode(derived))


def encrypt_secret(app_secret_key: str, plaintext: str) -> str:
    """The stored form of an endpoint secret."""
    return _fernet(app_secret_key).encrypt(plaintext.encode()).decode("ascii")


def decrypt_secret(app_secret_key: str, token: str) -> str:
    """The endpoint secret back from its stored form; SecretUnreadable if the key changed."""
    try:
        return _fernet(app_secret_key).decrypt(token.encode("ascii")).decode()
    except InvalidToken as exc:
        raise SecretUnreadable("the webhook secret does not decrypt with SECRET_KEY") from exc
