"""Keeping every process together under the payment provider's request rate.

Stripe allows about 100 requests per second in live mode and answers 429 above it. Settling a
5,000-pledge trip with many worker threads on several hosts would hit that at once, and each
429 would cost a job retry. So every request to Stripe first takes a slot from one shared
schedule (GCRA: the "theoretical arrival time" moves 1/rate ahead per request): in Redis when
REDIS_URL is set, so all hosts share it, else in this process. A 429 that still happens (another
client of the same account, a request delayed on the way) is retried at once with backoff, the
same idempotency key and a new slot; one that outlasts those retries is a temporary failure like
any other, retried later with the same key.
"""

from __future__ import annotations

import logging
import threading
import time

import stripe

log = logging.getLogger(__name__)

# Atomically: take the next slot of the schedule; return how many ms to wait for it.
_GCRA = """
local now = tonumber(ARGV[1])
local interval = tonumber(ARGV[2])
local burst = tonumber(ARGV[3])
local tat = tonumber(redis.call('GET', KEYS[1]) or now)
if tat < now then tat = now end
local wait = tat - now - burst
if wait < 0 then wait = 0 end
redis.call('SET', KEYS[1], tat + interval, 'PX', 60000)
return wait
"""
MAX_PACING_WAIT = 1.0  # seconds


class RateGate:
    """`acquire()` blocks until this caller may send one request."""

    def __init__(self, per_second: float, redis_url: str | None = None, key: str = "stripe"):
        self.interval_ms = 1000.0 / per_second
        self.burst_ms = self.interval_ms * 5  # a handful may go back to back after a pause
        self._key = f"ridepledge:rate:{key}"
        self._lock = threading.Lock()
        self._tat = 0.0
        self._redis = None
        if redis_url:
            import redis

            self._redis = redis.Redis.from_url(redis_url, socket_timeout=2)
            self._script = self._redis.register_script(_GCRA)

    def acquire(self) -> None:
        """Wait for this caller's slot, at most MAX_PACING_WAIT (a call must fit in the
        provider's claim: payments.LONGEST_CALL counts this wait per try)."""
        wait_ms = self._take()
        if wait_ms > 0:
            time.sleep(min(wait_ms / 1000, MAX_PACING_WAIT))

    def _take(self) -> float:
        now_ms = time.time() * 1000
        if self._redis is not None:
            try:
                return float(
                    self._script(keys=[self._key], args=[now_ms, self.interval_ms, self.burst_ms])
                )
            except Exception:  # noqa: BLE001 (Redis away: pace this process alone meanwhile)
                log.warning("rate gate: Redis unavailable; pacing this process alone")
        with self._lock:
            tat = max(self._tat, now_ms)
            self._tat = tat + self.interval_ms
            return max(tat - now_ms - self.burst_ms, 0.0)


class PacedRequestsClient(stripe.RequestsClient):
    """stripe's requests-based HTTP client; every try (the library's retries too) first takes
    a slot from the RateGate.

    A 429 is retried here, within the library's retries (`max_network_retries`, so a call
    still fits in payments.LONGEST_CALL): Stripe performed nothing, and the same request with
    the same idempotency key goes again after the library's backoff, through a new slot. (The
    library itself retries a 429 only when Stripe says `Stripe-Should-Retry: true`.) Only a
    429 that outlasts those retries goes up as a temporary failure, which the settlement
    engine retries later with the same key."""

    def __init__(self, *args, gate: RateGate | None, **kwargs):
        super().__init__(*args, **kwargs)
        self._gate = gate

    def request(self, method, url, headers, post_data=None):
        if self._gate is not None:
            self._gate.acquire()
        return super().request(method, url, headers, post_data)

    def _should_retry(self, response, api_connection_error, num_retries, max_network_retries):
        rate_limited = response is not None and response[1] == 429
        if rate_limited and num_retries < (max_network_retries or 0):
            headers = response[2]
            if headers is None or headers.get("stripe-should-retry") != "false":
                return True
        return super()._should_retry(
            response, api_connection_error, num_retries, max_network_retries
        )
