"""The authorization server: authlib's Flask server with the client credentials grant only,
RFC 7009 revocation and RFC 7662 introspection, over `domain.clients`.

Tokens are opaque random strings; only their SHA-256 is stored. Errors leave as problem+json
with RFC 6749's `error` members (see `oauth.errors`).
"""

from __future__ import annotations

from authlib.integrations.flask_oauth2 import AuthorizationServer
from authlib.oauth2 import OAuth2Error
from authlib.oauth2.rfc6749 import (
    ClientMixin,
    InvalidRequestError,
    InvalidScopeError,
    TokenMixin,
    grants,
)
from authlib.oauth2.rfc6750 import BearerTokenGenerator
from authlib.oauth2.rfc7009 import RevocationEndpoint
from authlib.oauth2.rfc7662 import IntrospectionEndpoint
from flask import Flask, current_app
from flask import request as flask_request

from widget_server.domain import clients
from widget_server.domain.clients import TokenLookup
from widget_server.domain.scopes import ALL_SCOPE_DESCRIPTIONS, scope_list
from widget_server.extensions import db
from widget_server.models import ApiClient
from widget_server.oauth.errors import basic_challenge, oauth_problem

GRANT_TYPE = "client_credentials"
AUTH_METHODS = ["client_secret_basic", "client_secret_post"]
TOKEN_LIFETIME = 3600  # seconds; no refresh tokens: a client asks again with its secret

INVALID_CLIENT_DETAIL = (
    "Client authentication failed: unknown client, wrong secret, or revoked client. "
    "Send client_id and client_secret with HTTP Basic or as form fields."
)


class OAuthClient(ClientMixin):
    """authlib's view of an `ApiClient` row; `row` is None for an unknown client id."""

    def __init__(self, row: ApiClient | None):
        self.row = row

    def get_client_id(self):
        return self.row.id

    def get_default_redirect_uri(self):
        return None

    def check_redirect_uri(self, redirect_uri):
        return False

    def check_response_type(self, response_type):
        return False

    def get_allowed_scope(self, scope):
        """The scope a token gets: what was asked (already checked), else all of the client's."""
        requested = scope_list(scope, ALL_SCOPE_DESCRIPTIONS)
        return " ".join(requested) if requested else self.row.scope

    def check_client_secret(self, client_secret):
        return clients.check_secret(self.row, client_secret)

    def check_endpoint_auth_method(self, method, endpoint):
        return method in AUTH_METHODS

    def check_grant_type(self, grant_type):
        return grant_type == GRANT_TYPE


class OAuthToken(TokenMixin):
    """authlib's view of a stored access token (with its client and partner)."""

    def __init__(self, found: TokenLookup):
        self.found = found

    def check_client(self, client):
        return self.found.client.id == client.row.id

    def get_scope(self):
        return self.found.token.scope

    def get_expires_in(self):
        return TOKEN_LIFETIME

    def is_expired(self):
        return self.found.expired

    def is_revoked(self):
        return self.found.revoked

    def get_client(self):
        return OAuthClient(self.found.client)

    def get_user(self):
        return None


