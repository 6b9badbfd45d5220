"""Security headers on every response family, checked over the whole URL map (every rule and
method, with real ids so that views answer for real), plus the cases that need their own data."""

from __future__ import annotations

import re

import pytest
import requests

from tests.api_helpers import issue_token
from tests.factories import make_partner, make_trip
from widget_server.domain.logos import clean_logo, set_logo
from widget_server.extensions import db
from widget_server.fan.links import manage_token
from widget_server.ids import new_id

# Families that exist today; routes added later under a new first path segment are checked too.
FAMILIES = {"v1", "oauth", ".well-known", "w", "embed.js", "", "docs", "healthz", "stripe"}


@pytest.fixture
def world(app, client):
    with app.app_context(), db.transaction() as session:
        partner = make_partner(session, "kc-chiefs", allowed_origins=["https://www.chiefs.example"])
        trip = make_trip(session, partner)
        logo = set_logo(session, partner, clean_logo(_png()), actor="test")
        ids = {
            "file_name": logo.file_name,  # the walk fetches a real uploaded logo
            "partner_slug": "kc-chiefs",
            "slug": "demo",
            "trip_id": trip.id,
            "event_id": trip.event_id,
            "partner_id": partner.id,
            "stop_id": trip.stops[0].id,
        }
    created = client.post(
        f"/w/kc-chiefs/api/trips/{ids['trip_id']}/pledges",
        json={
            "stop_id": ids["stop_id"],
            "seats": 1,
            "name": "Pat Fan",
            "email": "pat@example.com",
            "payment_method": "pm_card_visa",
        },
    )
    assert created.status_code == 201
    ids["pledge_id"] = created.json["pledge"]["id"]
    with app.app_context():
        ids["token"] = manage_token(ids["pledge_id"])
    ids["access_token"] = issue_token(app, ids["partner_id"])
    return ids


def _png() -> bytes:
    from io import BytesIO

    from PIL import Image

    out = BytesIO()
    Image.new("RGB", (8, 8), (11, 92, 173)).save(out, "PNG")
    return out.getvalue()


def _url(rule, ids) -> str:
    values = {}
    for name in rule.arguments:
        if name == "filename":
            values[name] = "swagger-ui.css"
        elif name == "name":
            values[name] = "widget.js"
        elif name == "version":
            values[name] = "v"
        elif name.endswith("_id"):
            values[name] = ids.get(name) or new_id(name.split("_")[0][:3])  # well-formed, unknown
        else:
            values[name] = ids.get(name, "x")
    return re.sub(r"<(?:[a-z]+:)?([a-z_]+)>", lambda m: str(values[m.group(1)]), rule.rule)


def _check(response, label: str) -> None:
    headers = response.headers
    assert headers.get("X-Content-Type-Options") == "nosniff", label
    assert headers.get("Referrer-Policy"), label
    assert "camera=()" in headers.get("Permissions-Policy", ""), label
    assert "Strict-Transport-Security" not in headers, label  # plain http here
    if response.status_code not in (429, 503):
        assert "Retry-After" not in headers, label
    if response.mimetype == "text/html" and response.status_code != 204:
        assert "frame-ancestors" in headers.get("Content-Security-Policy", ""), label
    assert "Cache-Control" in headers, label


def test_every_route_and_method_gets_the_headers(app, client, world):
    seen = set()
    auth = {"Authorization": f"Bearer {world['access_token']}"}
    for rule in app.url_map.iter_rules():
        url = _url(rule, world)
        family = rule.rule.split("/")[1]
        seen.add(family)
        for method in sorted(rule.methods - {"HEAD"}):
            kwargs = {"headers": auth} if family == "v1" else {}
            if method in ("POST", "PATCH"):
                kwargs["json"] = {}
            response = client.open(url, method=method, **kwargs)
            label = f"{method} {url} -> {response.status_code}"
            # (the Stripe receiver answers 503 while Stripe is not configured)
            assert response.status_code < 500 or family == "stripe", label
            _check(response, label)
            if rule.endpoint.startswith("demo_outbox."):  # demo-only: absent outside the demo
                assert response.status_code == 404, label
            elif method == "OPTIONS":
                assert response.status_code == 204, label
                assert not response.data and "Content-Type" not in response.headers, label
                assert "GET" in response.headers["Allow"] or "POST" in response.headers["Allow"]
            response.close()
    assert seen >= FAMILIES


