"""Bearer-token protection of API views (RFC 6750), with authlib's ResourceProtector.

    @blp.route("/events")
    class Events(MethodView):
        @require_scope("events:read")
        def get(self): ...   # g.partner, g.client_id, g.token_scopes are set

No token: 401 `WWW-Authenticate: Bearer realm="ridepledge"`. Unknown, expired or revoked token
(or a revoked client): 401 with `error="invalid_token"`. Token without the scope: 403 with
`error="insufficient_scope", scope="..."`. Every refusal is problem+json.
"""

from __future__ import annotations

from functools import wraps

from authlib.integrations.flask_oauth2 import ResourceProtector
from authlib.oauth2 import OAuth2Error
from authlib.oauth2.rfc6749 import MissingAuthorizationError
from authlib.oauth2.rfc6750 import BearerTokenValidator, InsufficientScopeError, InvalidTokenError
from flask import Response, abort, g, request

from widget_server.domain import clients
from widget_server.domain.clients import TokenLookup
from widget_server.domain.scopes import SCOPE_DESCRIPTIONS, unknown_scopes
from widget_server.extensions import db
from widget_server.oauth.errors import REALM, bearer_challenge, oauth_problem

SECURITY_SCHEMES = {
    "oauth2": {
        "type": "oauth2",
        "description": (
            "OAuth 2.0 client credentials: exchange your client_id and client_secret at "
            "`POST /oauth/token` for a bearer token (valid 1 hour), then send "
            "`Authorization: Bearer <token>`."
        ),
        "flows": {
            "clientCredentials": {"tokenUrl": "/oauth/token", "scopes": dict(SCOPE_DESCRIPTIONS)}
        },
    }
}


class _HashedTokenValidator(BearerTokenValidator):
    """Finds tokens by their SHA-256 and says why one is refused."""

    def authenticate_token(self, token_string: str) -> TokenLookup | None:
        return clients.lookup_access_token(db.session, token_string.strip())

    def validate_token(self, token: TokenLookup | None, scopes, request) -> None:
        if token is None:
            raise InvalidTokenError("The access token is not valid.")
        if token.client.revoked_at is not None:
            raise InvalidTokenError("The API client of this access token has been revoked.")
        if token.revoked:
            raise InvalidTokenError("The access token has been revoked.")
        if token.expired:
            raise InvalidTokenError("The access token has expired; request a new one.")
        if self.scope_insufficient(token.token.scope, scopes):
            raise InsufficientScopeError()


_protector = ResourceProtector()
_protector.register_token_validator(_HashedTokenValidator(realm=REALM))


def bearer_token_hash() -> str | None:
    """The stored form (SHA-256) of the request's bearer token, without checking it; None when
    there is none. For per-client bookkeeping (rate-limit keys, idempotency) before the view
    authenticates the request."""
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return clients.hash_token(token.strip())


def require_scope(scope: str):
    """Decorator: the request must carry an active bearer token with `scope` (several
    space-separated scopes: all of them). Sets `g.partner`, `g.client_id`, `g.token_scopes`."""
    unknown = unknown_scopes(scope)
    if unknown or not scope.strip():
        raise ValueError(f"require_scope: not scopes of this API: {scope!r}")

    def decorator(view):
        @wraps(view)
        def guarded(*args, **kwargs):
            try:
                found: TokenLookup = _protector.acquire_token([scope])
            except OAuth2Error as error:
                abort(_refusal(error, scope))
            g.partner = found.partner
            g.client_id = found.client.id
            g.token_scopes = found.scopes
            return view(*args, **kwargs)

        return guarded

    return decorator


def _refusal(error: OAuth2Error, scope: str) -> Response:
    if isinstance(error, MissingAuthorizationError):
        return oauth_problem(
            401,
            None,
            "This request needs an access token: send 'Authorization: Bearer <token>' "
            "(get a token from POST /oauth/token).",
            title="Authentication required",
            headers={"WWW-Authenticate": bearer_challenge()},
        )
    if isinstance(error, InsufficientScopeError):
        return oauth_problem(
            403,
            "insufficient_scope",
            f"This request needs the '{scope}' scope, which the access token does not have.",
            headers={
                "WWW-Authenticate": bearer_challenge("insufficient_scope", scope=scope),
            },
        )
    if isinstance(error, InvalidTokenError):
        description = error.get_error_description()
    else:  # an Authorization header of another scheme, or "Bearer" without a token
        description = "The Authorization header must be 'Bearer <token>'."
    return oauth_problem(
        401,
        "invalid_token",
        description,
        headers={"WWW-Authenticate": bearer_challenge("invalid_token", description)},
    )
