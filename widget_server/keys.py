"""Keys derived from SECRET_KEY, one per purpose (HKDF-SHA256 with a distinct label each), so a
key learnt or misused for one purpose says nothing about another.

The labels are part of the stored formats: changing one makes what it protects unreadable.
"""

from __future__ import annotations

from functools import lru_cache

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

# purpose -> HKDF info label
PURPOSES = {
    # The webhook secrets' label predates this module; kept so stored secrets stay readable.
    "webhook-secrets": b"ridepledge webhook endpoint secrets v1",
    "idempotent-responses": b"ridepledge idempotent responses v1",
    "demand-addresses": b"ridepledge demand client addresses v1",
    "admin-totp-secrets": b"ridepledge console two-step secrets v1",
    "admin-recovery-codes": b"ridepledge console recovery codes v1",
    "referral-codes": b"ridepledge share link referral codes v1",
    "boarding-codes": b"ridepledge boarding codes v1",
}


@lru_cache(maxsize=32)
def derive_key(app_secret_key: str, purpose: str, length: int = 32) -> bytes:
    """The key for `purpose` (one of PURPOSES) under this SECRET_KEY."""
    return HKDF(algorithm=hashes.SHA256(), length=length, salt=None, info=PURPOSES[purpose]).derive(
        app_secret_key.encode()
    )