def test_an_uploaded_logo_is_an_immutable_image_that_is_never_sniffed(client, world):
    path = f"/w/kc-chiefs/logo/{world['file_name']}"
    response = client.get(path)
    assert response.status_code == 200 and response.mimetype == "image/png"
    _check(response, path)
    assert response.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    assert response.headers["Content-Security-Policy"] == "default-src 'none'; sandbox"
    other_digest = "1" * 16 if world["file_name"].startswith("0") else "0" * 16
    wrong = client.get(path.replace(world["file_name"][:16], other_digest))
    assert wrong.status_code == 404
    _check(wrong, "wrong hash")


def test_unknown_paths_and_errors_get_them_too(client):
    for path in ("/nope", "/v1/nope", "/w/nobody/", "/w/nobody/api/events"):
        response = client.get(path, headers={"Accept": "text/html"})
        assert response.status_code == 404
        _check(response, path)


def test_landing_and_docs_have_a_full_policy(client):
    landing = client.get("/").headers["Content-Security-Policy"]
    assert "default-src 'none'" in landing and "frame-ancestors 'none'" in landing
    assert "script-src" not in landing  # the landing page runs no script
    docs = client.get("/docs")
    policy = docs.headers["Content-Security-Policy"]
    assert "script-src 'self' 'nonce-" in policy and "frame-ancestors 'none'" in policy
    nonce = re.search(r"'nonce-([^']+)'", policy).group(1)
    assert f'<script nonce="{nonce}">' in docs.get_data(as_text=True)


def test_hsts_only_over_https(client):
    assert "Strict-Transport-Security" not in client.get("/healthz").headers
    secure = client.get("/healthz", base_url="https://rides.example")
    assert secure.headers["Strict-Transport-Security"].startswith("max-age=31536000")
    widget = client.get("/w/nobody/", base_url="https://rides.example")
    assert "Strict-Transport-Security" in widget.headers


def test_fan_data_is_never_stored(app, client, world):
    slug, token = world["partner_slug"], world["token"]
    auth = {"Authorization": f"Bearer {world['access_token']}"}
    for path, headers in [
        (f"/w/{slug}/manage/{token}", {}),
        (f"/w/{slug}/pledged/{token}", {}),
        (f"/w/{slug}/api/manage/{token}", {}),
        (f"/v1/pledges/{world['pledge_id']}", auth),
        ("/v1/pledges", auth),
        (f"/v1/trips/{world['trip_id']}/manifest", auth),
        (f"/v1/trips/{world['trip_id']}/manifest", {**auth, "Accept": "text/csv"}),
    ]:
        response = client.get(path, headers=headers)
        assert response.status_code == 200, path
        assert response.headers["Cache-Control"] == "no-store", path
    pledged = client.post(
        f"/w/{slug}/api/trips/{world['trip_id']}/pledges",
        json={
            "stop_id": world["stop_id"],
            "seats": 1,
            "name": "Sam Fan",
            "email": "sam@example.com",
            "payment_method": "pm_card_visa",
        },
    )
    assert pledged.status_code == 201 and pledged.headers["Cache-Control"] == "no-store"
    # Public data keeps its own, cacheable, policy.
    assert "public" in client.get("/embed.js").headers["Cache-Control"]


def test_retry_after_only_on_429(app, client, world):
    app.config["RATELIMIT_WIDGET_READ"] = "1 per minute"
    url = f"/w/kc-chiefs/api/trips/{world['trip_id']}"
    first = client.get(url)
    assert first.status_code == 200 and "Retry-After" not in first.headers
    limited = client.get(url)
    assert limited.status_code == 429 and int(limited.headers["Retry-After"]) > 0


def test_the_servers_we_run_send_no_version(live_server):
    response = requests.get(live_server.url + "/healthz", timeout=10)
    assert response.headers["Server"] == "RidePledge"
    assert not re.search(r"\d", response.headers["Server"])
