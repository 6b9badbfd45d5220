"""Add-ons (issue 22): extras sold with the seats. Stock is exact under a race (SQLite and
PostgreSQL); the amounts go through the one pricing rule into the pledge and the captured
charge (fake Stripe) to the cent; the lines are locked on the pledge and shown on the manage
page, the boarding pass, the manifest (API JSON and CSV, console) and the driver page; units go
back on sale when a pledge is withdrawn; the API and the widget refuse hostile input naming
the field; partners are walled off."""

from __future__ import annotations

import csv
import io
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from sqlalchemy import select

from tests.api_helpers import partner_with_open_trip, pledge_body
from tests.conftest import LiveServer, run_jobs
from tests.factories import make_partner, make_trip
from tests.functional import stripe_helpers
from tests.functional.test_concurrency import crowd_app  # noqa: F401 (fixture)
from tests.widget_helpers import submit_form
from widget_server.domain.pricing.add_ons import create_add_on
from widget_server.extensions import db
from widget_server.fan.links import manage_token
from widget_server.models import AddOn, Pledge, Trip

fake_stripe = stripe_helpers.fake_stripe
make_shop = stripe_helpers.make_shop
shop = stripe_helpers.shop


def add_on(app, trip_id: str, name: str, unit_amount: int, quantity: int | None = None) -> str:
    with app.app_context(), db.transaction() as session:
        trip = session.get(Trip, trip_id)
        values = {"name": name, "unit_amount": unit_amount, "quantity": quantity}
        return create_add_on(session, trip, values, actor="test").id


def sold(app, add_on_id: str) -> int:
    with app.app_context():
        return db.session.get(AddOn, add_on_id).sold


def test_12_fans_racing_for_the_last_5_passes_get_exactly_5(crowd_app):  # noqa: F811
    app = crowd_app
    with app.app_context(), db.transaction() as session:
        partner = make_partner(session, "crowd")
        trip = make_trip(session, partner, capacity=30, min_riders=30)
        trip_id, stop_id = trip.id, trip.stops[0].id
    passes = add_on(app, trip_id, "Tailgate pass", 1500, quantity=5)
    server = LiveServer(app).start()
    url = f"{server.url}/w/crowd/api/trips/{trip_id}/pledges"

    def attempt(index: int) -> requests.Response:
        body = pledge_body(stop_id, email=f"fan{index}@example.com", add_ons={passes: 1})
        return requests.post(url, json=body, timeout=60)

    try:
        with ThreadPoolExecutor(max_workers=12) as pool:
            responses = list(pool.map(attempt, range(12)))
    finally:
        server.stop()
    statuses = sorted(response.status_code for response in responses)
    assert statuses == [201] * 5 + [409] * 7, [r.text for r in responses]
    for response in responses:
        if response.status_code == 409:
            problem = response.json()
            assert problem["type"].endswith("/add-on-sold-out")
            assert f"add_ons.{passes}" in problem["errors"]
    assert sold(app, passes) == 5
    with app.app_context():
        trip = db.session.get(Trip, trip_id)
        assert trip.seats_pledged == 5  # the losers' seats rolled back with them
        pledges = db.session.scalars(select(Pledge)).all()
        assert len(pledges) == 5
        assert all(p.amount == 3500 + 1500 for p in pledges)


def test_add_ons_are_priced_charged_to_the_cent_and_locked(shop):
    passes = add_on(shop.app, shop.trip_id, "Tailgate pass", 1250, quantity=10)
    scarf = add_on(shop.app, shop.trip_id, "Team scarf", 999)
    first = shop.pledge(seats=1, add_ons={passes: 2, scarf: 1}, email="a@example.com")
    assert first.status_code == 201, first.json
    pledge = first.json["pledge"]
    assert pledge["amount"] == 3500 + 2 * 1250 + 999
    lines = pledge["price_breakdown"]["add_ons"]
    assert [(line["name"], line["unit_amount"], line["quantity"]) for line in lines] == [
        ("Tailgate pass", 1250, 2),
        ("Team scarf", 999, 1),
    ]
    # A later price change does not change a pledge already made.
    with shop.app.app_context(), db.transaction() as session:
        session.get(AddOn, passes).unit_amount = 5000
    second = shop.pledge(seats=3, add_ons={scarf: 0}, email="b@example.com")  # tips the trip
    assert second.status_code == 201, second.json
    assert second.json["pledge"]["amount"] == 3 * 3500
    run_jobs(shop.app)
    amounts = {p.id: p.amount for p in shop.pledges()}
    assert amounts[pledge["id"]] == 3500 + 2500 + 999
    assert set(shop.statuses().values()) == {"paid"}
    assert shop.fake.total_captured() == sum(amounts.values()) == 6999 + 10500
    captured = sorted(pi["amount_received"] for pi in shop.fake.succeeded_charges(None))
    assert captured == sorted(amounts.values())
    assert sold(shop.app, passes) == 2 and sold(shop.app, scarf) == 1


