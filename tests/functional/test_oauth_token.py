"""OAuth 2.0: the client credentials grant (the token endpoint), metadata, how secrets and tokens
are stored, the flow over real HTTP, and the `ridepledge clients` commands."""

from __future__ import annotations

import hashlib
import json
from datetime import timedelta

import pytest
import requests
from authlib.oauth2.rfc8414 import AuthorizationServerMetadata
from sqlalchemy import select, text

from tests.factories import make_partner
from tests.functional import oauth_helpers
from tests.functional.oauth_helpers import (
    ALL_SCOPES,
    EVENTS,
    GRANT,
    ROOT,
    assert_oauth_problem,
    bearer,
    get_token,
    new_client,
)
from widget_server.cli import cli
from widget_server.domain.scopes import OPERATOR_SCOPES, SCOPES
from widget_server.extensions import db
from widget_server.models import AccessToken, ApiClient
from widget_server.oauth.routes import metadata_document

# The fixtures of oauth_helpers, made visible to this module's tests.
protected = oauth_helpers.protected


# -- token endpoint ----------------------------------------------------------------------------


def test_token_with_basic_auth(app, client):
    credentials = new_client(app, scope="events:read trips:read")
    response = client.post("/oauth/token", data=GRANT, auth=credentials)
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/json"
    assert response.headers["Cache-Control"] == "no-store"
    body = response.json
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 3600
    assert body["scope"] == "events:read trips:read"  # nothing asked: all the client's scopes
    assert "refresh_token" not in body
    assert body["access_token"].startswith("at_") and len(body["access_token"]) > 40
    with app.app_context():
        stored = db.session.get(ApiClient, credentials[0])
        assert stored.last_used_at is not None
        token = db.session.scalar(select(AccessToken))
        assert token.client_id == credentials[0]
        assert token.expires_at - token.issued_at == timedelta(seconds=3600)


def test_token_with_form_credentials(app, client):
    client_id, secret = new_client(app)
    response = client.post(
        "/oauth/token", data={**GRANT, "client_id": client_id, "client_secret": secret}
    )
    assert response.status_code == 200
    assert response.json["scope"] == ALL_SCOPES


def test_wrong_secret_is_invalid_client(app, client):
    client_id, _ = new_client(app)
    response = client.post("/oauth/token", data=GRANT, auth=(client_id, "sk_wrong"))
    assert_oauth_problem(response, 401, "invalid_client")
    assert response.headers["WWW-Authenticate"] == 'Basic realm="ridepledge"'

    form = {**GRANT, "client_id": client_id, "client_secret": "sk_wrong"}
    assert_oauth_problem(client.post("/oauth/token", data=form), 401, "invalid_client")


def test_unknown_client_looks_like_a_wrong_secret(app, client):
    client_id, _ = new_client(app)
    wrong = client.post("/oauth/token", data=GRANT, auth=(client_id, "sk_wrong")).json
    unknown = client.post("/oauth/token", data=GRANT, auth=("cli_nobody", "sk_wrong"))
    body = assert_oauth_problem(unknown, 401, "invalid_client")
    assert body["detail"] == wrong["detail"]
    missing = client.post("/oauth/token", data=GRANT)
    assert_oauth_problem(missing, 401, "invalid_client")


def test_unsupported_grant_type_and_missing_grant_type(app, client):
    credentials = new_client(app)
    response = client.post("/oauth/token", data={"grant_type": "password"}, auth=credentials)
    assert "password" in assert_oauth_problem(response, 400, "unsupported_grant_type")["detail"]
    response = client.post("/oauth/token", data={}, auth=credentials)
    assert "grant_type" in assert_oauth_problem(response, 400, "invalid_request")["detail"]
    as_json = client.post("/oauth/token", json=GRANT, auth=credentials)  # OAuth is form-encoded
    assert_oauth_problem(as_json, 400, "invalid_request")


