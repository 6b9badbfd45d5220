"""The authorization server's HTTP endpoints: token, revocation, introspection, metadata."""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify

from widget_server.domain.scopes import ALL_SCOPE_DESCRIPTIONS
from widget_server.extensions import db
from widget_server.oauth.server import AUTH_METHODS, GRANT_TYPE
from widget_server.ratelimits import oauth_limits

bp = Blueprint("oauth", __name__)


def _server():
    return current_app.extensions["ridepledge.oauth"]


@bp.post("/oauth/token")
@oauth_limits
def token():
    """RFC 6749 section 4.4: a bearer token for a client's own credentials."""
    with db.transaction():
        return _server().create_token_response()


@bp.post("/oauth/revoke")
@oauth_limits
def revoke():
    """RFC 7009: revoke one of the partner's tokens; unknown tokens answer 200 too."""
    with db.transaction():
        return _server().create_endpoint_response("revocation")


@bp.post("/oauth/introspect")
@oauth_limits
def introspect():
    """RFC 7662: whether a token of the caller's partner is active, and what it may do."""
    with db.transaction():
        return _server().create_endpoint_response("introspection")


# RFC 8414 section 2 makes `response_types_supported` REQUIRED even for a server without an
# authorization endpoint. "none" (OAuth 2.0 Multiple Response Type Encoding Practices, in
# IANA's registry) is the one honest value: no authorization response ever carries a code or a
# token here, because the only grant is client credentials at the token endpoint.
RESPONSE_TYPES = ["none"]


def metadata_document(base: str) -> dict:
    """RFC 8414 authorization server metadata for a server at `base` (the issuer)."""
    return {
        "issuer": base,
        "token_endpoint": f"{base}/oauth/token",
        "token_endpoint_auth_methods_supported": AUTH_METHODS,
        "grant_types_supported": [GRANT_TYPE],
        "response_types_supported": RESPONSE_TYPES,
        "scopes_supported": list(ALL_SCOPE_DESCRIPTIONS),
        "revocation_endpoint": f"{base}/oauth/revoke",
        "revocation_endpoint_auth_methods_supported": AUTH_METHODS,
        "introspection_endpoint": f"{base}/oauth/introspect",
        "introspection_endpoint_auth_methods_supported": AUTH_METHODS,
        "service_documentation": f"{base}/docs",
    }


@bp.get("/.well-known/oauth-authorization-server")
def metadata():
    """RFC 8414 authorization server metadata."""
    response = jsonify(metadata_document(current_app.config["SETTINGS"].public_base_url))
    response.cache_control.public = True
    response.cache_control.max_age = 3600
    return response