def test_lines_show_on_manage_page_pass_manifest_csv_console_and_driver_page(app, client):
    ids = partner_with_open_trip(app, client)
    with app.app_context(), db.transaction() as session:
        session.get(Trip, ids["trip"]).min_riders = 1  # the first pledge confirms it
    passes = add_on(app, ids["trip"], "Tailgate pass", 1500, quantity=10)
    answer = client.post(ids["pledges"], json=pledge_body(ids["stop"], add_ons={passes: 2}))
    assert answer.status_code == 201, answer.json
    pledge_id = answer.json["pledge"]["id"]
    run_jobs(app)
    with app.app_context():
        assert db.session.get(Pledge, pledge_id).status == "paid"
        token = manage_token(pledge_id)
    manage = client.get(f"/w/kc-chiefs/manage/{token}").get_data(as_text=True)
    assert "2 × Tailgate pass" in manage and "$30.00" in manage and "$65.00" in manage
    boarding = client.get(f"/w/kc-chiefs/manage/{token}/boarding").get_data(as_text=True)
    assert "2 × Tailgate pass" in boarding
    api = ids["api"]
    manifest = api.get(f"/v1/trips/{ids['trip']}/manifest").json
    rider = manifest["stops"][0]["riders"][0]
    assert rider["add_ons"] == [{"name": "Tailgate pass", "quantity": 2}]
    assert manifest["add_ons"] == [{"name": "Tailgate pass", "quantity": 2}]
    exported = api.get(f"/v1/trips/{ids['trip']}/manifest", headers={"Accept": "text/csv"})
    rows = list(csv.DictReader(io.StringIO(exported.get_data(as_text=True))))
    assert rows[0]["add_ons"] == "2 × Tailgate pass"
    link = api.post(f"/v1/trips/{ids['trip']}/driver_link")
    assert link.status_code == 201, link.json
    driver_path = link.json["url"].split("://", 1)[1].split("/", 1)[1]
    page = client.get(f"/{driver_path}").get_data(as_text=True)
    assert "Extras: 2 × Tailgate pass" in page
    assert client.get(f"/{driver_path}/manifest").json["stops"][0]["riders"][0][
        "add_ons_label"
    ] == ("2 × Tailgate pass")


def test_withdrawing_puts_the_units_back_on_sale(app, client):
    ids = partner_with_open_trip(app, client)
    passes = add_on(app, ids["trip"], "Tailgate pass", 1500, quantity=3)
    answer = client.post(ids["pledges"], json=pledge_body(ids["stop"], add_ons={passes: 3}))
    assert answer.status_code == 201 and sold(app, passes) == 3
    refused = client.post(
        ids["pledges"], json=pledge_body(ids["stop"], email="b@example.com", add_ons={passes: 1})
    )
    assert refused.status_code == 409 and f"add_ons.{passes}" in refused.json["errors"]
    canceled = ids["api"].post(f"/v1/pledges/{answer.json['pledge']['id']}/cancel")
    assert canceled.status_code == 200, canceled.json
    assert sold(app, passes) == 0
    trip = client.get(f"/w/kc-chiefs/api/trips/{ids['trip']}").json
    assert trip["add_ons"] == [
        {"id": passes, "name": "Tailgate pass", "unit_amount": 1500, "remaining": 3}
    ]


def test_the_no_js_form_takes_add_ons_and_shows_the_total(app, client):
    ids = partner_with_open_trip(app, client)
    passes = add_on(app, ids["trip"], "Tailgate pass", 1500, quantity=5)
    off = add_on(app, ids["trip"], "Old scarf", 100)
    with app.app_context(), db.transaction() as session:
        session.get(AddOn, off).active = False
    page_url = f"/w/kc-chiefs/trips/{ids['trip']}/pledge"
    page = client.get(page_url).get_data(as_text=True)
    assert f'name="add_ons.{passes}"' in page and "Old scarf" not in page
    data = {
        "stop_id": ids["stop"],
        "seats": "2",
        "name": "Pat Fan",
        "email": "pat@example.com",
        "card_number": "4242424242424242",
        f"add_ons.{passes}": "3",
    }
    answer = submit_form(client, page_url, "/pledge", data)
    assert answer.status_code == 303, answer.get_data(as_text=True)[:2000]
    with app.app_context():
        pledge = db.session.scalars(select(Pledge)).one()
        assert pledge.amount == 2 * 3500 + 3 * 1500
    # Asking for more than is left: the form again, the field named, nothing taken.
    data["email"] = "other@example.com"
    again = submit_form(client, page_url, "/pledge", data)
    assert again.status_code == 409
    assert f'data-error-for="add_ons.{passes}"' in again.get_data(as_text=True)
    assert sold(app, passes) == 3


