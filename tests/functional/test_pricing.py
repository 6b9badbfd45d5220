"""Pricing through the faces: promo codes over /v1, redeemed exactly under a race, group
tiers, early-bird steps locked at pledging, the widget's price quote, hostile inputs."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from tests.api_helpers import ApiSession, issue_token
from tests.conftest import run_jobs
from tests.factories import make_partner, make_trip
from tests.functional import test_concurrency
from tests.functional.test_concurrency import crowd_pledges
from tests.widget_helpers import form_fields
from widget_server.extensions import db
from widget_server.models import Pledge, PromoCode, PromoRedemption, SimulatedPayment
from widget_server.models.types import utcnow


def iso(moment) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


@pytest.fixture
def trip_ids(app):
    """(partner id, trip id, stop id, event id) of an open $35 trip of partner kc-chiefs."""
    with app.app_context(), db.transaction() as session:
        partner = make_partner(session, "kc-chiefs")
        trip = make_trip(session, partner, capacity=40, min_riders=30)
        return partner.id, trip.id, trip.stops[0].id, trip.event_id


@pytest.fixture
def api(app, client, trip_ids):
    return ApiSession(client, issue_token(app, trip_ids[0]))


_fans = iter(range(10**6))


def pledge(client, trip_id, stop_id, seats=1, email=None, **fields):
    """A pledge through the widget API (each from a new fan unless `email` says whose)."""
    email = email or f"fan{next(_fans)}@example.com"
    body = {
        "stop_id": stop_id,
        "seats": seats,
        "name": "Pat Fan",
        "email": email,
        "payment_method": "pm_card_visa",
        **fields,
    }
    return client.post(f"/w/kc-chiefs/api/trips/{trip_id}/pledges", json=body)


def assert_names(response, status: int, field: str) -> dict:
    assert response.status_code == status, response.get_data(as_text=True)
    body = response.json
    assert field in body["errors"], body
    return body


def test_promo_code_lifecycle_through_the_api(api, trip_ids):
    _, trip_id, _, event_id = trip_ids
    created = api.post(
        "/v1/promo_codes",
        json={"code": "fans20", "percent_off": 20, "max_redemptions": 5, "trip_id": trip_id},
    )
    assert created.status_code == 201, created.json
    promo = created.json
    assert promo["id"].startswith("promo_") and promo["object"] == "promo_code"
    assert created.headers["Location"] == f"/v1/promo_codes/{promo['id']}"
    assert (promo["code"], promo["times_redeemed"], promo["active"]) == ("FANS20", 0, True)
    assert api.get(f"/v1/promo_codes/{promo['id']}").json == promo
    off = api.patch(f"/v1/promo_codes/{promo['id']}", json={"active": False})
    assert off.status_code == 200 and off.json["active"] is False
    listed = api.get("/v1/promo_codes").json
    assert [item["id"] for item in listed["data"]] == [promo["id"]]
    flat = api.post(
        "/v1/promo_codes",
        json={"code": "FLAT5", "amount_off": 500, "currency": "usd", "event_id": event_id},
    )
    assert flat.status_code == 201 and flat.json["currency"] == "USD"
    # Another partner's code is 404, never its data.
    with api.client.application.app_context(), db.transaction() as session:
        other = make_partner(session, "other-team").id
    other_api = ApiSession(api.client, issue_token(api.client.application, other))
    assert other_api.get(f"/v1/promo_codes/{promo['id']}").status_code == 404
    assert other_api.patch(f"/v1/promo_codes/{promo['id']}", json={}).status_code == 404


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"code": "X", "percent_off": 1000}, "percent_off"),
        ({"code": "X", "percent_off": -5}, "percent_off"),
        ({"code": "X", "amount_off": -100, "currency": "USD"}, "amount_off"),
        ({"code": "X", "amount_off": 10**30, "currency": "USD"}, "amount_off"),
        ({"code": "X", "amount_off": 100}, "currency"),
        ({"code": "X", "percent_off": 10, "amount_off": 100, "currency": "USD"}, "percent_off"),
        ({"code": "X"}, "percent_off"),
        ({"code": "bad\ud800code", "percent_off": 10}, "code"),
        ({"code": "two words", "percent_off": 10}, "code"),
        ({"code": "", "percent_off": 10}, "code"),
        ({"code": "X", "percent_off": 10, "ends_at": "9999-12-31T23:59:59Z"}, "ends_at"),
        ({"code": "X", "percent_off": 10, "starts_at": "0001-01-01T00:00:00Z"}, "starts_at"),
        ({"code": "X", "percent_off": 10, "max_redemptions": 0}, "max_redemptions"),
        ({"code": "X", "percent_off": 10, "per_fan_limit": 10**12}, "per_fan_limit"),
        ({"code": "X", "percent_off": 10, "trip_id": "trp_01aaaaaaaaaaaaaaaaaaaaaaaa"}, "trip_id"),
        ({"code": "X", "percent_off": 10, "event_id": "nope"}, "event_id"),
    ],
)
def test_hostile_promo_codes_are_422_naming_the_field(api, body, field):
    assert_names(api.post("/v1/promo_codes", json=body), 422, field)


def test_window_order_and_max_below_uses_are_refused(api):
    now = utcnow()
    body = {
        "code": "W",
        "percent_off": 10,
        "starts_at": iso(now + timedelta(days=2)),
        "ends_at": iso(now + timedelta(days=1)),
    }
    assert_names(api.post("/v1/promo_codes", json=body), 422, "ends_at")
    made = api.post("/v1/promo_codes", json={"code": "W", "percent_off": 10}).json
    assert_names(api.post("/v1/promo_codes", json={"code": "w", "percent_off": 5}), 422, "code")
    assert_names(
        api.patch(f"/v1/promo_codes/{made['id']}", json={"percent_off": 0}), 422, "percent_off"
    )


def test_a_code_that_does_not_apply_says_why(api, client, trip_ids):
    _, trip_id, stop_id, _ = trip_ids
    now = utcnow()
    cases = {
        "OFFCODE": ({"active": False}, "is turned off"),
        "LATER": ({"starts_at": iso(now + timedelta(days=1))}, "is not valid yet"),
        "OVER": ({"ends_at": iso(now - timedelta(minutes=1))}, "has expired"),
        "ELSEWHERE": (
            {"trip_id": make_other_trip(client.application)},
            "is not valid for this trip",
        ),
        "EUROS": ({"amount_off": 100, "currency": "EUR"}, "is not valid for this trip"),
    }
    for code, (fields, message) in cases.items():
        body = {"code": code, **({"percent_off": 10} if "amount_off" not in fields else {})}
        assert api.post("/v1/promo_codes", json={**body, **fields}).status_code == 201
        refused = assert_names(pledge(client, trip_id, stop_id, promo_code=code), 422, "promo_code")
        assert refused["errors"]["promo_code"] == [message], code
        quote = client.get(f"/w/kc-chiefs/api/trips/{trip_id}/price?promo_code={code}")
        assert quote.json["errors"]["promo_code"] == [message]
    unknown = pledge(client, trip_id, stop_id, promo_code="NOSUCH")
    assert assert_names(unknown, 422, "promo_code")["errors"]["promo_code"] == [
        "is not a valid code"
    ]
    # A lone surrogate (as its UTF-8-style bytes), too long, a NUL byte.
    for hostile in ("%ED%A0%80", "x" * 41, "a%00b"):
        response = client.get(f"/w/kc-chiefs/api/trips/{trip_id}/price?promo_code={hostile}")
        assert response.status_code == 422 and "promo_code" in response.json["errors"], hostile
    for query, field in (("seats=0", "seats"), ("seats=99999999999999999999", "seats")):
        response = client.get(f"/w/kc-chiefs/api/trips/{trip_id}/price?{query}")
        assert response.status_code == 422 and field in response.json["errors"], query
    assert pledge(client, trip_id, stop_id, promo_code="\ud800").status_code == 422
    with client.application.app_context():
        assert db.session.scalar(select(func.count()).select_from(Pledge)) == 0


def make_other_trip(app) -> str:
    with app.app_context(), db.transaction() as session:
        from widget_server.models import Partner

        partner = session.scalar(select(Partner).where(Partner.slug == "kc-chiefs"))
        return make_trip(session, partner).id


def test_per_fan_limit_counts_the_fans_normalised_email(api, client, trip_ids):
    _, trip_id, stop_id, _ = trip_ids
    api.post("/v1/promo_codes", json={"code": "ONCE", "percent_off": 10, "per_fan_limit": 1})
    assert (
        pledge(client, trip_id, stop_id, email="pat@example.com", promo_code="once").status_code
        == 201
    )
    again = pledge(client, trip_id, stop_id, email="Pat+2@Example.com", promo_code="ONCE")
    assert assert_names(again, 422, "promo_code")["errors"]["promo_code"] == [
        "has already been used the maximum number of times by this fan"
    ]
    assert (
        pledge(client, trip_id, stop_id, email="sam@example.com", promo_code="ONCE").status_code
        == 201
    )


def test_group_tier_and_promo_price_the_pledge_and_lock_it(api, client, trip_ids):
    _, trip_id, stop_id, _ = trip_ids
    tiers = [{"min_seats": 4, "percent_off": 10}]
    assert api.patch(f"/v1/trips/{trip_id}", json={"group_tiers": tiers}).status_code == 200
    three = pledge(client, trip_id, stop_id, seats=3, email="three@example.com").json["pledge"]
    assert (three["amount"], three["discount_amount"]) == (10500, 0)
    quote = client.get(f"/w/kc-chiefs/api/trips/{trip_id}/price?seats=4").json
    assert "tier" in quote, quote
    assert (quote["tier"], quote["tier_discount"], quote["amount"]) == (
        {"min_seats": 4, "percent_off": 10},
        1400,
        12600,
    )
    four = pledge(client, trip_id, stop_id, seats=4, email="four@example.com").json["pledge"]
    assert (four["unit_amount"], four["discount_amount"], four["amount"]) == (3500, 1400, 12600)
    # Changing the tiers later never changes a pledge already made.
    api.patch(f"/v1/trips/{trip_id}", json={"group_tiers": [{"min_seats": 2, "percent_off": 50}]})
    shown = api.get(f"/v1/pledges/{four['id']}").json
    assert (shown["amount"], shown["discount_amount"], shown["price_breakdown"]["tier"]) == (
        12600,
        1400,
        {"min_seats": 4, "percent_off": 10},
    )
    assert_names(
        api.patch(
            f"/v1/trips/{trip_id}", json={"group_tiers": [{"min_seats": 1, "percent_off": 10}]}
        ),
        422,
        "group_tiers.0.min_seats",
    )


def test_a_pledge_before_a_price_step_keeps_its_price_after_it(api, client, trip_ids):
    _, trip_id, stop_id, _ = trip_ids
    step_at = utcnow() + timedelta(days=3)
    steps = [{"starts_at": iso(step_at), "unit_amount": 4500}]
    trip = api.patch(f"/v1/trips/{trip_id}", json={"price_steps": steps}).json
    assert (trip["unit_amount"], trip["current_unit_amount"]) == (3500, 3500)
    widget_trip = client.get(f"/w/kc-chiefs/api/trips/{trip_id}").json
    assert widget_trip["price_valid_until"] == iso(step_at)
    early = pledge(client, trip_id, stop_id, seats=2, email="early@example.com").json["pledge"]
    assert early["amount"] == 7000
    # The step passes (moved into the past): new fans pay the new price, the early one not.
    moved = [{"starts_at": iso(utcnow() - timedelta(minutes=1)), "unit_amount": 4500}]
    api.patch(f"/v1/trips/{trip_id}", json={"price_steps": moved})
    late = pledge(client, trip_id, stop_id, seats=2, email="late@example.com").json["pledge"]
    assert (late["unit_amount"], late["amount"]) == (4500, 9000)
    assert api.get(f"/v1/pledges/{early['id']}").json["amount"] == 7000
    for bad, field in (
        ([{"starts_at": "9999-01-01T00:00:00Z", "unit_amount": 1}], "price_steps.0.starts_at"),
        ([{"starts_at": iso(step_at), "unit_amount": -1}], "price_steps.0.unit_amount"),
        ([{"starts_at": iso(step_at), "unit_amount": 10**20}], "price_steps.0.unit_amount"),
        ([{"starts_at": iso(step_at), "unit_amount": 1}] * 2, "price_steps"),
    ):
        assert_names(api.patch(f"/v1/trips/{trip_id}", json={"price_steps": bad}), 422, field)


# An app without write limits (the crowd's fixture), made visible to this module.
crowd_app = test_concurrency.crowd_app


def test_20_fans_race_for_the_last_5_uses_of_a_code(crowd_app):
    app = crowd_app
    with app.app_context(), db.transaction() as session:
        partner = make_partner(session, "crowd")
        trip = make_trip(session, partner, capacity=40, min_riders=30)
        trip_id, stop_id, partner_id = trip.id, trip.stops[0].id, partner.id
    api = ApiSession(app.test_client(), issue_token(app, partner_id))
    promo = api.post(
        "/v1/promo_codes", json={"code": "RACE20", "percent_off": 20, "max_redemptions": 5}
    ).json
    responses = crowd_pledges(app, "crowd", trip_id, stop_id, 20, promo_code="race20")
    statuses = sorted(response.status_code for response in responses)
    assert statuses == [201] * 5 + [422] * 15
    for response in responses:
        if response.status_code == 422:
            assert response.json()["errors"]["promo_code"] == [
                "has been used the maximum number of times"
            ]
        else:
            assert response.json()["pledge"]["amount"] == 2800  # 3,500 less 20%
    assert api.get(f"/v1/promo_codes/{promo['id']}").json["times_redeemed"] == 5
    with app.app_context():
        session = db.session
        assert session.scalar(select(func.count()).select_from(PromoRedemption)) == 5
        assert session.scalar(select(func.count()).select_from(Pledge)) == 5
        assert session.get(PromoCode, promo["id"]).times_redeemed == 5


def test_the_charge_takes_the_locked_amount(api, client, trip_ids):
    _, trip_id, stop_id, _ = trip_ids
    promo = api.post("/v1/promo_codes", json={"code": "HALF", "percent_off": 50}).json
    made = pledge(client, trip_id, stop_id, seats=3, promo_code="HALF").json["pledge"]
    assert made["amount"] == 5250
    # Prices and the code change after the pledge; then the trip confirms and charges.
    passed = iso(utcnow() - timedelta(minutes=1))
    steps = [{"starts_at": passed, "unit_amount": 9900}]
    assert api.patch(f"/v1/trips/{trip_id}", json={"price_steps": steps}).status_code == 200
    assert api.patch(f"/v1/promo_codes/{promo['id']}", json={"percent_off": 5}).status_code == 200
    for index in range(27):
        assert pledge(client, trip_id, stop_id, email=f"f{index}@example.com").status_code == 201
    run_jobs(client.application)
    with client.application.app_context():
        charged = db.session.scalar(
            select(SimulatedPayment.amount).where(
                SimulatedPayment.idempotency_key.like(f"pledge-{made['id']}-charge%")
            )
        )
        assert db.session.get(Pledge, made["id"]).status == "paid"
    assert charged == 5250


def test_the_no_javascript_form_prices_with_the_code_and_pledges_with_it(api, client, trip_ids):
    _, trip_id, stop_id, _ = trip_ids
    api.post("/v1/promo_codes", json={"code": "FANS20", "percent_off": 20})
    url = f"/w/kc-chiefs/trips/{trip_id}/pledge"
    # Arriving with the code in the link (`?promo=`): the total is the discounted one.
    page = html_of(client.get(f"{url}?promo=fans20"))
    assert 'value="fans20"' in page and "Total: $28.00" in page and "$7.00 off" in page
    # "Apply" re-renders the form priced with the typed code and the seats, pledging nothing.
    action, hidden = form_fields(page, "/pledge")
    fan = {"stop_id": stop_id, "seats": "3", "name": "Pat", "email": "pat@example.com"}
    applied = client.post(
        action, data={**hidden, **fan, "promo_code": "FANS20", "apply_promo": "1"}
    )
    assert applied.status_code == 200
    assert "Total: $84.00" in html_of(applied) and "$21.00 off" in html_of(applied)
    refused = client.post(action, data={**hidden, **fan, "promo_code": "NOPE", "apply_promo": "1"})
    assert "This code does not exist. Check its spelling." in html_of(refused)
    assert "Total: $105.00" in html_of(refused)
    # Sent: the pledge carries the code's price.
    action, hidden = form_fields(html_of(applied), "/pledge")
    sent = client.post(
        action,
        data={**hidden, **fan, "promo_code": "FANS20", "card_number": "4242 4242 4242 4242"},
    )
    assert sent.status_code == 303, html_of(sent)
    with client.application.app_context():
        made = db.session.scalars(select(Pledge)).one()
        assert (made.amount, made.discount_amount, made.promo_code) == (8400, 2100, "FANS20")


def html_of(response) -> str:
    return response.get_data(as_text=True)
