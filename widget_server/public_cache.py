"""A short-lived cache of public data in each process (PUBLIC_CACHE_MS, default 1 s).

Thousands of widgets poll the same trip on game day. Each process answers those polls from
memory for a second, so the database sees about one query per trip per second per process
rather than one per poll. Nothing here is needed by another host (a second of staleness is the
whole contract), and nothing private is ever put in it: only what the widget API shows anyone.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Hashable
from typing import Any

MAX_ENTRIES = 10_000


class TTLCache:
    """get_or_set(key, compute) with a time to live; thread-safe, one compute per key at once."""

    def __init__(self, seconds: float, clock: Callable[[], float] = time.monotonic):
        self.seconds = seconds
        self._clock = clock
        self._entries: dict[Hashable, tuple[float, Any]] = {}
        self._lock = threading.Lock()
        self._computing: dict[Hashable, threading.Lock] = {}

    def get_or_set(self, key: Hashable, compute: Callable[[], Any]) -> Any:
        if self.seconds <= 0:
            return compute()
        now = self._clock()
        entry = self._entries.get(key)
        if entry is not None and entry[0] > now:
            return entry[1]
        with self._lock:
            key_lock = self._computing.setdefault(key, threading.Lock())
        # One thread computes; the others waiting for the same key take its result.
        with key_lock:
            entry = self._entries.get(key)
            if entry is not None and entry[0] > self._clock():
                return entry[1]
            value = compute()
            if len(self._entries) >= MAX_ENTRIES:
                self._evict()
            self._entries[key] = (self._clock() + self.seconds, value)
            return value

    def _evict(self) -> None:
        now = self._clock()
        with self._lock:
            for key in [k for k, (expires, _) in list(self._entries.items()) if expires <= now]:
                self._entries.pop(key, None)
                self._computing.pop(key, None)
            if len(self._entries) >= MAX_ENTRIES:  # all fresh: start over rather than grow
                self._entries.clear()
                self._computing.clear()

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._computing.clear()
