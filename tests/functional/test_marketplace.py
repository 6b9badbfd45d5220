"""The bus marketplace through the APIs: a partner asks operators for a bus, operators quote,
the partner awards one (which makes the draft trip), the others are told and see nothing more;
awards the rules refuse; tenant walls both ways; a concurrent double award."""

from __future__ import annotations

import math
import threading
from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from tests.api_helpers import ApiSession, issue_token
from tests.factories import make_event, make_partner
from tests.functional.marketplace_helpers import (
    OPERATOR_SCOPES,
    make_operator,
    operator_api,
    quote_body,
    request_body,
)
from widget_server.domain.accounts.admins import create_admin
from widget_server.extensions import db
from widget_server.models import (
    OutboundEmail,
    Partner,
    Quote,
    Trip,
    TripRequest,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookMessage,
)
from widget_server.models.types import rfc3339, utcnow


@pytest.fixture
def market(app, client):
    """A partner (every partner scope) with an event, and three operators: two serving KS (each
    with an owner and a webhook endpoint), one serving MO only."""
    with app.app_context(), db.transaction() as session:
        partner = make_partner(session, "kc-chiefs")
        event = make_event(session, partner)
        ids = {"partner": partner.id, "event": event.id, "starts_at": event.starts_at}
        for slug, regions in (("acme", ["KS", "MO"]), ("bluebird", ["KS"]), ("ozark", ["MO"])):
            ids[slug] = make_operator(session, slug, regions=regions).id
    ids["api"] = ApiSession(client, issue_token(app, ids["partner"]))
    return _LazyOperatorApis(ids, app, client)


class _LazyOperatorApis(dict):
    """The market's ids; `market["acme_api"]` is an API session of that operator, made when a
    test first asks for it."""

    def __init__(self, ids, app, client):
        super().__init__(ids)
        self._app, self._client = app, client

    def __missing__(self, key):
        if not key.endswith("_api"):
            raise KeyError(key)
        slug = key.removesuffix("_api")
        self[key] = operator_api(self._app, self._client, self[slug], OPERATOR_SCOPES)
        return self[key]


def _ask(market, **fields):
    response = market["api"].post("/v1/trip_requests", json=request_body(market, **fields))
    assert response.status_code == 201, response.get_data(as_text=True)
    return response.json


def _quote(api, request_id, **fields):
    response = api.post(
        f"/v1/operator/trip_requests/{request_id}/quotes", json=quote_body(**fields)
    )
    assert response.status_code == 201, response.get_data(as_text=True)
    return response.json


def _told(app, operator_id: str, event_type: str) -> tuple[int, int]:
    """(emails, webhook deliveries) recorded for the operator about `event_type`."""
    with app.app_context():
        emails = [
            email
            for email in db.session.scalars(
                select(OutboundEmail).where(OutboundEmail.operator_id == operator_id)
            )
            if email.context.get("event_type") == event_type
        ]
        hooks = db.session.scalars(
            select(WebhookDelivery)
            .join(WebhookMessage, WebhookMessage.id == WebhookDelivery.message_id)
            .where(WebhookDelivery.operator_id == operator_id, WebhookMessage.type == event_type)
        ).all()
        return len(emails), len(hooks)


# --- the issue's "done when" -------------------------------------------------------------------