class ClientCredentialsGrant(grants.ClientCredentialsGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = AUTH_METHODS

    def validate_requested_scope(self):
        """A subset of the client's scopes, else `invalid_scope` saying which are not."""
        requested = scope_list(self.request.payload.scope, ALL_SCOPE_DESCRIPTIONS)
        granted = self.request.client.row.scope.split()
        refused = [name for name in requested if name not in granted]
        if refused:
            raise InvalidScopeError(
                f"This client may not request {' '.join(refused)}; "
                f"its scopes are: {' '.join(granted)}."
            )


class _PartnerTokenEndpoint:
    """What revocation and introspection share: a client sees only its partner's (or its
    operator's) tokens."""

    CLIENT_AUTH_METHODS = AUTH_METHODS

    def check_params(self, request, client):
        # An unknown token_type_hint is ignored (RFC 7009 section 2.1): we have one type.
        if not request.form.get("token"):
            raise InvalidRequestError("Missing the 'token' form field.")

    def query_token(self, token_string, token_type_hint):
        found = clients.lookup_access_token(db.session, token_string)
        return OAuthToken(found) if found is not None else None

    def check_permission(self, token, client, request):
        found = token.found.token
        return (found.partner_id, found.operator_id) == (
            client.row.partner_id,
            client.row.operator_id,
        )


class Revocation(_PartnerTokenEndpoint, RevocationEndpoint):
    def authenticate_token(self, request, client):
        """Another partner's token is answered like an unknown one: 200, nothing revoked."""
        self.check_params(request, client)
        token = self.query_token(request.form["token"], request.form.get("token_type_hint"))
        if token is not None and self.check_permission(token, client, request):
            return token
        return None

    def revoke_token(self, token, request):
        clients.revoke_access_token(
            db.session, token.found.token, actor=f"client:{request.client.row.id}"
        )


class Introspection(_PartnerTokenEndpoint, IntrospectionEndpoint):
    def introspect_token(self, token):
        found = token.found
        return {
            "active": True,
            "scope": found.token.scope,
            "client_id": found.client.id,
            "token_type": "Bearer",  # the RFC 6750 token type  # nosec B105
            "exp": int(found.token.expires_at.timestamp()),
            "iat": int(found.token.issued_at.timestamp()),
            "sub": found.tenant.id,
            "iss": _issuer(),
            # "partner": the partner's slug; an operator's token names "operator" instead.
            ("operator" if found.operator is not None else "partner"): found.tenant.slug,
        }


class RidePledgeAuthorizationServer(AuthorizationServer):
    """authlib's server with our storage, token format and problem+json errors."""

    def load_config(self, config):
        self.register_token_generator(
            "default",
            BearerTokenGenerator(
                access_token_generator=lambda **_: clients.new_access_token(),
                refresh_token_generator=None,
                expires_generator=TOKEN_LIFETIME,
            ),
        )
        self.scopes_supported = list(ALL_SCOPE_DESCRIPTIONS)

    def query_client(self, client_id):
        # Unknown ids get a stand-in that fails the secret check at the same cost.
        return OAuthClient(db.session.get(ApiClient, client_id))

    def save_token(self, token, request):
        clients.store_access_token(
            db.session,
            request.client.row,
            token["access_token"],
            token.get("scope", request.client.row.scope),
            token["expires_in"],
        )

    def authenticate_client(self, request, methods, endpoint="token"):
        client = super().authenticate_client(request, methods, endpoint)
        clients.touch_client(client.row)
        return client

    def create_token_response(self, request=None):
        if not flask_request.form.get("grant_type"):
            error = InvalidRequestError("Missing the 'grant_type' form field.")
            return self.handle_error_response(None, error)
        return self._answering_errors(super().create_token_response, request)

    def create_endpoint_response(self, name, request=None):
        return self._answering_errors(super().create_endpoint_response, name, request)

    def _answering_errors(self, respond, *args):
        # authlib turns most OAuth2Errors into responses itself, but not those raised while
        # it reads the request (such as insecure_transport).
        try:
            return respond(*args)
        except OAuth2Error as error:
            return self.handle_error_response(None, error)

    def handle_response(self, status_code, payload, headers):
        response = super().handle_response(status_code, payload, headers)
        response.headers["Cache-Control"] = "no-store"
        return response

    def handle_error_response(self, request, error):
        description = error.get_error_description() or ""
        if error.error == "invalid_client":
            return oauth_problem(
                401,
                "invalid_client",
                INVALID_CLIENT_DETAIL,
                headers={"WWW-Authenticate": basic_challenge()},
            )
        if error.error == "insecure_transport":
            description = "The OAuth endpoints answer over HTTPS only."
        return oauth_problem(400, error.error, description or _default_description(error))


def _default_description(error: OAuth2Error) -> str:
    return {
        "invalid_request": "The request is missing a required parameter or is malformed.",
        "invalid_scope": "The requested scope is invalid or exceeds the client's scopes.",
    }.get(error.error, error.error.replace("_", " ").capitalize() + ".")


def _issuer() -> str:
    return current_app.config["SETTINGS"].public_base_url


def create_server(app: Flask) -> RidePledgeAuthorizationServer:
    """The app's authorization server, with the one grant and two endpoints we offer."""
    server = RidePledgeAuthorizationServer()
    server.init_app(app)
    server.register_grant(ClientCredentialsGrant)
    server.register_endpoint(Revocation)
    server.register_endpoint(Introspection)
    return server
