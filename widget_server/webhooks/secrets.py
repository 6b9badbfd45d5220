"""Endpoint signing secrets at rest: Fernet (AES-128-CBC + HMAC-SHA256) under a key derived
from SECRET_KEY with HKDF-SHA256, one key per purpose (widget_server/keys.py).

The secrets cannot be hashed like API client secrets, because we need them in clear to sign
every delivery; encrypting them means a database dump alone does not let anyone forge our
webhooks. Changing SECRET_KEY makes the stored secrets unreadable: rotate every endpoint's
secret afterwards (`POST /v1/webhook_endpoints/{id}/rotate_secret`).
"""

from __future__ import annotations

import base64
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken

from widget_server.keys import derive_key

PURPOSE = "webhook-secrets"


class SecretUnreadable(Exception):
    """A stored secret does not decrypt with the current SECRET_KEY."""


@lru_cache(maxsize=8)
def _fernet(app_secret_key: str, purpose: str) -> Fernet:
    return Fernet(base64.urlsafe_b64encode(derive_key(app_secret_key, purpose)))


def encrypt_secret(app_secret_key: str, plaintext: str, *, purpose: str = PURPOSE) -> str:
    """The stored form of an endpoint secret (or of another `purpose`'s secret data, under
    that purpose's own key: see widget_server/keys.py)."""
    return _fernet(app_secret_key, purpose).encrypt(plaintext.encode()).decode("ascii")


def decrypt_secret(app_secret_key: str, token: str, *, purpose: str = PURPOSE) -> str:
    """The plaintext back from its stored form; SecretUnreadable if the key changed."""
    try:
        return _fernet(app_secret_key, purpose).decrypt(token.encode("ascii")).decode()
    except InvalidToken as exc:
        raise SecretUnreadable(f"stored {purpose} do not decrypt with SECRET_KEY") from exc
