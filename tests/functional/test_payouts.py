"""Paying operators: a completed trip pays its operator its awarded quote once (the simulated
provider here; the fake Stripe in test_payouts_stripe.py); failed, canceled and withdrawn trips
pay nothing; an operator without a connected account waits."""

from __future__ import annotations

import csv
import io

from sqlalchemy import select

from tests.conftest import run_jobs
from tests.factories import make_partner
from tests.functional.payout_helpers import (
    QUOTE_AMOUNT,
    complete,
    make_awarded_trip,
    make_operator,
    payouts,
    run_to_kickoff,
)
from widget_server.domain.operators import payouts as payout_rules
from widget_server.domain.pledges import trip_outcomes
from widget_server.extensions import db
from widget_server.jobs import tasks
from widget_server.models import OutboundEmail, SimulatedPayment, Trip
from widget_server.models.types import utcnow


def transfers(session) -> list[SimulatedPayment]:
    return list(
        session.scalars(select(SimulatedPayment).where(SimulatedPayment.kind == "transfer"))
    )


def test_a_completed_trip_pays_its_operator_the_quote_once(app):
    with app.app_context(), db.transaction() as session:
        operator = make_operator(session)
        trip_id = make_awarded_trip(session, operator).id
        run_to_kickoff(session, session.get(Trip, trip_id))
    with app.app_context():
        counts = tasks.sweep()  # completes the trip; the payout is owed and its job queued
    assert counts["completed_trips"] == 1
    assert "pay_operator" in run_jobs(app)
    with app.app_context():
        [payout] = payouts(db.session)
        assert (payout.trip_id, payout.operator_id) == (trip_id, operator.id)
        assert (payout.amount, payout.currency, payout.status) == (QUOTE_AMOUNT, "USD", "paid")
        assert payout.transfer_id.startswith("tr_sim_") and payout.paid_at is not None
        [transfer] = transfers(db.session)
        assert transfer.id == payout.transfer_id
        assert transfer.idempotency_key == f"payout-{payout.id}-transfer"
        assert (transfer.amount, transfer.customer_ref) == (QUOTE_AMOUNT, "acct_simprairiecoach")
        # The job again, and the sweep: nothing more to pay.
        assert tasks.pay_operator(payout.id) == "skipped"
        assert tasks.sweep().get("payouts_paid", 0) == 0
        assert len(transfers(db.session)) == 1
        news = db.session.scalars(
            select(OutboundEmail).where(OutboundEmail.operator_id == operator.id)
        ).all()
    # Its contact address and its owner hear it, once each.
    paid_news = [email for email in news if email.context["event_type"] == "payout.paid"]
    assert sorted((email.to_address, email.context["event_type"]) for email in paid_news) == [
        ("dispatch@prairie-coach.example", "payout.paid"),
        ("owner@prairie-coach.example", "payout.paid"),
    ]
    assert paid_news[0].context["data"]["amount"] == QUOTE_AMOUNT


def test_completing_twice_owes_one_payout(app):
    with app.app_context(), db.transaction() as session:
        trip = make_awarded_trip(session, make_operator(session))
        complete(session, trip)
        assert not trip_outcomes.complete_trip_if_done(session, trip.id)
        assert payout_rules.owe_payout(session, trip).id == payouts(session)[0].id
        assert len(payouts(session)) == 1


def test_failed_canceled_and_withdrawn_trips_pay_nothing(app):
    with app.app_context(), db.transaction() as session:
        operator = make_operator(session)
        partner = make_partner(session, "kc-chiefs")
        failed = make_awarded_trip(session, operator, partner, title="Failed")
        failed.pledge_deadline = utcnow()
        canceled = make_awarded_trip(session, operator, partner, title="Canceled")
        withdrawn = make_awarded_trip(session, operator, partner, title="Withdrawn")
        session.flush()
        assert trip_outcomes.fail_trip_if_overdue(session, failed.id)
        trip_outcomes.cancel_trip(session, canceled, actor="operator")
        withdrawn.operator_id = None  # the operator withdrew; the partner ran the trip anyway
        complete(session, withdrawn)
    with app.app_context():
        tasks.sweep()
        run_jobs(app)
        assert payouts(db.session) == [] and transfers(db.session) == []


