"""Bearer-token protection of API views (RFC 6750), with authlib's ResourceProtector.

    @blp.route("/events")
    class Events(MethodView):
        @require_scope("events:read")
        def get(self): ...   # g.partner, g.client_id, g.token_scopes are set

Partner routes take partner clients' tokens; `/v1/operator` routes (`operator=True`) take
operator clients' tokens: the other side's token is a 403 problem saying which API it is for.
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
from widget_server.domain.scopes import ALL_SCOPE_DESCRIPTIONS, scopes_of, unknown_scopes
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
            "clientCredentials": {
                "tokenUrl": "/oauth/token",
                "scopes": dict(ALL_SCOPE_DESCRIPTIONS),
            }
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


def require_scope(scope: str | None, *, operator: bool = False):
    """Decorator: the request must carry an active bearer token of a partner's client (with
    `operator`, of an operator's client) with `scope` (several space-separated scopes: all of
    them; None, operator routes only: any of the operator's scopes). Sets `g.partner` (None
    for an operator), `g.operator` (None for a partner), `g.client_id`, `g.token_scopes`."""
    known = scopes_of(operator)
    if scope is None and not operator:
        raise ValueError("require_scope: partner routes name their scope")
    if scope is not None and (unknown_scopes(scope, known) or not scope.strip()):
        raise ValueError(f"require_scope: not scopes of this API: {scope!r}")

    def decorator(view):
        @wraps(view)
        def guarded(*args, **kwargs):
            try:
                found: TokenLookup = _protector.acquire_token()
            except OAuth2Error as error:
                abort(_refusal(error, scope or ""))
            if (found.operator is not None) != operator:
                abort(_wrong_side(operator))
            if scope is not None and not set(scope.split()) <= found.scopes:
                abort(_refusal(InsufficientScopeError(), scope))
            g.partner = found.partner
            g.operator = found.operator
            g.client_id = found.client.id
            g.token_scopes = found.scopes
            return view(*args, **kwargs)

        return guarded

    return decorator


def _wrong_side(operator_route: bool) -> Response:
    """A valid token of the other side's client: partners' tokens open the partner API only,
    operators' tokens `/v1/operator` only."""
    if operator_route:
        description = "This API is for operators' clients; this token is a partner client's."
    else:
        description = (
            "This token is an operator client's: it opens only the operator API (/v1/operator)."
        )
    return oauth_problem(
        403,
        "insufficient_scope",
        description,
        headers={"WWW-Authenticate": bearer_challenge("insufficient_scope")},
    )


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