def test_two_operators_quote_the_partner_awards_one_and_the_other_hears_it(app, market):
    request = _ask(market)
    assert request["status"] == "open" and request["id"].startswith("treq_")
    assert request["operators"] == ["acme", "bluebird"]  # every operator serving KS
    assert _told(app, market["acme"], "trip_request.created") == (2, 1)
    assert _told(app, market["ozark"], "trip_request.created") == (0, 0)

    # Both see it and quote; one revises.
    for name in ("acme", "bluebird"):
        listed = market[f"{name}_api"].get("/v1/operator/trip_requests").json["data"]
        assert [r["id"] for r in listed] == [request["id"]]
        assert listed[0]["partner"] == {"slug": "kc-chiefs", "name": "Kc Chiefs"}
    acme = _quote(market["acme_api"], request["id"], seats=56, amount=250000)
    blue = _quote(market["bluebird_api"], request["id"], seats=50, amount=180000)
    revised = market["bluebird_api"].patch(
        f"/v1/operator/quotes/{blue['id']}", json={"amount": 175000}
    )
    assert revised.status_code == 200 and revised.json["amount"] == 175000

    # The partner compares them, with each operator's compliance.
    shown = market["api"].get(f"/v1/trip_requests/{request['id']}").json
    quotes = {q["id"]: q for q in shown["quotes"]}
    assert quotes[blue["id"]]["amount"] == 175000
    with app.app_context():
        from widget_server.models import Operator

        usdot = db.session.get(Operator, market["acme"]).usdot_number
    assert usdot and quotes[acme["id"]]["operator"]["usdot_number"] == usdot
    assert quotes[acme["id"]]["operator"]["insurance_expires_on"]

    # The award makes the draft trip from the quote.
    award = market["api"].post(
        f"/v1/trip_requests/{request['id']}/award",
        json={"quote_id": blue["id"], "unit_amount": 4000},
    )
    assert award.status_code == 201, award.get_data(as_text=True)
    trip = award.json["trip"]
    assert trip["status"] == "draft"
    assert trip["capacity"] == 50
    assert trip["min_riders"] == math.ceil(175000 / 4000) == 44
    assert trip["operator"]["name"] == "Bluebird Coaches"
    assert market["api"].get(f"/v1/trips/{trip['id']}").json["capacity"] == 50
    done = market["api"].get(f"/v1/trip_requests/{request['id']}").json
    assert done["status"] == "awarded" and done["trip_id"] == trip["id"]
    assert {q["id"]: q["status"] for q in done["quotes"]} == {
        blue["id"]: "awarded",
        acme["id"]: "not_awarded",
    }

    # The winner and the other operator are told; the other then sees nothing more.
    assert _told(app, market["bluebird"], "quote.awarded") == (2, 1)
    assert _told(app, market["acme"], "quote.not_awarded") == (2, 1)
    assert market["acme_api"].get("/v1/operator/trip_requests").json["data"] == []
    gone = market["acme_api"].post(
        f"/v1/operator/trip_requests/{request['id']}/quotes", json=quote_body()
    )
    assert gone.status_code == 404
    assert (
        market["acme_api"]
        .patch(f"/v1/operator/quotes/{acme['id']}", json={"amount": 1})
        .status_code
        == 409
    )


def test_the_threshold_is_at_most_the_capacity_and_can_be_given(app, market):
    request = _ask(market)
    quote = _quote(market["acme_api"], request["id"], seats=20, amount=500000)
    award = market["api"].post(
        f"/v1/trip_requests/{request['id']}/award",
        json={"quote_id": quote["id"], "unit_amount": 1000},
    )
    assert award.json["trip"]["min_riders"] == 20  # 500 seats' worth: capped at the bus's 20
    other = _ask(market)
    quote = _quote(market["acme_api"], other["id"], seats=20, amount=50000)
    given = market["api"].post(
        f"/v1/trip_requests/{other['id']}/award",
        json={"quote_id": quote["id"], "unit_amount": 1000, "min_riders": 12},
    )
    assert given.status_code == 201 and given.json["trip"]["min_riders"] == 12


def test_an_operator_whose_insurance_ends_before_the_trip_cannot_be_awarded(app, market):
    request = _ask(market)
    quote = _quote(market["acme_api"], request["id"])
    with app.app_context(), db.transaction() as session:
        from widget_server.models import Operator

        session.get(Operator, market["acme"]).insurance_expires_on = date.today()
    refused = market["api"].post(
        f"/v1/trip_requests/{request['id']}/award",
        json={"quote_id": quote["id"], "unit_amount": 4000},
    )
    assert refused.status_code == 409
    assert refused.headers["Content-Type"] == "application/problem+json"
    assert "insurance" in refused.json["detail"]
    with app.app_context():
        assert db.session.scalar(select(Trip.id)) is None
        assert db.session.get(TripRequest, request["id"]).status == "open"


