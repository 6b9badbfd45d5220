"""Over the whole /admin URL map: every view is guarded by one decorator, every POST needs the
CSRF token, and an admin of one partner gets 404 for every URL naming another partner's object."""

from __future__ import annotations

import pytest
from flask import url_for

from tests.admin_helpers import csrf, make_admin, sign_in
from tests.factories import make_event, make_partner, make_trip
from tests.functional.admin.test_logo_upload import image
from widget_server.admin.auth import PERMISSIONS, PUBLIC_ENDPOINTS
from widget_server.domain.logos import clean_logo, set_logo_preview
from widget_server.domain.pledges import planning, recording
from widget_server.domain.pricing.add_ons import create_add_on
from widget_server.extensions import db
from widget_server.models import PromoCode, WebhookDelivery, WebhookMessage
from widget_server.webhooks.endpoints import CheckedUrl, create_endpoint

# URL arguments that are not object ids, with a value that reaches the view.
NOT_OBJECTS = {"filename": "console.css", "purpose": "reset", "token": "x"}


def console_rules(app):
    return [rule for rule in app.url_map.iter_rules() if rule.rule.startswith("/admin")]


def test_every_console_view_is_guarded_by_requires(app):
    for rule in console_rules(app):
        if rule.endpoint in PUBLIC_ENDPOINTS:
            continue
        view = app.view_functions[rule.endpoint]
        assert getattr(view, "permission", None) in PERMISSIONS, rule.rule


@pytest.fixture
def two_partners(app):
    """Partner A with its owner; partner B with one object of every kind the console shows."""
    with app.app_context(), db.transaction() as session:
        mine = make_partner(session, "team-a")
        make_admin(session, mine, "owner@a.example", "owner")
        theirs = make_partner(session, "team-b")
        their_admin = make_admin(session, theirs, "owner@b.example", "owner")
        event = make_event(session, theirs)
        trip = make_trip(session, theirs, event)
        pledge = recording.create_pledge(
            session,
            app.extensions["ridepledge.payments"],
            theirs,
            trip.id,
            planning.PledgeRequest(
                stop_id=trip.stops[0].id,
                seats=1,
                name="B Fan",
                email="fan@b.example",
                payment_method="pm_card_visa",
            ),
        )
        from widget_server.domain.clients import create_client

        client, _secret = create_client(session, theirs, "events:read", "b", actor="test")
        endpoint, _secret = create_endpoint(
            session,
            theirs,
            url=CheckedUrl("http://127.0.0.1:9/hooks"),
            events=["*"],
            settings=app.config["SETTINGS"],
            actor="test",
        )
        message = WebhookMessage(partner_id=theirs.id, type="pledge.created", payload={})
        session.add(message)
        session.flush()
        delivery = WebhookDelivery(
            partner_id=theirs.id, endpoint_id=endpoint.id, message_id=message.id, status="failed"
        )
        session.add(delivery)
        session.flush()
        logo_preview = set_logo_preview(session, theirs, clean_logo(image()))
        add_on = create_add_on(session, trip, {"name": "Scarf", "unit_amount": 900}, actor="t")
        promo = PromoCode(partner_id=theirs.id, code="THEIRS", percent_off=10)
        session.add(promo)
        session.flush()
        from tests.functional.marketplace_helpers import make_operator
        from widget_server.domain.operators import marketplace

        make_operator(session, "b-coaches", regions=["KS"])
        trip_request = marketplace.request_bus(
            session,
            theirs,
            event,
            origin={"name": "Wichita", "region": "KS"},
            departs_at=trip.stops[0].departs_at,
            expected_riders=40,
            vehicle_kind="coach",
            actor="test",
        )
        ids = {
            "request_id": trip_request.id,
            "client_id": client.id,
            "event_id": event.id,
            "trip_id": trip.id,
            "stop_id": trip.stops[0].id,
            "pledge_id": pledge.id,
            "admin_id": their_admin.id,
            "endpoint_id": endpoint.id,
            "delivery_id": delivery.id,
            "promo_code_id": promo.id,
            "file_name": logo_preview.file_name,
            "add_on_id": add_on.id,
        }
    return ids


def test_another_partners_objects_are_404_on_every_console_url(app, two_partners):
    client = app.test_client()
    assert sign_in(client, "owner@a.example").status_code == 302
    token = csrf(client, "/admin/")
    checked = 0
    for rule in console_rules(app):
        names = set(rule.arguments) - set(NOT_OBJECTS)
        if not names or rule.endpoint in PUBLIC_ENDPOINTS:
            continue
        unknown = names - set(two_partners)
        assert not unknown, f"{rule.rule}: add an object of partner B for {unknown}"
        path = rule.build({**NOT_OBJECTS, **two_partners}, append_unknown=False)[1]
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            answer = client.open(path, method=method, data={"csrf_token": token})
            assert answer.status_code == 404, f"{method} {path}: {answer.status_code}"
            checked += 1
    assert checked >= 12  # every object URL of the console was tried


# Console views that take an object id in the query string: endpoint -> {argument: object}.
QUERY_OBJECTS = {"admin.demand": {"event": "event_id"}, "admin.embed": {"event": "event_id"}}


def test_another_partners_ids_in_query_strings_are_404(app, two_partners):
    client = app.test_client()
    sign_in(client, "owner@a.example")
    endpoints = {rule.endpoint for rule in console_rules(app)}
    assert set(QUERY_OBJECTS) <= endpoints
    for endpoint, arguments in QUERY_OBJECTS.items():
        with app.test_request_context():
            mine = url_for(endpoint)
            path = url_for(endpoint, **{k: two_partners[v] for k, v in arguments.items()})
        assert client.get(mine).status_code == 200, mine
        assert client.get(path).status_code == 404, path


def test_every_console_post_without_csrf_is_refused(app, two_partners):
    client = app.test_client()
    sign_in(client, "owner@a.example")
    for rule in console_rules(app):
        if "POST" not in rule.methods:
            continue
        path = rule.build({**NOT_OBJECTS, **two_partners}, append_unknown=False)[1]
        answer = client.post(path, data={})
        assert answer.status_code == 400, f"POST {path}: {answer.status_code}"
        assert "This form has expired" in answer.get_data(as_text=True)
