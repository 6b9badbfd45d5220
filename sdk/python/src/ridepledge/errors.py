"""Errors raised by the SDK.

Every error is a `RidePledgeError`. Errors the API answered carry its RFC 9457 problem: the
HTTP `status`, the problem `type` (and its last segment as `code`, e.g. ``"sold-out"``),
`title`, `detail`, the per-field `errors` of a validation problem and the `request_id` to
quote to support. Connection failures and timeouts have no status.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any, Protocol

from requests.structures import CaseInsensitiveDict

__all__ = [
    "APIConnectionError",
    "APITimeoutError",
    "AuthenticationError",
    "BadRequestError",
    "ConflictError",
    "IdempotencyInProgressError",
    "IdempotencyKeyReusedError",
    "NotFoundError",
    "PermissionDeniedError",
    "RateLimitError",
    "RidePledgeError",
    "ServerError",
    "SoldOutError",
    "ValidationError",
    "error_from_response",
]


class ResponseLike(Protocol):
    """What error mapping reads of an answer (the core's `RawResponse`, a `requests.Response`)."""

    @property
    def status_code(self) -> int: ...
    @property
    def headers(self) -> Mapping[str, str]: ...
    @property
    def reason(self) -> str: ...
    @property
    def text(self) -> str: ...
    def json(self) -> Any: ...


class RidePledgeError(Exception):
    """Base class of every error the SDK raises."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        type: str | None = None,  # noqa: A002 (the problem member is called `type`)
        title: str | None = None,
        detail: str | None = None,
        errors: Mapping[str, list[str]] | None = None,
        request_id: str | None = None,
        headers: Mapping[str, str] | None = None,
        body: Any = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.type = type
        self.title = title
        self.detail = detail
        self.errors: dict[str, list[str]] = dict(errors or {})
        self.request_id = request_id
        self.headers: CaseInsensitiveDict[str] = CaseInsensitiveDict(headers or {})
        self.body = body

    @property
    def code(self) -> str | None:
        """The problem type's last segment, e.g. ``"sold-out"`` or ``"validation-error"``."""
        return self.type.rstrip("/").rsplit("/", 1)[-1] if self.type else None

    def __str__(self) -> str:
        text = self.message
        if self.errors:
            fields = "; ".join(f"{name}: {' '.join(msgs)}" for name, msgs in self.errors.items())
            if fields not in text:  # a one-field problem often says it in `detail` already
                text = f"{text} ({fields})"
        if self.request_id:
            text = f"{text} [request {self.request_id}]"
        return text

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(status={self.status!r}, code={self.code!r}, {self.message!r})"
        )


class APIConnectionError(RidePledgeError):
    """No answer: the connection failed or was dropped (after the configured retries)."""


class APITimeoutError(APIConnectionError):
    """No answer within the timeout (after the configured retries)."""


class BadRequestError(RidePledgeError):
    """400: a malformed request (also OAuth's `invalid_scope`, `invalid_request`)."""


class AuthenticationError(RidePledgeError):
    """401: wrong or revoked client credentials, or a token the server refused twice."""


class PermissionDeniedError(RidePledgeError):
    """403: the credentials lack the scope this call needs."""


class NotFoundError(RidePledgeError):
    """404: no such object, or it belongs to another partner."""


class ConflictError(RidePledgeError):
    """409: not allowed in the object's current state (e.g. ``illegal-transition``)."""


class SoldOutError(ConflictError):
    """409 ``sold-out``: the seats are not there."""


class IdempotencyInProgressError(ConflictError):
    """409 ``idempotency-in-progress``: a request with this key is still running (retried)."""


class ValidationError(RidePledgeError):
    """422: invalid input; `errors` maps each field (dotted, e.g. ``stops.0.name``) to messages."""


class IdempotencyKeyReusedError(ValidationError):
    """422 ``idempotency-key-reused``: this key was used with a different request."""


class RateLimitError(RidePledgeError):
    """429: too many requests; `retry_after` is the server's wait in seconds, if it said."""

    @property
    def retry_after(self) -> float | None:
        return parse_retry_after(self.headers.get("Retry-After"))


class ServerError(RidePledgeError):
    """5xx: the server failed (after the configured retries)."""


_BY_STATUS: dict[int, type[RidePledgeError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    409: ConflictError,
    422: ValidationError,
    429: RateLimitError,
}
_BY_CODE: dict[str, type[RidePledgeError]] = {
    "sold-out": SoldOutError,
    "idempotency-in-progress": IdempotencyInProgressError,
    "idempotency-key-reused": IdempotencyKeyReusedError,
}


def error_class(status: int, code: str | None) -> type[RidePledgeError]:
    """The most specific error class for an HTTP status and problem code."""
    base = ServerError if status >= 500 else _BY_STATUS.get(status, RidePledgeError)
    special = _BY_CODE.get(code or "")
    return special if special is not None and issubclass(special, base) else base


def error_from_response(response: ResponseLike) -> RidePledgeError:
    """The error for a non-2xx answer, read from its problem+json body when it has one."""
    try:
        body: Any = response.json()
    except ValueError:
        body = None
    problem = body if isinstance(body, dict) else {}
    type_ = problem.get("type") if isinstance(problem.get("type"), str) else None
    code = type_.rstrip("/").rsplit("/", 1)[-1] if type_ else None
    title = problem.get("title") or response.reason or f"HTTP {response.status_code}"
    detail = problem.get("detail") or problem.get("error_description")
    if detail is None and body is None:
        detail = response.text[:500] or None
    errors = problem.get("errors") if isinstance(problem.get("errors"), dict) else None
    request_id = problem.get("request_id") or response.headers.get("X-Request-Id")
    message = f"{response.status_code} {title}" + (f": {detail}" if detail else "")
    cls = error_class(response.status_code, code)
    return cls(
        message,
        status=response.status_code,
        type=type_,
        title=title,
        detail=detail,
        errors=errors,
        request_id=request_id,
        headers=dict(response.headers),
        body=body if body is not None else response.text,
    )


def parse_retry_after(value: str | None) -> float | None:
    """`Retry-After` in seconds: delta-seconds or an HTTP date (RFC 9110 section 10.2.3)."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())