def test_scope_subset_is_granted_and_escalation_is_invalid_scope(protected, client):
    credentials = new_client(protected, scope="events:read events:write")
    token = get_token(client, credentials, scope="events:read")
    assert client.get(EVENTS, headers=bearer(token)).status_code == 200
    assert client.post(EVENTS, headers=bearer(token)).status_code == 403

    escalation = client.post(
        "/oauth/token", data={**GRANT, "scope": "events:read trips:write"}, auth=credentials
    )
    body = assert_oauth_problem(escalation, 400, "invalid_scope")
    assert "trips:write" in body["detail"]
    unknown = client.post("/oauth/token", data={**GRANT, "scope": "admin"}, auth=credentials)
    assert_oauth_problem(unknown, 400, "invalid_scope")
    with protected.app_context():
        assert db.session.scalar(select(text("count(*)")).select_from(AccessToken)) == 1


def test_token_endpoint_answers_only_post_and_never_html(client):
    response = client.get("/oauth/token")
    assert response.status_code == 405
    assert response.headers["Content-Type"] == "application/problem+json"


def test_token_endpoint_refuses_plain_http_off_loopback(app, client):
    credentials = new_client(app)
    response = client.post(
        "/oauth/token", data=GRANT, auth=credentials, base_url="http://api.example.com"
    )
    assert_oauth_problem(response, 400, "insecure_transport")
    secure = client.post(
        "/oauth/token", data=GRANT, auth=credentials, base_url="https://api.example.com"
    )
    assert secure.status_code == 200


def test_token_endpoint_is_rate_limited(app, client):
    app.config["RATELIMIT_OAUTH"] = "2 per minute"
    for _ in range(2):
        client.post("/oauth/token", data=GRANT, auth=("cli_x", "sk_x"))
    response = client.post("/oauth/token", data=GRANT, auth=("cli_x", "sk_x"))
    assert response.status_code == 429
    assert response.headers["Content-Type"] == "application/problem+json"


# -- metadata ----------------------------------------------------------------------------------


def test_authorization_server_metadata(client):
    response = client.get("/.well-known/oauth-authorization-server")
    assert response.status_code == 200
    base = "http://127.0.0.1:8000"
    methods = ["client_secret_basic", "client_secret_post"]
    assert response.json == {
        "issuer": base,
        "token_endpoint": f"{base}/oauth/token",
        "token_endpoint_auth_methods_supported": methods,
        "grant_types_supported": ["client_credentials"],
        "response_types_supported": ["none"],
        "scopes_supported": [*SCOPES, *OPERATOR_SCOPES],
        "revocation_endpoint": f"{base}/oauth/revoke",
        "revocation_endpoint_auth_methods_supported": methods,
        "introspection_endpoint": f"{base}/oauth/introspect",
        "introspection_endpoint_auth_methods_supported": methods,
        "service_documentation": f"{base}/docs",
    }


def test_authlib_metadata_validator_accepts_the_document(client, monkeypatch):
    """authlib's RFC 8414 validator, as partners' OAuth libraries run it, on the served document
    (a loopback http issuer, which RFC 8252 allows) and on a production-like https one."""
    monkeypatch.delenv("AUTHLIB_INSECURE_TRANSPORT", raising=False)
    served = client.get("/.well-known/oauth-authorization-server").json
    AuthorizationServerMetadata(served).validate()
    AuthorizationServerMetadata(metadata_document("https://rides.example.com")).validate()

    # The validator is not a rubber stamp: the document as it was (no response types) and an
    # http issuer on a public host are refused.
    with pytest.raises(ValueError, match="response_types_supported"):
        AuthorizationServerMetadata({**served, "response_types_supported": []}).validate()
    with pytest.raises(ValueError, match="https"):
        AuthorizationServerMetadata(metadata_document("http://rides.example.com")).validate()


