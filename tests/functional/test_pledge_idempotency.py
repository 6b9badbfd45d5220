"""A retried pledge is the same pledge: the widget's pledge (JSON API and no-JS form) takes an
`Idempotency-Key`; a repeat, concurrent ones included, answers the first answer again and
creates nothing, and the card is saved at the provider under a key derived from it."""

from __future__ import annotations

import hashlib
import json
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
import requests
from sqlalchemy import delete, func, select

from tests.conftest import LiveServer
from tests.factories import make_partner, make_trip
from tests.functional import stripe_helpers
from tests.functional.oauth_helpers import bearer, get_token, new_client
from tests.functional.stripe_helpers import LIBRARY_TRIES
from tests.widget_helpers import form_fields
from widget_server import idempotency
from widget_server.extensions import db
from widget_server.jobs import tasks
from widget_server.models import IdempotencyRecord, Pledge, Trip
from widget_server.models.types import utcnow

fake_stripe = stripe_helpers.fake_stripe
make_shop = stripe_helpers.make_shop
shop = stripe_helpers.shop

KEY = "3f0c6f9e-2b7d-4a53-9a51-4f6f1c1a0b11"


@pytest.fixture
def trip(app):
    """A partner with an open trip (capacity 10, confirms at 5)."""
    with app.app_context(), db.transaction() as session:
        partner = make_partner(session, "kc-chiefs")
        trip = make_trip(session, partner, capacity=10, min_riders=5)
        return {
            "partner_id": partner.id,
            "id": trip.id,
            "stop": trip.stops[0].id,
            "url": f"/w/kc-chiefs/api/trips/{trip.id}/pledges",
            "form": f"/w/kc-chiefs/trips/{trip.id}/pledge",
        }


def body(trip, **fields) -> dict:
    return {
        "stop_id": trip["stop"],
        "seats": 2,
        "name": "Pat Fan",
        "email": "pat@example.com",
        "payment_method": "pm_card_visa",
        **fields,
    }


def post(client, trip, key=KEY, **fields):
    headers = {"Idempotency-Key": key} if key else {}
    return client.post(trip["url"], json=body(trip, **fields), headers=headers)


def pledge_count(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(Pledge))


class RecordingProvider:
    """The app's provider, with every save_card call's arguments kept; with `gate`, the first
    call waits for it to open (a card that takes a while to save)."""

    def __init__(self, inner, gate: threading.Event | None = None):
        self.inner, self.gate = inner, gate
        self.name = inner.name
        self.saved: list[dict] = []
        self.entered = threading.Event()

    def save_card(self, **kwargs):
        self.saved.append(kwargs)
        if self.gate is not None and len(self.saved) == 1:
            self.entered.set()
            assert self.gate.wait(30), "the test never let the first card be saved"
        return self.inner.save_card(**kwargs)

    def __getattr__(self, name):
        return getattr(self.inner, name)


def record_provider(app, gate=None) -> RecordingProvider:
    provider = RecordingProvider(app.extensions["ridepledge.payments"], gate)
    app.extensions["ridepledge.payments"] = provider
    return provider


def test_same_key_twice_makes_one_pledge_and_replays_the_answer(app, client, trip):
    provider = record_provider(app)
    first = post(client, trip)
    again = post(client, trip)
    assert first.status_code == again.status_code == 201, first.json
    assert "Idempotent-Replayed" not in first.headers
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.json == first.json
    assert pledge_count(app) == 1 and len(provider.saved) == 1
    with app.app_context():
        assert db.session.get(Trip, trip["id"]).seats_pledged == 2


def test_an_attempt_whose_answer_was_lost_finds_its_pledge_when_run_again(app, client, trip):
    """The app host died after the pledge committed and before the answer was stored: once the
    key's claim is abandoned, the fan's retry runs the attempt again and gets the pledge it
    made, not a second one (the pledge records its attempt)."""
    first = post(client, trip)
    assert first.status_code == 201, first.json
    with app.app_context(), db.transaction() as session:
        session.execute(delete(IdempotencyRecord))  # as good as an abandoned claim
    again = post(client, trip)
    assert again.status_code == 201, again.json
    assert "Idempotent-Replayed" not in again.headers  # it ran, and found its pledge
    assert again.json["pledge"]["id"] == first.json["pledge"]["id"]
    assert pledge_count(app) == 1
    with app.app_context():
        assert db.session.get(Trip, trip["id"]).seats_pledged == 2
    assert (
        post(client, trip, key="another-key-4a53-9a51").json["pledge"]["id"]
        != (first.json["pledge"]["id"])
    )


def test_same_key_with_another_body_is_422_naming_the_key(app, client, trip):
    assert post(client, trip).status_code == 201
    other = post(client, trip, seats=1)
    assert other.status_code == 422
    assert other.json["type"].endswith("/idempotency-key-reused")
    assert list(other.json["errors"]) == ["Idempotency-Key"]
    assert pledge_count(app) == 1


