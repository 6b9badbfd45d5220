"""Opaque, prefixed, time-ordered ids (`evt_01J...`): sortable like creation order, unguessable."""

from __future__ import annotations

import re
import secrets
import time

_ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"  # Crockford base32, lower case


def new_id(prefix: str) -> str:
    """A new id: 48 bits of milliseconds then 80 random bits, base32 encoded (26 chars)."""
    value = (int(time.time() * 1000) << 80) | secrets.randbits(80)
    chars = []
    for _ in range(26):
        value, digit = divmod(value, 32)
        chars.append(_ALPHABET[digit])
    return f"{prefix}_{''.join(reversed(chars))}"


# What new_id makes: a short lower-case prefix, "_", 26 Crockford base32 characters.
ID_PATTERN = r"^[a-z]{1,8}_[0-9a-hjkmnp-tv-z]{26}$"
_ID = re.compile(ID_PATTERN)


def is_id(value: object, prefix: str | None = None) -> bool:
    """Whether `value` has the shape of an id `new_id` makes (with `prefix`, when given).

    Checked before an id from a URL, query or body reaches the database, so garbage (NUL, lone
    surrogates, a megabyte of text) is a 404 or a 422, never a database error."""
    if not isinstance(value, str) or not _ID.fullmatch(value):
        return False
    return prefix is None or value.startswith(f"{prefix}_")
