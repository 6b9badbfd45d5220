"""The transport-agnostic core of one API call: building the request, and deciding after each
try whether to return, refresh the token, retry (and after how long) or raise.

Both clients use it: `_sync.py` sends the requests with `requests`, `_async.py` with `httpx`.
Neither transport decides anything; they send, turn what came back into a `RawResponse` (or
their connection error into an `APIConnectionError`), and do what `RetryState` says.
"""

from __future__ import annotations

import json
import logging
import random
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, TypedDict

from requests.structures import CaseInsensitiveDict

from ridepledge.errors import (
    APIConnectionError,
    APITimeoutError,
    IdempotencyInProgressError,
    RidePledgeError,
    error_from_response,
    parse_retry_after,
)
from ridepledge.models import to_api

log = logging.getLogger("ridepledge")

# Besides connection errors and the in-progress 409: the answers that say "not now".
RETRYABLE_STATUSES = frozenset({429})  # and every 5xx


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
        check_call_options(self.timeout, self.max_retries)
        if self.backoff_initial < 0 or self.backoff_max < 0 or self.max_retry_after < 0:
            raise ValueError("backoff_initial, backoff_max and max_retry_after must be >= 0")
        if self.token_refresh_margin < 0:
            raise ValueError("token_refresh_margin must be >= 0")


class ClientOptions(TypedDict, total=False):
    """The settings both clients' constructors take as keywords (see `Client`)."""

    timeout: float
    max_retries: int
    backoff_initial: float
    backoff_max: float
    max_retry_after: float
    token_refresh_margin: float


def check_call_options(timeout: float | None, max_retries: int | None) -> None:
    """Refuse a timeout or retry count that makes no sense (per client or per call)."""
    if max_retries is not None and max_retries < 0:
        raise ValueError("max_retries must be 0 or more")
    if timeout is not None and timeout <= 0:
        raise ValueError("timeout must be positive")


@dataclass(frozen=True)
class RawResponse:
    """An answer as both transports hand it to the core: status, headers, body bytes."""

    status_code: int
    headers: CaseInsensitiveDict[str]
    content: bytes
    reason: str = ""
    encoding: str | None = None

    def json(self) -> Any:
        return json.loads(self.content)

    @property
    def text(self) -> str:
        return self.content.decode(self.encoding or "utf-8", errors="replace")


@dataclass
class PreparedRequest:
    """One logical call, ready to send (and to send again, byte for byte, on a retry)."""

    method: str
    url: str
    path: str
    params: dict[str, Any]
    headers: dict[str, str]
    content: bytes | None = None
    form: dict[str, str] | None = None
    basic_auth: tuple[str, str] | None = None
    authenticated: bool = True
    timeout: float = 30.0
    max_retries: int = 2


def new_idempotency_key() -> str:
    """A fresh key for one logical POST."""
    return f"rp-{uuid.uuid4()}"


def prepare(
    base_url: str,
    options: Options,
    method: str,
    path: str,
    *,
    user_agent: str,
    params: Mapping[str, Any] | None = None,
    json_body: Any = None,
    form: Mapping[str, str] | None = None,
    basic_auth: tuple[str, str] | None = None,
    accept: str = "application/json",
    idempotency_key: str | None = None,
    timeout: float | None = None,
    max_retries: int | None = None,
) -> PreparedRequest:
    """The request for one logical call. A call without `basic_auth` carries a bearer token
    (set on each try); such a POST carries an `Idempotency-Key`, the caller's or a new one,
    generated here once so that every retry of the call sends the same key."""
    check_call_options(timeout, max_retries)
    headers = {"Accept": accept, "User-Agent": user_agent}
    content: bytes | None = None
    if json_body is not None:
        # Encoded once: every retry sends the very same bytes, as idempotency requires.
        content = json.dumps(to_api(json_body), separators=(",", ":")).encode()
        headers["Content-Type"] = "application/json"
    authenticated = basic_auth is None
    if method == "POST" and authenticated:
        headers["Idempotency-Key"] = idempotency_key or new_idempotency_key()
    return PreparedRequest(
        method=method,
        url=base_url + path,
        path=path,
        params={k: v for k, v in (params or {}).items() if v is not None},
        headers=headers,
        content=content,
        form=dict(form) if form is not None else None,
        basic_auth=basic_auth,
        authenticated=authenticated,
        timeout=options.timeout if timeout is None else timeout,
        max_retries=options.max_retries if max_retries is None else max_retries,
    )


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


@dataclass(frozen=True)
class Decision:
    """What a transport does after a try: `return` the response, `refresh` the token and try
    again (not a retry), `retry` after `delay` seconds, or `raise` `error`."""

    action: Literal["return", "refresh", "retry", "raise"]
    delay: float = 0.0
    error: RidePledgeError | None = None


@dataclass
class RetryState:
    """The tries of one logical call and the decision after each."""

    request: PreparedRequest
    options: Options
    retries: int = 0
    refreshed_token: bool = False
    lost_answer: bool = False
    token: str | None = field(default=None, repr=False)

    def authorize(self, token: str | None) -> None:
        """Put the bearer token of this try on the request."""
        self.token = token
        if token is not None:
            self.request.headers["Authorization"] = f"Bearer {token}"

    def on_answer(self, response: RawResponse) -> Decision:
        """The decision after an answer arrived."""
        request = self.request
        if response.status_code < 300:
            return Decision("return")
        if request.method == "DELETE" and response.status_code == 404 and self.lost_answer:
            # An earlier try got no answer but did delete: the object is gone, which is what
            # the caller asked for.
            return Decision("return")
        if response.status_code == 401 and self.token and not self.refreshed_token:
            log.info("%s %s: 401, fetching a new token and trying again", *self._name())
            self.refreshed_token = True
            return Decision("refresh")
        return self._after_error(error_from_response(response))

    def on_no_answer(self, cause: BaseException, *, timed_out: bool) -> Decision:
        """The decision after a try got no answer (refused, dropped, timed out: `cause` is
        the transport's exception). The server may or may not have done the work, so only
        idempotent retries are safe; ours are."""
        self.lost_answer = True
        method, path = self._name()
        error: APIConnectionError
        detail = str(cause) or type(cause).__name__
        if timed_out:
            wait = self.request.timeout
            error = APITimeoutError(f"no answer from {method} {path} within {wait} s: {detail}")
        else:
            error = APIConnectionError(f"{method} {path} failed to connect or answer: {detail}")
        error.__cause__ = cause
        return self._after_error(error)

    def _after_error(self, error: RidePledgeError) -> Decision:
        retry_after = parse_retry_after(error.headers.get("Retry-After"))
        if self.retries >= self.request.max_retries or not is_retryable(error):
            return Decision("raise", error=error)
        if retry_after is not None and retry_after > self.options.max_retry_after:
            # The server wants us gone for longer than the caller would wait.
            return Decision("raise", error=error)
        self.retries += 1
        delay = backoff_delay(self.options, self.retries, retry_after)
        log.info(
            "%s %s: %s; retry %d of %d in %.2f s",
            *self._name(),
            error.message,
            self.retries,
            self.request.max_retries,
            delay,
        )
        return Decision("retry", delay=delay)

    def _name(self) -> tuple[str, str]:
        return self.request.method, self.request.path
