"""One HTTP call to the API, with retries, backoff, idempotency keys and token refresh."""

from __future__ import annotations

import json
import logging
import platform
import random
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import requests

from ridepledge.errors import (
    APIConnectionError,
    APITimeoutError,
    IdempotencyInProgressError,
    RidePledgeError,
    error_from_response,
    parse_retry_after,
)
from ridepledge.models import to_api
from ridepledge.version import __version__

if TYPE_CHECKING:
    from ridepledge._auth import TokenManager

log = logging.getLogger("ridepledge")

RETRYABLE_STATUSES = frozenset({408, 429})  # and every 5xx
USER_AGENT = (
    f"ridepledge-python/{__version__} requests/{requests.__version__} "
    f"python/{platform.python_version()}"
)


@dataclass(frozen=True)
class Options:
    """How a client talks to the API (see `Client` for what each one means)."""

    timeout: float = 30.0
    max_retries: int = 2
    backoff_initial: float = 0.5
    backoff_max: float = 8.0
    max_retry_after: float = 60.0
    token_refresh_margin: float = 60.0

    def __post_init__(self) -> None:
        if self.max_retries < 0:
            raise ValueError("max_retries must be 0 or more")
        if self.timeout <= 0:
            raise ValueError("timeout must be positive")
        if self.backoff_initial < 0 or self.backoff_max < 0 or self.max_retry_after < 0:
            raise ValueError("backoff_initial, backoff_max and max_retry_after must be >= 0")
        if self.token_refresh_margin < 0:
            raise ValueError("token_refresh_margin must be >= 0")


def new_idempotency_key() -> str:
    """A fresh key for one logical POST."""
    return f"rp-{uuid.uuid4()}"


def backoff_delay(options: Options, retry_number: int, retry_after: float | None) -> float:
    """Seconds to wait before retry `retry_number` (1, 2, ...): exponential, capped, with
    "equal jitter" (half fixed, half random) so that clients which failed together do not
    retry together; never less than what the server asked for in `Retry-After`."""
    ceiling = min(options.backoff_max, options.backoff_initial * 2.0 ** (retry_number - 1))
    delay = ceiling / 2 + random.uniform(0, ceiling / 2)  # retry jitter, not crypto  # nosec B311
    return max(delay, retry_after or 0.0)


def is_retryable(error: RidePledgeError) -> bool:
    """Transient failures worth another try.

    409 is retried only for `idempotency-in-progress` (the same key's first request is still
    running): the other 409s (`illegal-transition`, `sold-out`, `conflict`) describe the state
    of the object and would fail again.
    """
    if isinstance(error, APIConnectionError | IdempotencyInProgressError):
        return True
    return error.status in RETRYABLE_STATUSES or (error.status or 0) >= 500


class Transport:
    """Sends requests to one base URL through one `requests.Session`."""

    def __init__(self, base_url: str, session: requests.Session, options: Options) -> None:
        self.base_url = base_url.rstrip("/")
        self.session = session
        self.options = options

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json_body: Any = None,
        form: Mapping[str, str] | None = None,
        basic_auth: tuple[str, str] | None = None,
        tokens: TokenManager | None = None,
        accept: str = "application/json",
        idempotency_key: str | None = None,
    ) -> requests.Response:
        """Send a request, retrying transient failures; the successful response or an error.

        With `tokens`, the request carries a bearer token; a 401 gets one fresh token and one
        more try (not counted as a retry). A POST with `tokens` carries an `Idempotency-Key`
        (the caller's, or a new one), the same on every try.
        """
        headers = {"Accept": accept, "User-Agent": USER_AGENT}
        data: bytes | Mapping[str, str] | None = None
        if json_body is not None:
            # Encoded once: every retry sends the very same bytes, as idempotency requires.
            data = json.dumps(to_api(json_body), separators=(",", ":")).encode()
            headers["Content-Type"] = "application/json"
        elif form is not None:
            data = form
        if method == "POST" and tokens is not None:
            headers["Idempotency-Key"] = idempotency_key or new_idempotency_key()
        query = {k: v for k, v in (params or {}).items() if v is not None}
        url = self.base_url + path

        retries = 0
        refreshed_token = False
        lost_answer = False
        while True:
            token = None
            if tokens is not None:
                token = tokens.get(self)
                headers["Authorization"] = f"Bearer {token}"
            try:
                response = self.session.request(
                    method,
                    url,
                    params=query,
                    data=data,
                    headers=headers,
                    auth=basic_auth,
                    timeout=self.options.timeout,
                    allow_redirects=False,
                )
            except requests.Timeout as exc:
                error: RidePledgeError = APITimeoutError(
                    f"no answer from {method} {path} within {self.options.timeout} s: {exc}"
                )
                error.__cause__ = exc
                lost_answer = True
            except (requests.ConnectionError, requests.exceptions.ChunkedEncodingError) as exc:
                error = APIConnectionError(f"{method} {path} failed to connect or answer: {exc}")
                error.__cause__ = exc
                lost_answer = True
            else:
                if response.status_code < 300:
                    return response
                if method == "DELETE" and response.status_code == 404 and lost_answer:
                    # An earlier try got no answer but did delete: the object is gone, which
                    # is what the caller asked for.
                    return response
                if response.status_code == 401 and tokens and token and not refreshed_token:
                    log.info("%s %s: 401, fetching a new token and trying again", method, path)
                    tokens.invalidate(token)
                    refreshed_token = True
                    continue
                error = error_from_response(response)

            retry_after = parse_retry_after(error.headers.get("Retry-After"))
            if retries >= self.options.max_retries or not is_retryable(error):
                raise error
            if retry_after is not None and retry_after > self.options.max_retry_after:
                raise error  # the server wants us gone for longer than the caller would wait
            retries += 1
            delay = backoff_delay(self.options, retries, retry_after)
            log.info(
                "%s %s: %s; retry %d of %d in %.2f s",
                method,
                path,
                error.message,
                retries,
                self.options.max_retries,
                delay,
            )
            time.sleep(delay)