def test_an_expired_quote_cannot_be_awarded(app, market):
    request = _ask(market)
    quote = _quote(market["acme_api"], request["id"])
    with app.app_context(), db.transaction() as session:
        session.get(Quote, quote["id"]).valid_until = utcnow() - timedelta(minutes=1)
    refused = market["api"].post(
        f"/v1/trip_requests/{request['id']}/award",
        json={"quote_id": quote["id"], "unit_amount": 4000},
    )
    assert refused.status_code == 409 and "expired" in refused.json["detail"]


def test_a_withdrawn_quote_cannot_be_awarded_and_a_new_one_can_be_sent(app, market):
    request = _ask(market)
    quote = _quote(market["acme_api"], request["id"])
    twice = market["acme_api"].post(
        f"/v1/operator/trip_requests/{request['id']}/quotes", json=quote_body()
    )
    assert twice.status_code == 409  # one open quote at a time: revise it
    withdrawn = market["acme_api"].post(f"/v1/operator/quotes/{quote['id']}/withdraw")
    assert withdrawn.status_code == 200 and withdrawn.json["status"] == "withdrawn"
    refused = market["api"].post(
        f"/v1/trip_requests/{request['id']}/award",
        json={"quote_id": quote["id"], "unit_amount": 4000},
    )
    assert refused.status_code == 409
    assert _quote(market["acme_api"], request["id"])["status"] == "open"
    mine = market["acme_api"].get("/v1/operator/quotes").json["data"]
    assert {q["status"] for q in mine} == {"open", "withdrawn"}


def test_no_operator_serving_the_region_is_a_422_on_operators(app, market):
    response = market["api"].post(
        "/v1/trip_requests", json=request_body(market, origin={"name": "Reno", "region": "NV"})
    )
    assert response.status_code == 422 and "operators" in response.json["errors"]
    unknown = market["api"].post(
        "/v1/trip_requests", json=request_body(market, operators=["acme", "nobody"])
    )
    assert unknown.status_code == 422 and "nobody" in unknown.json["errors"]["operators"][0]
    named = _ask(market, origin={"name": "Reno", "region": "NV"}, operators=["ozark"])
    assert named["operators"] == ["ozark"]


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"expected_riders": 0}, "expected_riders"),
        ({"expected_riders": 10**30}, "expected_riders"),
        ({"vehicle_kind": "rocket"}, "vehicle_kind"),
        ({"departs_at": "9999-12-31T00:00:00Z"}, "departs_at"),
        ({"origin": {"name": "\ud800", "region": "KS"}}, "origin.name"),
        ({"origin": {"name": "A\x00B", "region": "KS"}}, "origin.name"),
        ({"event_id": "evt_00000000000000000000000000"}, "event_id"),
        ({"operators": [{"a": [[[]]]}]}, "operators.0"),
    ],
)
def test_hostile_requests_are_422_naming_the_field(app, market, fields, field):
    response = market["api"].post("/v1/trip_requests", json=request_body(market, **fields))
    assert response.status_code == 422, response.get_data(as_text=True)
    assert field in response.json["errors"]


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"seats": 0}, "seats"),
        ({"amount": -5}, "amount"),
        ({"amount": 10**40}, "amount"),
        ({"currency": "XXX1"}, "currency"),
        ({"valid_until": "2000-01-01T00:00:00Z"}, "valid_until"),
        ({"vehicle_id": "veh_00000000000000000000000000"}, "vehicle_id"),
        ({"notes": "x" * 5000}, "notes"),
    ],
)
def test_hostile_quotes_are_422_naming_the_field(app, market, fields, field):
    request = _ask(market)
    response = market["acme_api"].post(
        f"/v1/operator/trip_requests/{request['id']}/quotes", json=quote_body(**fields)
    )
    assert response.status_code == 422, response.get_data(as_text=True)
    assert field in response.json["errors"]


