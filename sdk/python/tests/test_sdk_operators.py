"""The bus marketplace through the SDK alone, against the real server: a partner (`Client`) asks
for a bus, an operator (`OperatorClient`, or its async twin) quotes, the partner compares and
awards; once the trip has run the operator reads its payout. Another operator sees nothing."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
import ridepledge
from sdk_helpers import new_event, soon

from tests.conftest import run_jobs
from tests.factories import make_operator
from tests.functional.payout_helpers import complete
from widget_server.domain.clients import create_client
from widget_server.domain.scopes import OPERATOR_SCOPES
from widget_server.extensions import db
from widget_server.models import Operator, Trip

FAST = {"backoff_initial": 0.01, "backoff_max": 0.05, "timeout": 10.0}


def operator_credentials(app, slug: str) -> tuple[str, str]:
    """A compliant operator serving Kansas (made if new), with a connected account, and a new
    API client of it with every operator scope."""
    with app.app_context(), db.transaction() as session:
        operator = session.query(Operator).filter_by(slug=slug).one_or_none()
        if operator is None:
            operator = make_operator(session, slug, stripe_account_id=f"acct_sim{slug[:4]}")
        client, secret = create_client(
            session, operator, " ".join(OPERATOR_SCOPES), "sdk tests", actor="test"
        )
        return client.id, secret


@pytest.fixture
def operator_client(app, live_server):
    made = []

    def make(slug: str) -> ridepledge.OperatorClient:
        client = ridepledge.OperatorClient(
            *operator_credentials(app, slug), live_server.url, **FAST
        )
        made.append(client)
        return client

    yield make
    for client in made:
        client.close()


@pytest.mark.parametrize("kind", ["sync"])
def test_ask_quote_award_and_get_paid_through_the_sdk(app, sdk, operator_client):
    coach, other = operator_client("prairie-coach"), operator_client("other-coach")
    event = new_event(sdk)
    asked = sdk.trip_requests.create(
        event_id=event.id,
        origin={"name": "Wichita", "region": "KS"},
        departs_at=event.starts_at - timedelta(hours=5),
        expected_riders=45,
        vehicle_kind="coach",
        operators=["prairie-coach"],
    )
    assert isinstance(asked, ridepledge.TripRequest) and asked.status == "open"
    assert asked.operators == ["prairie-coach"] and asked.quotes == []

    [seen] = list(coach.trip_requests.list())
    assert seen.id == asked.id and seen.partner is not None and seen.event is not None
    assert list(other.trip_requests.list()) == []  # not asked
    with pytest.raises(ridepledge.NotFoundError):
        other.trip_requests.retrieve(asked.id)

    quote = coach.quotes.create(
        asked.id,
        seats=56,
        amount=185000,
        currency="USD",
        valid_until=soon(days=3),
        vehicle_kind="coach",
        notes="Wi-Fi and a restroom",
    )
    assert isinstance(quote, ridepledge.Quote) and quote.status == "open"
    revised = coach.quotes.update(quote.id, amount=180000)
    assert revised.amount == 180000 and coach.quotes.retrieve(quote.id).amount == 180000
    assert [q.id for q in coach.quotes.list()] == [quote.id]

    compared = sdk.trip_requests.retrieve(asked.id)
    [offered] = compared.quotes or []
    assert offered.operator is not None and offered.operator.slug == "prairie-coach"
    assert offered.operator.usdot_number == "1234567"
    assert offered.operator.insurance_expires_on is not None  # a date
    trip = sdk.trip_requests.award(asked.id, quote_id=quote.id, unit_amount=4000).trip
    assert isinstance(trip, ridepledge.Trip) and trip.status == "draft"
    assert (trip.capacity, trip.min_riders) == (56, 45)  # ceil(180000 / 4000)
    assert [r.id for r in sdk.trip_requests.list()] == [asked.id]

    assert list(coach.payouts.list()) == []
    with app.app_context(), db.transaction() as session:
        complete(session, session.get(Trip, trip.id))
    run_jobs(app)
    [payout] = list(coach.payouts.list())
    assert isinstance(payout, ridepledge.Payout)
    assert (payout.trip_id, payout.amount, payout.currency) == (trip.id, 180000, "USD")
    assert payout.status == "paid" and (payout.transfer_id or "").startswith("tr_sim_")
    assert [p.trip_id for p in coach.payouts.list(trip_id=trip.id)] == [trip.id]
    assert list(other.payouts.list()) == []


def test_the_async_operator_client_reads_payouts(app, live_server):
    credentials = operator_credentials(app, "prairie-coach")

    async def read() -> list[ridepledge.Payout]:
        async with ridepledge.AsyncOperatorClient(*credentials, live_server.url, **FAST) as client:
            return [payout async for payout in client.payouts.list()]

    assert asyncio.run(read()) == []