def test_the_key_belongs_to_the_partner_and_is_checked(app, client, trip):
    bad = post(client, trip, key="key\x07")
    assert bad.status_code == 422 and list(bad.json["errors"]) == ["Idempotency-Key"]
    assert post(client, trip).status_code == 201
    with app.app_context():
        [record] = db.session.scalars(select(IdempotencyRecord))
        assert record.client_id == f"widget:{trip['partner_id']}" and record.key == KEY


def test_without_a_key_the_pledge_is_made_as_before(app, client, trip):
    """Old embeds send no key: each POST is a pledge (no replay protection for them)."""
    assert post(client, trip, key=None).status_code == 201
    assert post(client, trip, key=None).status_code == 201
    assert pledge_count(app) == 2


def test_the_card_is_saved_under_a_key_derived_from_the_attempt(app, client, trip):
    provider = record_provider(app)
    raw = json.dumps(body(trip)).encode()
    response = client.post(
        trip["url"], data=raw, content_type="application/json", headers={"Idempotency-Key": KEY}
    )
    assert response.status_code == 201
    fingerprint = hashlib.sha256(b"\n".join([b"POST", trip["url"].encode(), raw])).hexdigest()
    claim = idempotency.Claim(f"widget:{trip['partner_id']}", KEY, fingerprint)
    [saved] = provider.saved
    assert saved["key"] == f"pledge-attempt-{claim.attempt}-setup"
    assert saved["reference"] == f"pledge-attempt-{claim.attempt}"
    # Without a key, the card's key is the new pledge's own, as before.
    plain = post(client, trip, key=None, email="sam@example.com")
    assert provider.saved[1]["key"] == f"pledge-{plain.json['pledge']['id']}-setup"


def test_concurrent_posts_with_the_same_key_make_one_pledge(app, trip, monkeypatch):
    """The second POST arrives while the first is saving the card: it waits, then replays."""
    gate = threading.Event()
    provider = record_provider(app, gate)
    repeat_waits = threading.Event()
    look = idempotency._claim_or_replay

    def watched(*args):
        outcome = look(*args)
        if outcome is idempotency._RUNNING:
            repeat_waits.set()
        return outcome

    monkeypatch.setattr(idempotency, "_claim_or_replay", watched)
    server = LiveServer(app).start()

    def send():
        return requests.post(
            server.url + trip["url"],
            json=body(trip),
            headers={"Idempotency-Key": KEY, "Sec-Fetch-Site": "same-origin"},
            timeout=60,
        )

    try:
        with ThreadPoolExecutor(max_workers=2) as pool:
            first = pool.submit(send)
            assert provider.entered.wait(30)
            second = pool.submit(send)
            assert repeat_waits.wait(30)  # the repeat found the first one running
            gate.set()
            answers = [first.result(), second.result()]
    finally:
        gate.set()
        server.stop()
    assert [answer.status_code for answer in answers] == [201, 201]
    assert [answer.headers.get("Idempotent-Replayed") for answer in answers] == [None, "true"]
    ids = {answer.json()["pledge"]["id"] for answer in answers}
    assert len(ids) == 1 and pledge_count(app) == 1 and len(provider.saved) == 1


def test_a_repeat_waits_a_bounded_time_then_gets_409(app, trip):
    app.config["IDEMPOTENCY_WAIT_SECONDS"] = 0.3
    gate = threading.Event()
    provider = record_provider(app, gate)
    server = LiveServer(app).start()

    def send():
        return requests.post(
            server.url + trip["url"], json=body(trip), headers={"Idempotency-Key": KEY}, timeout=60
        )

    try:
        with ThreadPoolExecutor(max_workers=1) as pool:
            first = pool.submit(send)
            assert provider.entered.wait(30)
            waiting = send()
            gate.set()
            created = first.result()
        replayed = send()
    finally:
        gate.set()
        server.stop()
    assert waiting.status_code == 409
    assert waiting.json()["type"].endswith("/idempotency-in-progress")
    assert created.status_code == 201
    assert replayed.status_code == 201 and replayed.headers["Idempotent-Replayed"] == "true"
    assert replayed.json() == created.json() and pledge_count(app) == 1


def no_js_input(trip) -> dict:
    return {
        "stop_id": trip["stop"],
        "seats": "2",
        "name": "Pat Fan",
        "email": "pat@example.com",
        "card_number": "4242 4242 4242 4242",
    }


