"""The portal's Payouts page: the operator's payouts and totals, the CSV statements (all, and
per trip), and Connect with Stripe (owners only); another operator's payouts and trip statements
are invisible (404)."""

from __future__ import annotations

import csv
import io

import pytest

from tests.conftest import run_jobs
from tests.functional.operators.portal_helpers import crew, portal_post, portal_sign_in
from tests.functional.payout_helpers import QUOTE_AMOUNT, complete, make_awarded_trip, payouts
from widget_server.extensions import db
from widget_server.jobs import tasks
from widget_server.models import Operator


@pytest.fixture
def company(app):
    """Prairie Coach (no Stripe account yet, one person per role) owed two trips; another
    operator owed one."""
    people = crew(app)
    others = crew(app, "other-coach", roles=("owner",))
    with app.app_context(), db.transaction() as session:
        mine = session.get(Operator, people["operator_id"])
        theirs = session.get(Operator, others["operator_id"])
        trips = {
            "first": make_awarded_trip(session, mine, title="Chiefs vs Broncos"),
            "second": make_awarded_trip(session, mine, amount=99000, title="Chiefs vs Jets"),
        }
        theirs.stripe_account_id = "acct_simother"
        trips["theirs"] = make_awarded_trip(session, theirs, title="Royals vs Cubs")
        for trip in trips.values():
            complete(session, trip)
        people["trips"] = {name: trip.id for name, trip in trips.items()}
        people["other_owner"] = others["owner"]
    run_jobs(app)  # the other operator is paid; Prairie Coach waits for its account
    return people


def test_the_page_lists_the_operators_payouts_waiting_for_stripe(client, company):
    portal_sign_in(client, company["viewer"])
    page = client.get("/operator/payouts")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "Chiefs vs Broncos" in text and "Chiefs vs Jets" in text
    assert "Royals vs Cubs" not in text  # another operator's
    assert "$1,850.00" in text and "$990.00" in text and "$2,840.00" in text  # and the total
    assert "Connect Stripe to get paid" in text
    assert "Connect with Stripe" not in text  # a viewer cannot connect the account
    assert 'href="/operator/payouts.csv"' in text


def test_the_csv_statements_are_the_operators_own(client, company):
    portal_sign_in(client, company["owner"])
    answer = client.get("/operator/payouts.csv")
    assert answer.status_code == 200 and answer.mimetype == "text/csv"
    assert "attachment" in answer.headers["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(answer.get_data(as_text=True))))
    trips = company["trips"]
    assert {row["trip_id"] for row in rows} == {trips["first"], trips["second"]}
    assert {row["status"] for row in rows} == {"pending"}
    one = client.get(f"/operator/trips/{trips['second']}/statement.csv")
    [row] = list(csv.DictReader(io.StringIO(one.get_data(as_text=True))))
    assert (row["trip_id"], row["amount"], row["currency"]) == (trips["second"], "99000", "USD")
    # Another operator's trip, or a made-up one: 404, not an empty statement.
    assert client.get(f"/operator/trips/{trips['theirs']}/statement.csv").status_code == 404
    assert client.get("/operator/trips/trp_nope/statement.csv").status_code == 404


def test_another_operators_people_see_none_of_it(client, company):
    portal_sign_in(client, company["other_owner"])
    text = client.get("/operator/payouts").get_data(as_text=True)
    assert "Royals vs Cubs" in text and "Chiefs vs" not in text
    for trip in ("first", "second"):
        url = f"/operator/trips/{company['trips'][trip]}/statement.csv"
        assert client.get(url).status_code == 404


def test_an_owner_connects_stripe_and_the_waiting_payouts_are_paid(app, client, company):
    portal_sign_in(client, company["viewer"])
    assert (
        portal_post(client, "/operator/payouts/connect", page="/operator/payouts").status_code
        == 403
    )
    fresh = app.test_client()
    portal_sign_in(fresh, company["owner"])
    assert "Connect with Stripe" in fresh.get("/operator/payouts").get_data(as_text=True)
    answer = portal_post(fresh, "/operator/payouts/connect", page="/operator/payouts")
    # The simulated onboarding is done at once: straight back to the portal.
    assert answer.status_code == 303
    assert answer.headers["Location"].endswith("/operator/payouts/connected")
    with app.app_context():
        account = db.session.get(Operator, company["operator_id"]).stripe_account_id
    assert account.startswith("acct_sim_")
    back = fresh.get("/operator/payouts/connected", follow_redirects=True)
    assert "payouts are on their way" in back.get_data(as_text=True)
    run_jobs(app)
    with app.app_context():
        mine = [p for p in payouts(db.session) if p.operator_id == company["operator_id"]]
        assert {p.status for p in mine} == {"paid"}
        assert {p.amount for p in mine} == {QUOTE_AMOUNT, 99000}
        assert tasks.sweep().get("payouts_paid", 0) == 0
    text = fresh.get("/operator/payouts").get_data(as_text=True)
    assert "Connected: payouts are sent to your Stripe account." in text
    assert "tr_sim_" in text
