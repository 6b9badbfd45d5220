"""A fan changes the seats of a pledge (widget JSON API and the no-JS manage page): re-priced by
the one rule with what the pledge locked, seats taken as a new pledge takes them (never past
capacity, under concurrency too), given back to the waitlist, and charged as changed."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from functools import partial

import pytest
import requests
from sqlalchemy import func, select

from tests.api_helpers import ApiSession, issue_token
from tests.conftest import LiveServer, run_jobs
from tests.factories import make_event, make_partner, make_trip
from tests.functional import test_concurrency, test_widget_api
from tests.functional.test_widget_api import charges, pledge, trip_row
from tests.widget_helpers import form_fields
from widget_server.domain.pledges.transitions import transition
from widget_server.extensions import db
from widget_server.models import AuditLogEntry, Partner, Pledge, Trip, WaitlistEntry
from widget_server.models.types import rfc3339, utcnow

shop = test_widget_api.shop  # fixtures
crowd_app = test_concurrency.crowd_app


def token_of(response) -> str:
    assert response.status_code == 201, response.get_data(as_text=True)
    return response.json["manage_url"].rsplit("/", 1)[-1]


def manage_api(shop, token: str) -> str:
    return f"{shop['base']}/manage/{token}"


def stored(app, token_response) -> Pledge:
    with app.app_context():
        return db.session.get(Pledge, token_response.json["pledge"]["id"])


def set_trip(app, trip_id: str, **values) -> None:
    with app.app_context(), db.transaction() as session:
        trip = session.get(Trip, trip_id)
        for name, value in values.items():
            setattr(trip, name, value)


@pytest.fixture
def api(app, client, shop):
    with app.app_context():
        partner_id = db.session.get(Trip, shop["trip"]).partner_id
    return ApiSession(client, issue_token(app, partner_id))


def test_repricing_keeps_the_locked_price_and_code_and_recomputes_the_tier(
    app,
    client,
    shop,
    api,
):
    set_trip(app, shop["trip"], capacity=10, min_riders=9)
    code = api.post("/v1/promo_codes", json={"code": "FANS20", "percent_off": 20}).json
    made = pledge(client, shop, seats=2, promo_code="fans20")
    token = token_of(made)
    assert made.json["pledge"]["amount"] == 5600  # 2 x $35, 20% off
    # Since the pledge: the price stepped up, a tier from 4 seats appeared, the code was
    # made 50% off, then turned off. The pledge keeps its $35 and its code at 20% off; the
    # tier is the new seat count's.
    past = rfc3339(utcnow() - timedelta(minutes=1))
    set_trip(
        app,
        shop["trip"],
        price_steps=[{"starts_at": past, "unit_amount": 5000}],
        group_tiers=[{"min_seats": 4, "percent_off": 10}],
    )
    edited = api.patch(f"/v1/promo_codes/{code['id']}", json={"percent_off": 50})
    assert edited.status_code == 200, edited.json
    assert api.patch(f"/v1/promo_codes/{code['id']}", json={"active": False}).status_code == 200
    quote = client.get(f"{manage_api(shop, token)}/quote?seats=4")
    assert quote.status_code == 200, quote.json
    # docs/pricing.md's example: $140.00, tier $14.00 off, FANS20 20% of $126.00 = $25.20 off.
    assert (quote.json["unit_amount"], quote.json["seats"], quote.json["subtotal"]) == (
        3500,
        4,
        14000,
    )
    assert quote.json["tier"] == {"min_seats": 4, "percent_off": 10}
    assert (quote.json["tier_discount"], quote.json["promo_discount"]) == (1400, 2520)
    assert quote.json["promo_code"] == "FANS20" and quote.json["currency"] == "USD"
    assert quote.json["promo_terms"] == {"percent_off": 20, "amount_off": None}
    assert (quote.json["amount"], quote.json["previous_amount"]) == (10080, 5600)
    assert quote.json["previous_seats"] == 2 and quote.json["price_valid_until"] is None
    assert stored(app, made).seats == 2  # a quote saves nothing
    changed = client.patch(manage_api(shop, token), json={"seats": 4})
    assert changed.status_code == 200, changed.json
    body = changed.json["pledge"]
    assert (body["seats"], body["unit_amount"], body["discount_amount"]) == (4, 3500, 3920)
    assert body["amount"] == quote.json["amount"] and body["promo_code"] == "FANS20"
    breakdown = {key: quote.json[key] for key in body["price_breakdown"]}
    assert body["price_breakdown"] == breakdown  # what the preview said is what is stored
    assert trip_row(app, shop["trip"]).seats_pledged == 4
    with app.app_context():
        entry = db.session.scalars(
            select(AuditLogEntry).where(AuditLogEntry.action == "pledge.seats_changed")
        ).one()
    assert entry.data == {
        "from": {"seats": 2, "amount": 5600},
        "to": {"seats": 4, "amount": 10080},
    }
    # Back to 2 seats: no tier any more, the locked price and code still.
    fewer = client.patch(manage_api(shop, token), json={"seats": 2}).json["pledge"]
    assert (fewer["seats"], fewer["amount"], fewer["discount_amount"]) == (2, 5600, 1400)
    assert trip_row(app, shop["trip"]).seats_pledged == 2
    assert api.get(f"/v1/promo_codes/{code['id']}").json["times_redeemed"] == 1  # no new use


def test_extras_stay_as_bought(app, client, shop, api):
    add_on = api.post(
        f"/v1/trips/{shop['trip']}/add_ons", json={"name": "Tailgate pass", "unit_amount": 1500}
    ).json
    token = token_of(pledge(client, shop, seats=1, add_ons={add_on["id"]: 2}))
    api.patch(f"/v1/trips/{shop['trip']}/add_ons/{add_on['id']}", json={"unit_amount": 9900})
    body = client.patch(manage_api(shop, token), json={"seats": 2}).json["pledge"]
    assert body["amount"] == 2 * 3500 + 2 * 1500
    assert [line["amount"] for line in body["price_breakdown"]["add_ons"]] == [3000]


def test_more_seats_than_available_is_a_409_and_changes_nothing(app, client, shop):
    made = pledge(client, shop, seats=1)
    token = token_of(made)
    pledge(client, shop, seats=1, email="other@example.com")
    # 6 seats, 2 taken: 4 more are not there (1 + 4 = 5 would fit; 1 + 5 would not).
    for response in (
        client.get(f"{manage_api(shop, token)}/quote?seats=6"),
        client.patch(manage_api(shop, token), json={"seats": 6}),
    ):
        assert response.status_code == 409
        assert response.json["type"].endswith("/sold-out")
    assert (stored(app, made).seats, stored(app, made).amount) == (1, 3500)
    assert trip_row(app, shop["trip"]).seats_pledged == 2


def test_a_change_reaching_the_threshold_confirms_and_charges_the_new_total(
    app,
    client,
    shop,
):
    made = pledge(client, shop, seats=1)
    token = token_of(made)
    assert client.get(manage_api(shop, token)).json["can_change_seats"] is True
    changed = client.patch(manage_api(shop, token), json={"seats": 3})
    assert changed.status_code == 200 and changed.json["pledge"]["amount"] == 3 * 3500
    assert trip_row(app, shop["trip"]).status == "confirmed"  # 3 = min_riders
    assert "charge_trip" in run_jobs(app)
    assert [charge.amount for charge in charges(app)] == [3 * 3500]
    assert stored(app, made).status == "paid"
    # Confirmed: the seats no longer change.
    view = client.get(manage_api(shop, token)).json
    assert view["can_change_seats"] is False
    refused = client.patch(manage_api(shop, token), json={"seats": 2})
    assert refused.status_code == 409
    # The stop still moves, even when the body repeats the seats as they are.
    moved = client.patch(manage_api(shop, token), json={"seats": 3, "stop_id": shop["stops"][1]})
    assert moved.status_code == 200 and moved.json["pledge"]["stop_id"] == shop["stops"][1]
    assert client.get(f"{manage_api(shop, token)}/quote?seats=2").status_code == 409


def test_no_change_for_a_withdrawn_pledge(app, client, shop):
    token = token_of(pledge(client, shop, seats=2))
    assert client.post(f"{manage_api(shop, token)}/cancel", json={}).status_code == 200
    assert client.get(manage_api(shop, token)).json["can_change_seats"] is False
    assert client.patch(manage_api(shop, token), json={"seats": 1}).status_code == 409
    assert trip_row(app, shop["trip"]).seats_pledged == 0


def test_fewer_seats_go_to_the_waitlist_first(app, client, shop):
    set_trip(app, shop["trip"], min_riders=6)
    token = token_of(pledge(client, shop, seats=2))
    pledge(client, shop, seats=3, email="big@example.com")  # 5 of 6
    waitlist = f"{shop['base']}/trips/{shop['trip']}/waitlist"
    body = {"stop_id": shop["stops"][0], "seats": 2, "name": "Wai Ting", "email": "w@example.com"}
    assert client.post(waitlist, json=body).status_code == 201  # a pair, for the 1 seat left
    run_jobs(app)
    changed = client.patch(manage_api(shop, token), json={"seats": 1})
    assert changed.status_code == 200 and changed.json["pledge"]["amount"] == 3500
    assert trip_row(app, shop["trip"]).seats_pledged == 4
    assert "refresh_waitlist" in run_jobs(app)
    with app.app_context():
        entry = db.session.scalars(select(WaitlistEntry)).one()
    assert entry.status == "offered"  # the 2 free seats are held for the pair in line
    # ...and so are not on sale to the fan who gave one up.
    again = client.patch(manage_api(shop, token), json={"seats": 2})
    assert again.status_code == 409 and again.json["type"].endswith("/sold-out")


def test_patch_takes_stop_and_seats_together_or_either(client, shop):
    token = token_of(pledge(client, shop))
    both = client.patch(manage_api(shop, token), json={"stop_id": shop["stops"][1], "seats": 2})
    assert both.status_code == 200
    assert (both.json["pledge"]["stop_id"], both.json["pledge"]["seats"]) == (shop["stops"][1], 2)
    empty = client.patch(manage_api(shop, token), json={})
    assert empty.status_code == 422 and set(empty.json["errors"]) == {"stop_id", "seats"}
    # All or nothing: a bad stop keeps the seats as they were.
    bad = client.patch(manage_api(shop, token), json={"stop_id": "stp_nope", "seats": 1})
    assert bad.status_code == 422 and "stop_id" in bad.json["errors"]
    assert client.get(manage_api(shop, token)).json["pledge"]["seats"] == 2


@pytest.mark.parametrize(
    "seats", [0, -1, 11, 10**30, "abc", "2", 2.5, True, None, {"n": 2}, [2], "\ud800"]
)
def test_hostile_seats_are_a_422_naming_seats(app, client, shop, seats):
    made = pledge(client, shop, seats=2)
    token = token_of(made)
    body = {"seats": seats, "stop_id": shop["stops"][0]} if seats is None else {"seats": seats}
    response = client.patch(manage_api(shop, token), json=body)
    if seats is None:  # null is "no change of seats": the stop alone
        assert response.status_code == 200 and response.json["pledge"]["seats"] == 2
        return
    assert response.status_code == 422, response.get_data(as_text=True)
    assert response.mimetype == "application/problem+json" and "seats" in response.json["errors"]
    assert stored(app, made).seats == 2


@pytest.mark.parametrize(
    "query", ["", "?seats=0", "?seats=-1", "?seats=11", f"?seats={10**30}", "?seats=abc",
              "?seats=%ED%A0%80", "?seats=%00", "?seats=%C2%B2", "?seats=+3", "?seats=3.0"]
)  # fmt: skip
def test_hostile_quote_queries_are_a_422_naming_seats(client, shop, query):
    token = token_of(pledge(client, shop))
    response = client.get(f"{manage_api(shop, token)}/quote{query}")
    assert response.status_code == 422, response.get_data(as_text=True)
    assert response.mimetype == "application/problem+json" and "seats" in response.json["errors"]


def test_another_partners_token_is_a_404(app, client, shop):
    with app.app_context(), db.transaction() as session:
        other = make_partner(session, "other-team")
        make_trip(session, other, event=make_event(session, other))
    made = pledge(client, shop)
    token = token_of(made)
    assert client.get(f"/w/other-team/api/manage/{token}/quote?seats=2").status_code == 404
    assert client.patch(f"/w/other-team/api/manage/{token}", json={"seats": 2}).status_code == 404
    assert client.get(f"/w/other-team/manage/{token}/seats?seats=2").status_code == 404
    assert stored(app, made).seats == 1


def test_the_fans_seat_cap_holds(app, client, shop):
    with app.app_context(), db.transaction() as session:
        trip = session.get(Trip, shop["trip"])
        trip.capacity, trip.min_riders = 20, 20
        session.get(Partner, trip.partner_id).max_seats_per_fan = 4
    token = token_of(pledge(client, shop, seats=2))
    pledge(client, shop, seats=1, email="pat+2@example.com")  # the same fan
    refused = client.patch(manage_api(shop, token), json={"seats": 4})
    assert refused.status_code == 409 and refused.json["type"].endswith("/seat-limit")
    assert client.patch(manage_api(shop, token), json={"seats": 3}).status_code == 200


def test_concurrent_increases_never_overbook(crowd_app):
    app = crowd_app
    with app.app_context(), db.transaction() as session:
        partner = make_partner(session, "crowd")
        trip = make_trip(session, partner, capacity=10, min_riders=10)
        trip_id, stop_id = trip.id, trip.stops[0].id
    made = test_concurrency.crowd_pledges(app, "crowd", trip_id, stop_id, 5)  # 1 seat each
    tokens = [response.json()["manage_url"].rsplit("/", 1)[-1] for response in made]
    server = LiveServer(app).start()
    try:
        # 5 seats free; each of the 5 fans asks for 2 more at once: 2 get them, 3 are told no.
        with ThreadPoolExecutor(max_workers=5) as pool:
            responses = list(
                pool.map(
                    lambda token: requests.patch(
                        f"{server.url}/w/crowd/api/manage/{token}", json={"seats": 3}, timeout=60
                    ),
                    tokens,
                )
            )
    finally:
        server.stop()
    assert sorted(response.status_code for response in responses) == [200] * 2 + [409] * 3
    for response in responses:
        if response.status_code == 409:
            assert response.json()["type"].endswith("/sold-out")
    with app.app_context():
        assert db.session.get(Trip, trip_id).seats_pledged == 9
        assert db.session.scalar(select(func.sum(Pledge.seats))) == 9


def test_change_seats_without_javascript(app, client, shop):
    set_trip(app, shop["trip"], group_tiers=[{"min_seats": 2, "percent_off": 10}])
    made = pledge(client, shop, seats=1)
    token = token_of(made)
    manage = f"/w/kc-chiefs/manage/{token}"
    html = client.get(manage).get_data(as_text=True)
    assert "Change seats" in html and 'for="change-seats"' in html
    # The form only asks for the new total (a GET); nothing changes yet.
    question = client.get(f"{manage}/seats?seats=2")
    assert question.status_code == 200
    text = question.get_data(as_text=True)
    assert "Change to 2 seats?" in text
    assert "Your new total: $63.00 (was $35.00)" in text  # 2 x $35, 10% off
    assert stored(app, made).seats == 1
    assert f'href="/w/kc-chiefs/manage/{token}"' in text  # "No, keep my seats"
    action, hidden = form_fields(text, "/seats")
    assert hidden["seats"] == "2"
    done = client.post(action, data=hidden)
    assert done.status_code == 303
    page = client.get(done.headers["Location"]).get_data(as_text=True)
    assert "Your seats were changed" in page and "$63.00" in page
    assert (stored(app, made).seats, stored(app, made).amount) == (2, 6300)
    # Without the form token: refused, nothing changes.
    forged = client.post(action, data={"seats": "3"})
    assert forged.status_code in (400, 403) and stored(app, made).seats == 2


def test_no_javascript_refusals_are_shown_at_the_field(app, client, shop):
    made = pledge(client, shop, seats=1)
    token = token_of(made)
    manage = f"/w/kc-chiefs/manage/{token}"
    for query, status, words in (
        ("abc", 422, "Choose from 1 to 10 seats."),
        ("0", 422, "Choose from 1 to 10 seats."),
        ("7", 409, "not enough seats left"),
    ):
        page = client.get(f"{manage}/seats?seats={query}")
        assert page.status_code == status
        html = page.get_data(as_text=True)
        assert words in html and 'id="error-change-seats"' in html and 'aria-invalid="true"' in html
    # A stale confirm page sent after the trip confirmed: refused in words.
    action, hidden = form_fields(
        client.get(f"{manage}/seats?seats=2").get_data(as_text=True), "/seats"
    )
    pledge(client, shop, seats=2, email="b@example.com")  # 3 of 3: confirmed
    refused = client.post(action, data=hidden)
    assert refused.status_code == 409
    assert "can no longer change" in refused.get_data(as_text=True)
    assert stored(app, made).seats == 1
    # The question of a pledge that can no longer change leads back to its page.
    back = client.get(f"{manage}/seats?seats=2")
    assert back.status_code == 303 and back.headers["Location"].endswith(f"/manage/{token}")


def test_the_manage_page_speaks_the_fans_language(client, shop):
    token = token_of(pledge(client, shop, locale="es"))
    html = client.get(f"/w/kc-chiefs/manage/{token}").get_data(as_text=True)
    assert "Cambiar plazas" in html and "Change seats" not in html
    question = client.get(f"/w/kc-chiefs/manage/{token}/seats?seats=2").get_data(as_text=True)
    assert "¿Cambiar a 2 plazas?" in question and "Tu nuevo total:" in question


def test_a_pledge_read_before_a_change_frees_the_changed_seats(app, client, shop):
    """A partner canceling a pledge it read before the fan changed its seats frees the seats
    the pledge holds now, not the ones it was read with."""
    made = pledge(client, shop, seats=1)
    with app.app_context():
        stale = db.session.get(Pledge, made.json["pledge"]["id"])
        assert stale.seats == 1
        # The fan's change, in a request of its own (another thread: another app context,
        # another session), while this session keeps the pledge as it read it.
        with ThreadPoolExecutor(max_workers=1) as pool:
            change = partial(client.patch, manage_api(shop, token_of(made)), json={"seats": 2})
            changed = pool.submit(change).result()
        assert changed.status_code == 200 and trip_row(app, shop["trip"]).seats_pledged == 2
        with db.transaction() as session:
            transition(session, stale, "canceled", actor="test")
        assert stale.seats == 2
    assert trip_row(app, shop["trip"]).seats_pledged == 0
