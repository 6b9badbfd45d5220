"""OAuth errors as RFC 9457 problem details that also carry RFC 6749's `error` members.

A client library that knows only OAuth reads `error` and `error_description`; one that knows
problem details reads `type`, `title` and `detail`. Both find what they expect.
"""

from __future__ import annotations

from flask import Response

from widget_server.problems import problem

REALM = "ridepledge"

TITLES = {
    "invalid_request": "Invalid request",
    "invalid_client": "Client authentication failed",
    "invalid_grant": "Invalid grant",
    "unauthorized_client": "Unauthorized client",
    "unsupported_grant_type": "Unsupported grant type",
    "unsupported_token_type": "Unsupported token type",  # a message  # nosec B105
    "invalid_scope": "Invalid scope",
    "insecure_transport": "HTTPS required",
    "invalid_token": "Invalid access token",  # a message  # nosec B105
    "insufficient_scope": "Insufficient scope",
}

#: What a failed response must not be cached as (RFC 6749 section 5.2 sends these too).
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


def oauth_problem(
    status: int,
    error: str | None,
    description: str,
    *,
    title: str | None = None,
    headers: dict | None = None,
) -> Response:
    """A problem+json response; with `error`, also RFC 6749's `error`/`error_description`."""
    return problem(
        status,
        title or TITLES.get(error or "", "Unauthorized"),
        description,
        type_=(error or "authentication-required").replace("_", "-"),
        headers={**NO_STORE, **(headers or {})},
        extra={"error": error, "error_description": description} if error else None,
    )


def bearer_challenge(
    error: str | None = None, description: str | None = None, scope: str | None = None
) -> str:
    """A `WWW-Authenticate: Bearer ...` value (RFC 6750 section 3)."""
    params = [f'realm="{REALM}"']
    if error:
        params.append(f'error="{error}"')
    if description:
        params.append(f'error_description="{_quotable(description)}"')
    if scope:
        params.append(f'scope="{scope}"')
    return "Bearer " + ", ".join(params)


def basic_challenge() -> str:
    """The `WWW-Authenticate` value of a failed client authentication."""
    return f'Basic realm="{REALM}"'


def _quotable(text: str) -> str:
    return text.replace("\\", "").replace('"', "'")
