"""Console tests hash passwords with cheap argon2 parameters: the suite signs in hundreds of
times on two shared cores. test_production_hashes_use_strong_parameters checks the real ones."""

from __future__ import annotations

import pytest
from argon2 import PasswordHasher

from widget_server.domain.accounts import admin_sessions, admins


@pytest.fixture(autouse=True)
def quick_hashes(monkeypatch):
    monkeypatch.setattr(
        admins, "PASSWORD_HASHER", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    )
    admin_sessions._dummy_hash.cache_clear()
    yield
    admin_sessions._dummy_hash.cache_clear()
