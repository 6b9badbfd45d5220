"""`GET /v1/operator/payouts`: the calling operator's payouts only (contract fields, cursor
pages, a trip filter), behind `payouts:read`; another operator's payouts are never listed."""

from __future__ import annotations

import pytest

from tests.factories import make_partner
from tests.functional.oauth_helpers import bearer, get_token, new_client
from tests.functional.payout_helpers import (
    QUOTE_AMOUNT,
    complete,
    make_awarded_trip,
    make_operator,
    payouts,
)
from widget_server.domain.clients import create_client
from widget_server.extensions import db
from widget_server.jobs import tasks
from widget_server.models import Operator

PAYOUTS = "/v1/operator/payouts"


def operator_token(app, client, operator_id: str, scope: str = "payouts:read") -> str:
    with app.app_context(), db.transaction() as session:
        operator = session.get(Operator, operator_id)
        made, secret = create_client(session, operator, scope, "tests", actor="test")
        credentials = (made.id, secret)
    return get_token(client, credentials)


@pytest.fixture
def two_operators(app):
    """Operator `mine_op` owed two trips (`paid`, `owed`), operator `their_op` one (`theirs`):
    their ids."""
    with app.app_context(), db.transaction() as session:
        partner = make_partner(session, "kc-chiefs")
        mine = make_operator(session, "prairie-coach")
        theirs = make_operator(session, "other-coach")
        trips = {
            "paid": make_awarded_trip(session, mine, partner, title="Paid"),
            "owed": make_awarded_trip(session, mine, partner, amount=99000, title="Owed"),
            "theirs": make_awarded_trip(session, theirs, partner, title="Theirs"),
        }
        for trip in trips.values():
            complete(session, trip)
        ids = {name: trip.id for name, trip in trips.items()}
        ids.update(mine_op=mine.id, their_op=theirs.id)
    with app.app_context():
        first = next(p for p in payouts(db.session) if p.trip_id == ids["paid"])
        assert tasks.pay_operator(first.id) == "paid"
    return ids


def test_an_operator_lists_its_own_payouts_with_the_contract_fields(app, client, two_operators):
    token = operator_token(app, client, two_operators["mine_op"])
    answer = client.get(PAYOUTS, headers=bearer(token))
    assert answer.status_code == 200, answer.json
    body = answer.json
    assert body["object"] == "list" and body["has_more"] is False
    by_trip = {item["trip_id"]: item for item in body["data"]}
    assert set(by_trip) == {two_operators["paid"], two_operators["owed"]}
    paid = by_trip[two_operators["paid"]]
    assert {"trip_id", "amount", "currency", "status", "transfer_id"} <= set(paid)
    assert (paid["amount"], paid["currency"], paid["status"]) == (QUOTE_AMOUNT, "USD", "paid")
    assert paid["transfer_id"].startswith("tr_sim_") and paid["paid_at"].endswith("Z")
    owed = by_trip[two_operators["owed"]]
    assert (owed["amount"], owed["status"], owed["transfer_id"]) == (99000, "pending", None)


def test_payouts_come_in_cursor_pages_and_by_trip(app, client, two_operators):
    token = operator_token(app, client, two_operators["mine_op"])
    first = client.get(PAYOUTS, query_string={"limit": 1}, headers=bearer(token)).json
    assert first["has_more"] is True and len(first["data"]) == 1
    second = client.get(
        PAYOUTS, query_string={"limit": 1, "cursor": first["next_cursor"]}, headers=bearer(token)
    ).json
    assert second["has_more"] is False
    assert {first["data"][0]["trip_id"], second["data"][0]["trip_id"]} == {
        two_operators["paid"],
        two_operators["owed"],
    }
    one = client.get(
        PAYOUTS, query_string={"trip_id": two_operators["owed"]}, headers=bearer(token)
    )
    assert [item["trip_id"] for item in one.json["data"]] == [two_operators["owed"]]


def test_another_operators_payouts_are_never_listed(app, client, two_operators):
    token = operator_token(app, client, two_operators["their_op"])
    body = client.get(PAYOUTS, headers=bearer(token)).json
    assert [item["trip_id"] for item in body["data"]] == [two_operators["theirs"]]
    # Asking for another operator's trip by id finds nothing, and says nothing of it.
    other = client.get(
        PAYOUTS, query_string={"trip_id": two_operators["paid"]}, headers=bearer(token)
    )
    assert other.status_code == 200 and other.json["data"] == []


def test_payouts_need_the_scope_and_an_operator_token(app, client, two_operators):
    without = operator_token(app, client, two_operators["mine_op"], scope="requests:read")
    assert client.get(PAYOUTS, headers=bearer(without)).status_code == 403
    partner = get_token(client, new_client(app))
    assert client.get(PAYOUTS, headers=bearer(partner)).status_code in (403, 404)
    assert client.get(PAYOUTS).status_code == 401


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"trip_id": "trp_nope"}, "trip_id"),
        ({"trip_id": "po_01jd2x3y4z5a6b7c8d9e0f1g2h"}, "trip_id"),
        ({"limit": "1000"}, "limit"),
        ({"cursor": "\x00"}, "cursor"),
    ],
)
def test_bad_filters_are_422_naming_the_field(app, client, two_operators, query, field):
    token = operator_token(app, client, two_operators["mine_op"])
    answer = client.get(PAYOUTS, query_string=query, headers=bearer(token))
    assert answer.status_code == 422, answer.json
    assert field in answer.json["errors"]
