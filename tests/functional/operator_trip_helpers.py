"""An operator's world for the operator-trip tests: two operators with fleets and drivers, trips
of two partners awarded to the first, one to the second, and one awarded to nobody."""

from __future__ import annotations

from tests.conftest import run_jobs
from tests.factories import make_partner, make_trip
from tests.tripday.helpers import fan_request
from widget_server.domain.pledges import recording
from widget_server.extensions import db
from widget_server.models import Operator, OperatorDriver, Vehicle


def operator_with_fleet(session, slug: str, *, seats=(50, 4), driver_email="dana@coach.example"):
    operator = Operator(
        slug=slug,
        name=slug.replace("-", " ").title(),
        regions=["KS"],
        contact_email=f"dispatch@{slug}.example",
    )
    session.add(operator)
    session.flush()
    vehicles = [
        Vehicle(operator_id=operator.id, name=f"Bus {n}", kind="coach", seats=n, plate=f"K{n}")
        for n in seats
    ]
    driver = OperatorDriver(operator_id=operator.id, name="Dana Driver", email=driver_email)
    session.add_all([*vehicles, driver])
    session.flush()
    return operator, vehicles, driver


def operator_world(app) -> dict:
    """Operator A runs a confirmed Chiefs trip (3 paid riders) and an open Royals trip; B
    runs a Royals trip; one Royals trip is awarded to nobody."""
    provider = app.extensions["ridepledge.payments"]
    with app.app_context(), db.transaction() as session:
        first, first_fleet, first_driver = operator_with_fleet(session, "coach-co")
        second, second_fleet, second_driver = operator_with_fleet(session, "other-coach")
        chiefs, royals = make_partner(session, "kc-chiefs"), make_partner(session, "kc-royals")
        confirmed = make_trip(session, chiefs, capacity=40, min_riders=3)
        royals_trip = make_trip(session, royals, capacity=40, min_riders=20)
        others = make_trip(session, royals, capacity=40, min_riders=20)
        nobodys = make_trip(session, royals, capacity=40, min_riders=20)
        for trip, operator in ((confirmed, first), (royals_trip, first), (others, second)):
            trip.operator_id = operator.id
        pledges = [
            recording.create_pledge(
                session, provider, chiefs, confirmed.id, fan_request(confirmed, name, stop=i % 2)
            ).id
            for i, name in enumerate(("Ana Paid", "Bo Paid", "Cy Paid"))
        ]
        world = {
            "operator": first.id,
            "other_operator": second.id,
            "vehicles": [v.id for v in first_fleet],
            "driver": first_driver.id,
            "other_vehicle": second_fleet[0].id,
            "other_driver": second_driver.id,
            "confirmed": confirmed.id,
            "royals_trip": royals_trip.id,
            "others_trip": others.id,
            "nobodys_trip": nobodys.id,
            "pledges": pledges,
            "partners": {"kc-chiefs": chiefs.id, "kc-royals": royals.id},
        }
    run_jobs(app)
    return world