# --- tenant walls ------------------------------------------------------------------------------


def test_another_partners_request_and_quotes_are_404_on_every_partner_route(app, client, market):
    request = _ask(market)
    quote = _quote(market["acme_api"], request["id"])
    with app.app_context(), db.transaction() as session:
        other = make_partner(session, "other-team")
        other_id = other.id
    intruder = ApiSession(client, issue_token(app, other_id))
    assert intruder.get(f"/v1/trip_requests/{request['id']}").status_code == 404
    assert intruder.get("/v1/trip_requests").json["data"] == []
    award = intruder.post(
        f"/v1/trip_requests/{request['id']}/award",
        json={"quote_id": quote["id"], "unit_amount": 4000},
    )
    assert award.status_code == 404
    # Its own request cannot award another request's quote either.
    with app.app_context(), db.transaction() as session:
        from widget_server.models import Partner

        event_id = make_event(session, session.get(Partner, other_id)).id
    own = intruder.post(
        "/v1/trip_requests", json=request_body({"event": event_id}, operators=["ozark"])
    )
    assert own.status_code == 201
    crossed = intruder.post(
        f"/v1/trip_requests/{own.json['id']}/award",
        json={"quote_id": quote["id"], "unit_amount": 4000},
    )
    assert crossed.status_code == 422 and "quote_id" in crossed.json["errors"]


def test_an_operator_not_asked_gets_404_on_the_requests_routes(app, market):
    request = _ask(market)  # KS: acme and bluebird
    quote = _quote(market["acme_api"], request["id"])
    ozark = market["ozark_api"]
    assert ozark.get("/v1/operator/trip_requests").json["data"] == []
    assert ozark.get(f"/v1/operator/trip_requests/{request['id']}").status_code == 404
    posted = ozark.post(f"/v1/operator/trip_requests/{request['id']}/quotes", json=quote_body())
    assert posted.status_code == 404
    assert ozark.patch(f"/v1/operator/quotes/{quote['id']}", json={"amount": 1}).status_code == 404
    assert ozark.post(f"/v1/operator/quotes/{quote['id']}/withdraw").status_code == 404
    assert ozark.get("/v1/operator/quotes").json["data"] == []


def test_partner_and_operator_tokens_each_stay_on_their_side(app, market):
    request = _ask(market)
    assert market["acme_api"].get("/v1/trip_requests").status_code in (401, 403, 404)
    assert market["acme_api"].get(f"/v1/trip_requests/{request['id']}").status_code in (
        401,
        403,
        404,
    )
    assert market["api"].get("/v1/operator/trip_requests").status_code in (401, 403, 404)


# --- withdrawing from an awarded trip ----------------------------------------------------------