@pytest.mark.parametrize(
    "choices",
    [
        {"addon_nope": 1},
        {"../../etc": 1},
        {"\ud800": 1},
        "scarf",
        [1, 2],
        {"ADDON": {"deep": [[[1]]]}},
    ],
)
def test_hostile_add_on_choices_are_a_422_naming_add_ons(app, client, choices):
    ids = partner_with_open_trip(app, client)
    answer = client.post(ids["pledges"], json=pledge_body(ids["stop"], add_ons=choices))
    assert answer.status_code == 422, answer.json
    assert any(field.startswith("add_ons") for field in answer.json["errors"]), answer.json


@pytest.mark.parametrize("quantity", [-1, 11, 10**30, True, "2", 1.5, None])
def test_hostile_add_on_quantities_are_a_422(app, client, quantity):
    ids = partner_with_open_trip(app, client)
    passes = add_on(app, ids["trip"], "Tailgate pass", 1500)
    body = pledge_body(ids["stop"], add_ons={passes: quantity})
    answer = client.post(ids["pledges"], json=body)
    assert answer.status_code == 422, answer.json
    assert any(field.startswith("add_ons") for field in answer.json["errors"]), answer.json
    assert sold(app, passes) == 0


def test_another_trips_or_a_turned_off_add_on_is_refused(app, client):
    ids = partner_with_open_trip(app, client)
    with app.app_context(), db.transaction() as session:
        other_trip = make_trip(session, session.get(Trip, ids["trip"]).event.partner)
        other_id = other_trip.id
    foreign = add_on(app, other_id, "Elsewhere", 100)
    off = add_on(app, ids["trip"], "Off", 100)
    ids["api"].patch(f"/v1/trips/{ids['trip']}/add_ons/{off}", json={"active": False})
    for add_on_id in (foreign, off):
        body = pledge_body(ids["stop"], add_ons={add_on_id: 1})
        answer = client.post(ids["pledges"], json=body)
        assert answer.status_code == 422, answer.json
        assert f"add_ons.{add_on_id}" in answer.json["errors"]


def test_api_creates_lists_updates_and_walls_off_add_ons(app, client):
    ids = partner_with_open_trip(app, client)
    api, trip = ids["api"], ids["trip"]
    created = api.post(
        f"/v1/trips/{trip}/add_ons",
        json={"name": "Tailgate pass", "unit_amount": 1500, "quantity": 2},
    )
    assert created.status_code == 201, created.json
    body = created.json
    assert body["object"] == "add_on" and body["id"].startswith("addon_")
    assert created.headers["Location"] == f"/v1/trips/{trip}/add_ons/{body['id']}"
    assert (body["sold"], body["remaining"], body["active"], body["currency"]) == (
        0,
        2,
        True,
        "USD",
    )
    assert api.get(f"/v1/trips/{trip}").json["add_ons"][0]["id"] == body["id"]
    assert api.get(f"/v1/trips/{trip}/add_ons").json["data"][0]["name"] == "Tailgate pass"
    client.post(ids["pledges"], json=pledge_body(ids["stop"], add_ons={body["id"]: 2}))
    below = api.patch(f"/v1/trips/{trip}/add_ons/{body['id']}", json={"quantity": 1})
    assert below.status_code == 422 and "quantity" in below.json["errors"]
    changed = api.patch(
        f"/v1/trips/{trip}/add_ons/{body['id']}", json={"quantity": None, "name": "VIP"}
    )
    assert changed.status_code == 200, changed.json
    assert (changed.json["quantity"], changed.json["remaining"], changed.json["name"]) == (
        None,
        None,
        "VIP",
    )
    for bad, field in [
        ({"name": "", "unit_amount": 1}, "name"),
        ({"name": "x" * 121, "unit_amount": 1}, "name"),
        ({"name": "A\x00", "unit_amount": 1}, "name"),
        ({"name": "A", "unit_amount": -1}, "unit_amount"),
        ({"name": "A", "unit_amount": 10**40}, "unit_amount"),
        ({"name": "A", "unit_amount": "12"}, "unit_amount"),
        ({"name": "A", "unit_amount": 1, "quantity": -5}, "quantity"),
        ({"name": "A", "unit_amount": 1, "active": "yes"}, "active"),
        ({"name": "A", "unit_amount": 1, "sold": 0}, "sold"),
    ]:
        answer = api.post(f"/v1/trips/{trip}/add_ons", json=bad)
        assert answer.status_code == 422, (bad, answer.json)
        assert field in answer.json["errors"], (bad, answer.json)
    # Another partner sees nothing of it: 404 on the trip and the add-on.
    theirs = partner_with_open_trip(app, client, slug="other-team")
    for path in (f"/v1/trips/{trip}/add_ons", f"/v1/trips/{trip}/add_ons/{body['id']}"):
        assert theirs["api"].get(path).status_code == 404
    mixed = f"/v1/trips/{theirs['trip']}/add_ons/{body['id']}"
    assert theirs["api"].patch(mixed, json={"name": "Mine"}).status_code == 404
    assert api.get(mixed).status_code == 404