def test_metadata_matches_what_the_endpoints_do(protected, client):
    """Every advertised client authentication method works at the token, revocation and
    introspection endpoints, and every advertised scope can be granted."""
    document = client.get("/.well-known/oauth-authorization-server").json
    # Partners' clients hold partner scopes; the rest are operators' (test_operator_clients).
    assert set(document["scopes_supported"]) == set(SCOPES) | set(OPERATOR_SCOPES)
    client_id, secret = new_client(protected, scope=" ".join(SCOPES))
    assert document["token_endpoint_auth_methods_supported"] == [
        "client_secret_basic",
        "client_secret_post",
    ]
    token = get_token(client, (client_id, secret))  # HTTP Basic
    posted = client.post(
        "/oauth/token", data={**GRANT, "client_id": client_id, "client_secret": secret}
    )
    assert posted.status_code == 200
    assert set(posted.json["scope"].split()) == set(SCOPES)
    introspected = client.post(
        "/oauth/introspect",
        data={"token": token, "client_id": client_id, "client_secret": secret},
    )
    assert introspected.status_code == 200 and introspected.json["active"] is True
    revoked = client.post("/oauth/revoke", data={"token": token}, auth=(client_id, secret))
    assert revoked.status_code == 200
    again = client.post("/oauth/introspect", data={"token": token}, auth=(client_id, secret))
    assert again.json["active"] is False


# -- storage -----------------------------------------------------------------------------------


def test_secrets_and_tokens_are_stored_only_as_hashes(app, client, migrated_engine):
    client_id, secret = new_client(app)
    token = get_token(client, (client_id, secret))
    client.post("/oauth/revoke", data={"token": token}, auth=(client_id, secret))
    with migrated_engine.connect() as connection:
        dump = "".join(
            repr(connection.execute(text(f"SELECT * FROM {table}")).all())  # noqa: S608
            for table in ("api_clients", "access_tokens", "audit_log")
        )
        stored_hash = connection.execute(text("SELECT token_hash FROM access_tokens")).scalar()
        secret_hash = connection.execute(text("SELECT secret_hash FROM api_clients")).scalar()
    assert client_id in dump
    assert secret not in dump and secret.removeprefix("sk_") not in dump
    assert token not in dump and token.removeprefix("at_") not in dump
    assert stored_hash == hashlib.sha256(token.encode()).hexdigest()
    assert secret_hash.startswith(("scrypt:", "pbkdf2:"))


# -- over a real HTTP server -------------------------------------------------------------------


def test_client_credentials_flow_over_http(protected, live_server):
    client_id, secret = new_client(protected, scope="events:read")
    base = live_server.url
    metadata = requests.get(f"{base}/.well-known/oauth-authorization-server", timeout=5).json()
    token_url = metadata["token_endpoint"].replace("http://127.0.0.1:8000", base)
    response = requests.post(token_url, data=GRANT, auth=(client_id, secret), timeout=5)
    assert response.status_code == 200
    token = response.json()["access_token"]

    events = requests.get(f"{base}{EVENTS}", headers=bearer(token), timeout=5)
    assert events.status_code == 200 and events.json()["partner"] == "kc-chiefs"
    denied = requests.post(f"{base}{EVENTS}", headers=bearer(token), timeout=5)
    assert denied.status_code == 403
    assert 'error="insufficient_scope"' in denied.headers["WWW-Authenticate"]

    wrong = requests.post(token_url, data=GRANT, auth=(client_id, "sk_wrong"), timeout=5)
    assert wrong.status_code == 401
    assert wrong.headers["Content-Type"] == "application/problem+json"
    assert wrong.headers["WWW-Authenticate"] == 'Basic realm="ridepledge"'
    assert wrong.json()["error"] == "invalid_client"

    revoke = requests.post(
        f"{base}/oauth/revoke", data={"token": token}, auth=(client_id, secret), timeout=5
    )
    assert revoke.status_code == 200
    after = requests.get(f"{base}{EVENTS}", headers=bearer(token), timeout=5)
    assert after.status_code == 401
    assert after.headers["WWW-Authenticate"].startswith('Bearer realm="ridepledge"')


# -- CLI ---------------------------------------------------------------------------------------


