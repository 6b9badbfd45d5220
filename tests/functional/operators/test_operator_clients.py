"""Operators from the command line, their API clients and tokens, and the wall between the
partner API and the operator API (/v1/operator): each side's token opens only its own."""

from __future__ import annotations

import json
import re

from click.testing import CliRunner
from flask.cli import ScriptInfo

from tests.factories import make_operator
from tests.functional.oauth_helpers import ALL_SCOPES, bearer, get_token, new_client
from widget_server.cli import cli
from widget_server.domain.clients import create_client
from widget_server.domain.scopes import OPERATOR_SCOPES
from widget_server.extensions import db
from widget_server.models import AuditLogEntry, Operator

OPERATOR_SCOPE = " ".join(OPERATOR_SCOPES)


def _run(app, *args):
    result = CliRunner().invoke(cli, list(args), obj=ScriptInfo(create_app=lambda *a, **k: app))
    return result


def _operator_client(app, slug: str = "prairie-coach", scope: str = OPERATOR_SCOPE):
    with app.app_context(), db.transaction() as session:
        operator = session.query(Operator).filter_by(slug=slug).one_or_none()
        operator = operator or make_operator(session, slug)
        client, secret = create_client(session, operator, scope, "tests", actor="test")
        return client.id, secret


def test_operators_create_prints_id_and_slug_and_a_link_for_the_owner(app):
    result = _run(
        app,
        "operators",
        "create",
        "--name",
        "Prairie Coach",
        "--slug",
        "prairie-coach",
        "--email",
        "Owner@Prairie.example",
        "--regions",
        "ks, mo",
        "--usdot",
        "1234567",
        "--insurance-expires",
        "2031-06-30",
        "--stripe-account",
        "acct_1Nv0FGQ9RKHgCVdK",
    )
    assert result.exit_code == 0, result.output
    printed = json.loads(result.stdout)
    assert printed["slug"] == "prairie-coach" and printed["id"].startswith("op_")
    assert re.search(r"http://\S+/operator/password/set/\S+", result.stderr)
    with app.app_context():
        operator = db.session.get(Operator, printed["id"])
        assert operator.regions == ["KS", "MO"]
        assert str(operator.insurance_expires_on) == "2031-06-30"
        assert operator.stripe_account_id == "acct_1Nv0FGQ9RKHgCVdK"
        entries = db.session.query(AuditLogEntry).filter_by(operator_id=operator.id).all()
        assert {e.action for e in entries} == {"operator.created", "admin.created"}


def test_operators_create_refuses_bad_input_naming_the_option(app):
    base = ["operators", "create", "--name", "X", "--email", "x@x.example"]
    cases = {
        "--slug": ["--slug", "Not A Slug"],
        "--usdot": ["--slug", "a", "--usdot", "12ab"],
        "--regions": ["--slug", "b", "--regions", "Kansas"],
        "--insurance-expires": ["--slug", "c", "--insurance-expires", "99999-01-01"],
        "--stripe-account": ["--slug", "d", "--stripe-account", "nope"],
        "--password": ["--slug", "e", "--password", "short"],
        "--name": ["--slug", "f", "--name", "bad\x00name"],
    }
    for option, extra in cases.items():
        result = _run(app, *base, *extra)
        assert result.exit_code == 1, (option, result.output)
        assert option in result.stderr, (option, result.stderr)
    assert _run(app, *base, "--slug", "ok", "--password", "a long enough one").exit_code == 0
    again = _run(app, *base[:-1], "y@x.example", "--slug", "ok")
    assert again.exit_code == 1 and "exists already" in again.stderr
    same_owner = _run(app, *base, "--slug", "other")
    assert same_owner.exit_code == 1 and "already has a console account" in same_owner.stderr
    with app.app_context():  # nothing half-made
        assert db.session.query(Operator).filter_by(slug="other").one_or_none() is None


def test_clients_create_for_an_operator_takes_only_operator_scopes(app):
    with app.app_context(), db.transaction() as session:
        make_operator(session)
    ok = _run(app, "clients", "create", "--operator", "prairie-coach", "--scope", "requests:read")
    assert ok.exit_code == 0, ok.output
    created = json.loads(ok.stdout)
    assert created["client_secret"].startswith("sk_") and created["scope"] == "requests:read"
    partner_scope = _run(
        app, "clients", "create", "--operator", "prairie-coach", "--scope", "events:read"
    )
    assert partner_scope.exit_code == 1 and "unknown scope(s) events:read" in partner_scope.output
    unknown = _run(app, "clients", "create", "--operator", "nobody", "--scope", "requests:read")
    assert unknown.exit_code == 1
    both = _run(
        app, "clients", "create", "--operator", "a", "--partner", "b", "--scope", "requests:read"
    )
    assert both.exit_code == 2
    new_client(app)  # a partner
    operator_scope = _run(
        app, "clients", "create", "--partner", "kc-chiefs", "--scope", "requests:read"
    )
    assert operator_scope.exit_code == 1