def test_no_js_form_sent_twice_with_its_key_makes_one_pledge(app, client, trip):
    page = client.get(trip["form"]).get_data(as_text=True)
    action, hidden = form_fields(page, "/pledge")
    assert len(hidden["idempotency_key"]) == 36  # a UUID, new with every page
    _, other_render = form_fields(client.get(trip["form"]).get_data(as_text=True), "/pledge")
    assert other_render["idempotency_key"] != hidden["idempotency_key"]
    data = {**hidden, **no_js_input(trip)}
    first = client.post(action, data=data)
    again = client.post(action, data=data)  # the browser sends the form again
    assert first.status_code == again.status_code == 303
    assert again.headers["Location"] == first.headers["Location"]
    assert again.headers["Idempotent-Replayed"] == "true"
    assert pledge_count(app) == 1
    changed = client.post(action, data={**data, "seats": "1"})
    assert changed.status_code == 422
    assert "This form was already sent with other details." in changed.get_data(as_text=True)
    assert pledge_count(app) == 1


def test_no_js_form_still_running_keeps_its_key_for_the_next_send(app, client, trip):
    """Answered "still in progress", the page carries the same attempt's key, so sending it
    again replays the pledge instead of making a second one."""
    app.config["IDEMPOTENCY_WAIT_SECONDS"] = 0.2
    gate = threading.Event()
    provider = record_provider(app, gate)
    action, hidden = form_fields(client.get(trip["form"]).get_data(as_text=True), "/pledge")
    data = {**hidden, **no_js_input(trip)}
    try:
        with ThreadPoolExecutor(max_workers=1) as pool:
            first = pool.submit(lambda: app.test_client().post(action, data=data))
            assert provider.entered.wait(30)
            running = client.post(action, data=data)
            gate.set()
            assert first.result().status_code == 303
    finally:
        gate.set()
    assert running.status_code == 409
    html = running.get_data(as_text=True)
    assert "Your pledge is still being saved." in html
    _, resent = form_fields(html, "/pledge")
    assert resent["idempotency_key"] == hidden["idempotency_key"]
    again = client.post(action, data={**resent, **no_js_input(trip)})  # a fresh form token
    assert again.status_code == 303 and again.headers["Idempotent-Replayed"] == "true"
    assert again.headers["Location"] == first.result().headers["Location"]
    assert pledge_count(app) == 1 and len(provider.saved) == 1


def test_housekeeping_purges_expired_records_and_requests_delete_nothing(app, client, trip):
    """Requests with a key (the API's and the widget's) leave expired records to the hourly
    housekeeping, which deletes them (no table-wide DELETE inside a request)."""
    old = utcnow() - timedelta(hours=26)
    with app.app_context(), db.transaction() as session:
        session.add(
            IdempotencyRecord(
                client_id="cli_someone",
                key="old",
                method="POST",
                path="/v1/events",
                request_hash="0" * 64,
                response_status=201,
                response_body="",
                created_at=old,
            )
        )
    token = get_token(client, new_client(app))
    hook = {"url": "http://127.0.0.1:9/hook", "events": ["pledge.created"]}
    api_headers = {"Idempotency-Key": "hook-1", **bearer(token)}
    assert client.post("/v1/webhook_endpoints", json=hook, headers=api_headers).status_code == 201
    assert post(client, trip).status_code == 201
    with app.app_context():
        keys = set(db.session.scalars(select(IdempotencyRecord.key)))
        assert keys == {"old", "hook-1", KEY}
        counts = tasks.housekeeping()
        assert counts["idempotency_records"] == 1
        assert set(db.session.scalars(select(IdempotencyRecord.key))) == {"hook-1", KEY}


def test_with_stripe_a_retried_attempt_saves_one_card(shop):
    """Stripe saves the card but every answer is lost: the pledge is a 503, nothing is made.
    The fan sends the attempt again with its key: Stripe answers the first SetupIntent again
    (same key, same request), and one pledge is made with it."""
    shop.fake.drop_next(LIBRARY_TRIES, path="/v1/setup_intents")
    url = f"{shop.base}/trips/{shop.trip_id}/pledges"
    fan = {"stop_id": shop.stop_id, "seats": 2, "name": "Pat Fan", "email": "pat@example.com"}
    fan["payment_method"] = "pm_card_visa"
    lost = shop.client.post(url, json=fan, headers={"Idempotency-Key": KEY})
    assert lost.status_code == 503, lost.json
    made = shop.client.post(url, json=fan, headers={"Idempotency-Key": KEY})
    assert made.status_code == 201, made.json
    assert len(shop.fake.setup_intents) == 1 and len(shop.fake.customers) == 1
    setups = [r for r in shop.fake.requests if r["path"] == "/v1/setup_intents"]
    assert len(setups) == LIBRARY_TRIES + 1 and setups[-1]["replayed"]
    assert {r["idempotency_key"] for r in setups} == {setups[0]["idempotency_key"]}
    assert setups[0]["idempotency_key"].startswith("pledge-attempt-")
    assert setups[0]["params"]["metadata"] == {"pledge_attempt": setups[0]["idempotency_key"][:-6]}
    [pledge] = shop.pledges()
    assert pledge.payment_setup_ref == next(iter(shop.fake.setup_intents))