def test_cli_clients_create_prints_json_once_and_the_secret_authenticates(app, client):
    with app.app_context(), db.transaction() as session:
        make_partner(session, "demo")
    result = app.test_cli_runner().invoke(
        cli,
        ["clients", "create", "--partner", "demo", "--scope", "trips:read events:read"],
    )
    assert result.exit_code == 0, result.output
    created = json.loads(result.stdout)  # stdout is exactly one JSON object
    assert set(created) == {"client_id", "client_secret", "scope"}
    assert created["scope"] == "events:read trips:read"
    assert created["client_id"].startswith("cli_")
    assert created["client_secret"].startswith("sk_")
    assert result.output.count(created["client_secret"]) == 1

    credentials = (created["client_id"], created["client_secret"])
    token = client.post("/oauth/token", data=GRANT, auth=credentials)
    assert token.status_code == 200 and token.json["scope"] == "events:read trips:read"


def test_cli_clients_create_refuses_unknown_partner_and_bad_scope(app):
    with app.app_context(), db.transaction() as session:
        make_partner(session, "demo")
    runner = app.test_cli_runner()
    nobody = runner.invoke(cli, ["clients", "create", "--partner", "nobody", "--scope", "x"])
    assert nobody.exit_code == 1
    assert nobody.stdout == "" and "nobody" in nobody.stderr
    bad = runner.invoke(
        cli, ["clients", "create", "--partner", "demo", "--scope", "events:read everything"]
    )
    assert bad.exit_code == 1
    assert bad.stdout == "" and "everything" in bad.stderr and "events:read" in bad.stderr
    with app.app_context():
        assert db.session.scalars(select(ApiClient)).all() == []


def test_cli_clients_list_and_revoke(app, client):
    client_id, secret = new_client(app, "demo")
    token = get_token(client, (client_id, secret))
    runner = app.test_cli_runner()
    listed = json.loads(runner.invoke(cli, ["clients", "list", "--partner", "demo"]).stdout)
    assert [row["client_id"] for row in listed] == [client_id]
    assert listed[0]["revoked_at"] is None and listed[0]["last_used_at"] is not None
    assert secret not in json.dumps(listed)

    revoked = runner.invoke(cli, ["clients", "revoke", client_id])
    assert revoked.exit_code == 0, revoked.output
    assert "1 live token" in revoked.stdout
    again = runner.invoke(cli, ["clients", "revoke", client_id])
    assert again.exit_code == 0 and "already revoked" in again.stdout
    unknown = runner.invoke(cli, ["clients", "revoke", "cli_nobody"])
    assert unknown.exit_code == 1 and "cli_nobody" in unknown.stderr

    introspection = client.post(
        "/oauth/introspect", data={"token": token}, auth=(client_id, secret)
    )
    assert introspection.status_code == 401  # a revoked client cannot even ask
    listed = json.loads(runner.invoke(cli, ["clients", "list", "--partner", "demo"]).stdout)
    assert listed[0]["revoked_at"] is not None


def test_demo_shows_working_api_credentials_on_every_run(app, client):
    runner = app.test_cli_runner()
    args = ["demo", "--no-serve", "--partners", str(ROOT / "partner_config")]
    first = runner.invoke(cli, args)
    assert first.exit_code == 0, first.output

    def credentials(output: str) -> dict:
        line = next(x for x in output.splitlines() if "client_id=" in x)
        return dict(part.split("=", 1) for part in line.split()[-2:])

    fields = credentials(first.stdout)
    token = client.post(
        "/oauth/token", data=GRANT, auth=(fields["client_id"], fields["client_secret"])
    )
    assert token.status_code == 200 and token.json["scope"] == ALL_SCOPES

    # A second run, and `ridepledge demo credentials`, show the same client again.
    second = runner.invoke(cli, args)
    assert second.exit_code == 0, second.output
    assert credentials(second.stdout) == fields
    shown = runner.invoke(cli, ["demo", "credentials"])
    assert shown.exit_code == 0 and credentials(shown.stdout) == fields
    with app.app_context():
        assert len(db.session.scalars(select(ApiClient)).all()) == 1

    # Revoked in the console: not shown as if it worked; the next run makes a new one.
    assert runner.invoke(cli, ["clients", "revoke", fields["client_id"]]).exit_code == 0
    assert "revoked in the console" in runner.invoke(cli, ["demo", "credentials"]).stdout
    third = runner.invoke(cli, args)
    assert credentials(third.stdout)["client_id"] != fields["client_id"]