def test_an_operator_without_a_connected_account_waits_until_it_connects(app):
    with app.app_context(), db.transaction() as session:
        operator = make_operator(session, stripe_account_id=None)
        operator_id = operator.id
        complete(session, make_awarded_trip(session, operator))
    run_jobs(app)
    with app.app_context():
        [payout] = payouts(db.session)
        assert payout.status == "pending" and payout.transfer_id is None
        assert tasks.pay_operator(payout.id) == "waiting"
        assert tasks.sweep().get("payouts_waiting", 0) == 0  # not even tried: nowhere to pay
        with db.transaction() as session:
            operator = session.get(type(operator), operator_id)
            operator.stripe_account_id = "acct_sim_connected"
            payout_rules.connected(session, operator)
    assert run_jobs(app).count("pay_operator") == 1
    with app.app_context():
        [payout] = payouts(db.session)
        assert payout.status == "paid" and len(transfers(db.session)) == 1


def test_a_payout_whose_trip_lost_its_operator_is_canceled_not_paid(app):
    with app.app_context(), db.transaction() as session:
        trip = make_awarded_trip(session, make_operator(session))
        complete(session, trip)
        trip.operator_id = None  # withdrawn after completion: the payout is void
    run_jobs(app)
    with app.app_context():
        [payout] = payouts(db.session)
        assert payout.status == "canceled" and transfers(db.session) == []


def test_statements_list_the_operators_payouts_only_as_csv(app):
    with app.app_context(), db.transaction() as session:
        operator = make_operator(session)
        other = make_operator(session, "other-coach")
        partner = make_partner(session, "kc-chiefs", name="=HYPERLINK(evil)")
        paid = make_awarded_trip(session, operator, partner, title="Chiefs vs Broncos")
        owed = make_awarded_trip(session, operator, partner, amount=99000, title="Chiefs vs Jets")
        elsewhere = make_awarded_trip(session, other, partner, title="Not yours")
        for trip in (paid, owed, elsewhere):
            complete(session, trip)
        owed_date = owed.event.starts_at.date().isoformat()
    with app.app_context():
        tasks.pay_operator(payouts(db.session)[0].id)  # the first trip's payout
        lines = payout_rules.statement(db.session, operator.id)
        text = payout_rules.statement_csv(lines)
        rows = list(csv.DictReader(io.StringIO(text)))
        assert list(rows[0]) == list(payout_rules.CSV_COLUMNS)
        assert {row["trip_id"] for row in rows} == {paid.id, owed.id}
        by_trip = {row["trip_id"]: row for row in rows}
        assert by_trip[paid.id]["status"] == "paid"
        assert by_trip[paid.id]["transfer_id"].startswith("tr_sim_")
        assert by_trip[paid.id]["amount"] == str(QUOTE_AMOUNT)
        assert by_trip[paid.id]["event"] == "Chiefs vs Broncos"
        assert by_trip[owed.id]["status"] == "pending" and by_trip[owed.id]["transfer_id"] == ""
        assert by_trip[owed.id]["currency"] == "USD" and by_trip[owed.id]["origin"] == "Wichita"
        assert by_trip[owed.id]["partner"] == "'=HYPERLINK(evil)"  # never a formula
        assert by_trip[owed.id]["event_date"] == owed_date
        one = payout_rules.statement(db.session, operator.id, trip_id=owed.id)
        assert [line.payout.trip_id for line in one] == [owed.id]
        assert payout_rules.statement(db.session, operator.id, trip_id=elsewhere.id) == []
        assert payout_rules.totals(lines) == {
            ("USD", "paid"): QUOTE_AMOUNT,
            ("USD", "pending"): 99000,
        }