def test_an_operator_withdrawing_reopens_the_request_and_alerts_the_partner(app, market):
    with app.app_context(), db.transaction() as session:
        partner = session.get(Partner, market["partner"])
        for role in ("owner", "editor", "viewer"):
            create_admin(session, partner, email=f"{role}@kc.example", role=role, actor="test")
        session.add(
            WebhookEndpoint(
                partner_id=partner.id,
                url="http://127.0.0.1:9/hooks",
                events=["trip.operator_withdrew"],
                status="enabled",
                secret_encrypted="unused",
            )
        )
    request = _ask(market)
    acme = _quote(market["acme_api"], request["id"], seats=40, amount=160000)
    trip = (
        market["api"]
        .post(
            f"/v1/trip_requests/{request['id']}/award",
            json={"quote_id": acme["id"], "unit_amount": 4000},
        )
        .json["trip"]
    )
    # A trip not awarded to the operator: 404.
    not_its = market["bluebird_api"].post(f"/v1/operator/trips/{trip['id']}/withdraw")
    assert not_its.status_code == 404
    out = market["acme_api"].post(f"/v1/operator/trips/{trip['id']}/withdraw")
    assert out.status_code == 200, out.get_data(as_text=True)
    assert out.json["status"] == "withdrawn"
    shown = market["api"].get(f"/v1/trips/{trip['id']}").json
    assert shown["operator"]["name"] is None and shown["status"] == "draft"
    assert market["api"].get(f"/v1/trip_requests/{request['id']}").json["status"] == "open"
    with app.app_context():
        alerted = db.session.scalars(
            select(OutboundEmail.to_address).where(OutboundEmail.kind == "partner_news")
        ).all()
        assert sorted(alerted) == ["editor@kc.example", "owner@kc.example"]
        message = db.session.scalar(
            select(WebhookMessage).where(WebhookMessage.type == "trip.operator_withdrew")
        )
        assert message.partner_id == market["partner"]
        assert message.payload["data"]["operator"] == {"slug": "acme", "name": "Acme Coaches"}
        assert message.payload["data"]["trip_request_id"] == request["id"]
    # Bluebird, asked too, hears that the request is open again.
    assert _told(app, market["bluebird"], "trip_request.created") == (4, 2)
    # The request is open again: bluebird quotes, the partner awards it to the same trip.
    blue = _quote(market["bluebird_api"], request["id"], seats=45, amount=170000)
    again = market["api"].post(
        f"/v1/trip_requests/{request['id']}/award",
        json={"quote_id": blue["id"], "unit_amount": 4000},
    )
    assert again.status_code == 201 and again.json["trip"]["id"] == trip["id"]
    assert again.json["trip"]["capacity"] == 45


# --- one award, whatever the concurrency -------------------------------------------------------


def test_a_concurrent_double_award_makes_one_trip(app, market, live_server):
    import requests

    request = _ask(market)
    quotes = [
        _quote(market["acme_api"], request["id"])["id"],
        _quote(market["bluebird_api"], request["id"])["id"],
    ]
    token = market["api"].token
    barrier = threading.Barrier(2)
    answers = []

    def award(quote_id):
        barrier.wait()
        answers.append(
            requests.post(
                f"{live_server.url}/v1/trip_requests/{request['id']}/award",
                json={"quote_id": quote_id, "unit_amount": 4000},
                headers={"Authorization": f"Bearer {token}"},
                timeout=30,
            ).status_code
        )

    threads = [threading.Thread(target=award, args=(q,)) for q in quotes]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(answers) == [201, 409]
    with app.app_context():
        assert len(db.session.scalars(select(Trip.id)).all()) == 1


def test_the_valid_until_is_shown_as_given(app, market):
    request = _ask(market)
    until = utcnow().replace(microsecond=0) + timedelta(days=3)
    quote = _quote(market["acme_api"], request["id"], valid_until=rfc3339(until))
    assert quote["valid_until"] == rfc3339(until)


# --- what the news emails say ------------------------------------------------------------------


def test_operator_news_emails_are_written_in_each_readers_language(app, market, tmp_path):
    from tests.conftest import run_jobs

    _ask(market)
    run_jobs(app)
    with app.app_context():
        sent = {
            email.to_address: email
            for email in db.session.scalars(
                select(OutboundEmail).where(OutboundEmail.operator_id == market["acme"])
            )
        }
        assert {e.status for e in sent.values()} == {"sent"}
        assert set(sent) == {"dispatch@acme.example", "owner@acme.example"}
    outbox = app.config["SETTINGS"].instance_path
    texts = [path.read_text() for path in Path(outbox).rglob("*.eml")]
    spanish = [t for t in texts if "Nueva solicitud de cotizaci" in t]
    assert len(spanish) == 4  # the owners are Spanish speakers; each contact follows its owner
    assert any("/operator/requests" in t for t in spanish)
