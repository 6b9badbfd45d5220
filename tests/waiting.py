"""Waiting on a condition instead of sleeping a fixed time: what a test needs to have happened
is polled for, with a generous bound that only a real failure reaches (a loaded CI machine
makes fixed sleeps and short waits flaky)."""

from __future__ import annotations

import time


def wait_for(condition, timeout: float = 30.0, what: str = "the condition") -> None:
    """Poll `condition` until it is true; an AssertionError naming `what` after `timeout` s."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.02)
