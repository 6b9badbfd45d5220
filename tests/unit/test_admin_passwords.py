"""Console password hashing and the signed password links, without a server."""

from __future__ import annotations

from argon2 import PasswordHasher

from widget_server.domain.accounts import admins


def test_production_hashes_use_strong_parameters():
    hasher = admins.PASSWORD_HASHER
    assert isinstance(hasher, PasswordHasher)
    assert hasher.type.name == "ID"
    assert hasher.memory_cost >= 65536 and hasher.time_cost >= 3
    assert hasher.hash("a long enough password").startswith("$argon2id$")
