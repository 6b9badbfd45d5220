"""What we hand to other programs stays inert: manifest CSV cells, fan email headers."""

import csv
import io

from tests.api_helpers import ApiSession, issue_token
from tests.factories import make_partner, make_trip
from widget_server.extensions import db


def test_manifest_csv_defuses_stop_names_phones_and_emails(app, client):
    with app.app_context(), db.transaction() as session:
        partner = make_partner(session, "kc-chiefs")
        trip = make_trip(session, partner, min_riders=30)
        trip.stops[0].name = '=HYPERLINK("https://evil.example")'
        trip.stops[0].address = "+1 Main St"
        trip_id, stop_id, partner_id = trip.id, trip.stops[0].id, partner.id
    created = client.post(
        f"/w/kc-chiefs/api/trips/{trip_id}/pledges",
        json={
            "stop_id": stop_id,
            "seats": 1,
            "name": "@SUM(1+1)",
            "email": "-fan@x.example",
            "phone": "+13125550100",
            "payment_method": "pm_card_visa",
        },
    )
    assert created.status_code == 201, created.json
    api = ApiSession(client, issue_token(app, partner_id))
    response = api.get(f"/v1/trips/{trip_id}/manifest", headers={"Accept": "text/csv"})
    [row] = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    for column in ("stop", "name", "phone", "email"):
        assert row[column].startswith("'"), (column, row[column])
