"""A paid pledge whose refund is on its way does not board: the check-in says `canceled`."""

from sqlalchemy import select

from tests.tripday.test_checkins import SECRET, send
from widget_server.domain import boarding
from widget_server.domain.pledges import refunds
from widget_server.extensions import db
from widget_server.models import Boarding, Pledge


def test_refund_requested_is_canceled_not_ok(app, client, trip_day):
    refunding = trip_day["pledges"][0]
    with app.app_context(), db.transaction() as session:
        # Requested, not yet carried out (the refund job has not run).
        refunds.request_refund(session, session.get(Pledge, refunding))
    with app.app_context():
        pledge = db.session.get(Pledge, refunding)
        assert pledge.status == "paid" and pledge.refund_requested_at is not None
        code = boarding.boarding_code(SECRET, pledge)
    by_code = send(client, trip_day["url"], code)
    assert by_code.status_code == 200 and by_code.json["result"] == "canceled", by_code.json
    by_name = send(client, trip_day["url"], pledge_id=refunding)
    assert by_name.json["result"] == "canceled" and by_name.json["boarded"] is None
    assert send(client, trip_day["url"], trip_day["codes"][1]).json["result"] == "ok"
    with app.app_context():
        boarded = set(db.session.scalars(select(Boarding.pledge_id)))
    assert boarded == {trip_day["pledges"][1]}
