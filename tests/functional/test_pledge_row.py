"""A new pledge's INSERT writes only the columns that have a value: defaults are the
database's and the model's, never an explicit NULL over them."""

from sqlalchemy import event

from tests.factories import make_partner, make_trip
from tests.tripday.helpers import fan_request
from widget_server.domain.pledges import recording
from widget_server.extensions import db
from widget_server.models import Pledge


def test_a_new_pledge_writes_no_explicit_nulls(app):
    engine = app.extensions["ridepledge.engine"]
    inserts: list[dict] = []

    def seen(conn, cursor, statement, parameters, context, executemany):
        if statement.lstrip().upper().startswith("INSERT INTO PLEDGES "):
            inserts.append(context.compiled_parameters[0])

    provider = app.extensions["ridepledge.payments"]
    with app.app_context(), db.transaction() as session:
        partner = make_partner(session, "kc-chiefs")
        trip = make_trip(session, partner, capacity=10, min_riders=5)
        event.listen(engine, "before_cursor_execute", seen)
        try:
            pledge = recording.create_pledge(
                session, provider, partner, trip.id, fan_request(trip, "Ana Fan")
            )
        finally:
            event.remove(engine, "before_cursor_execute", seen)
        pledge_id = pledge.id
        # The object built from the row is complete: the columns not written have their
        # defaults (NULL where a column has none) without another query.
        assert pledge.phone is None and pledge.refund_requested_at is None
        assert pledge.provider_failures == 0 and pledge.attribution == {}
    (parameters,) = inserts
    nulls = sorted(name for name, value in parameters.items() if value is None)
    assert nulls == []
    assert "phone" not in parameters and "payment_intent_ref" not in parameters
    with app.app_context():
        stored = db.session.get(Pledge, pledge_id)
        assert (stored.status, stored.phone, stored.seats) == ("pledged", None, 1)