def test_an_operator_token_opens_its_profile_and_nothing_of_the_partner_api(app, client):
    token = get_token(client, _operator_client(app))
    profile = client.get("/v1/operator/profile", headers=bearer(token))
    assert profile.status_code == 200, profile.get_data(as_text=True)
    assert profile.json["slug"] == "prairie-coach"
    assert profile.json["regions"] == ["KS", "MO"]
    assert profile.json["compliance"] == []
    assert "stripe_account_id" not in profile.json
    for path in ("/v1/partner", "/v1/events", "/v1/trips", "/v1/pledges"):
        refused = client.get(path, headers=bearer(token))
        assert refused.status_code == 403, path
        assert refused.headers["Content-Type"] == "application/problem+json"
        assert "operator" in refused.json["detail"]


def test_a_partner_token_does_not_open_the_operator_api(app, client):
    token = get_token(client, new_client(app, scope=ALL_SCOPES))
    refused = client.get("/v1/operator/profile", headers=bearer(token))
    assert refused.status_code == 403
    assert refused.headers["Content-Type"] == "application/problem+json"
    assert client.get("/v1/operator/profile").status_code == 401
    assert client.get("/v1/operator/profile", headers=bearer("at_forged")).status_code == 401


def test_an_operator_token_asks_only_for_its_scopes_and_introspects_as_the_operator(app, client):
    credentials = _operator_client(app, scope="requests:read payouts:read")
    asked = client.post(
        "/oauth/token",
        data={"grant_type": "client_credentials", "scope": "payouts:read"},
        auth=credentials,
    )
    assert asked.status_code == 200 and asked.json["scope"] == "payouts:read"
    more = client.post(
        "/oauth/token",
        data={"grant_type": "client_credentials", "scope": "quotes:write"},
        auth=credentials,
    )
    assert more.status_code == 400 and more.json["error"] == "invalid_scope"
    token = asked.json["access_token"]
    seen = client.post("/oauth/introspect", data={"token": token}, auth=credentials)
    assert seen.json["active"] is True and seen.json["operator"] == "prairie-coach"
    assert "partner" not in seen.json
    partner = new_client(app)
    other = client.post("/oauth/introspect", data={"token": token}, auth=partner)
    assert other.json == {"active": False}
    assert client.post("/oauth/revoke", data={"token": token}, auth=credentials).status_code == 200
    assert client.get("/v1/operator/profile", headers=bearer(token)).status_code == 401


def test_every_operator_operation_refuses_partners_and_wants_its_scope(app, client):
    """Over the OpenAPI document, so each helper's /v1/operator route is covered: a partner's
    token with every partner scope is refused (403), an operator's token without the
    operation's scope is refused (403), no token is 401."""
    spec = client.get("/v1/openapi.json").json
    partner_token = get_token(client, new_client(app, scope=ALL_SCOPES))
    operations = 0
    for path, item in spec["paths"].items():
        if not path.startswith("/v1/operator/"):
            continue
        for method, operation in item.items():
            if method not in ("get", "post", "patch", "delete", "put"):
                continue
            operations += 1
            # A well-formed id (a malformed one is 404 before any token is read).
            url = re.sub(r"\{(\w+)\}", "treq_01jd2x3y4z5a6b7c8d9e0f1g2h", path)
            wanted = {name for need in operation["security"] for name in need["oauth2"]}
            assert wanted <= set(OPERATOR_SCOPES), path
            call = getattr(client, method)
            assert call(url, json={}, headers=bearer(partner_token)).status_code == 403, path
            assert call(url, json={}).status_code == 401, path
            others = " ".join(sorted(set(OPERATOR_SCOPES) - wanted))
            if others:
                token = get_token(client, _operator_client(app, scope=others))
                lacking = call(url, json={}, headers=bearer(token))
                assert lacking.status_code == 403, (method, path)
    assert operations >= 1
