"""What we hand to other programs stays inert: manifest CSV cells, fan email headers."""

import csv
import io

from sqlalchemy import select

from tests.api_helpers import ApiSession, issue_token
from tests.factories import make_partner, make_trip
from widget_server.extensions import db
from widget_server.models import Event, Partner


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


def _landing_world(app):
    from tests.unit.test_partner_config import SHIPPED
    from widget_server.demo_data import seed_demo
    from widget_server.domain.partners import load_partner_files, upsert_partner

    with app.app_context(), db.transaction() as session:
        for data in load_partner_files(SHIPPED)[0]:
            upsert_partner(session, data, actor="test")
        seed_demo(session)
        secret = make_partner(session, "secret-fc", name="Secret FC")
        make_trip(session, secret, status="draft", origin={"name": "Hidden Town", "region": "KS"})
        demo = session.scalar(select(Partner).where(Partner.slug == "demo"))
        demo_event = session.scalar(select(Event).where(Event.partner_id == demo.id))
        make_trip(session, demo, demo_event, status="draft", origin={"name": "Draft Town"})


def test_outside_the_demo_the_landing_page_names_no_partner_game_or_trip(app, client):
    _landing_world(app)
    page = client.get("/").get_data(as_text=True)
    assert "RidePledge is running" in page and "/docs" in page
    for secret in ("Demo City FC", "Springfield", "Secret FC", "Hidden Town", "sqlite", "draft"):
        assert secret not in page


def test_in_the_demo_the_landing_page_lists_only_the_demo_and_never_drafts(app, client):
    _landing_world(app)
    app.config["SETTINGS"].demo_mode = True
    page = client.get("/").get_data(as_text=True)
    assert "Demo City FC" in page and "Springfield: open" in page
    assert "Secret FC" not in page and "Hidden Town" not in page
    assert "Draft Town" not in page and ": draft" not in page
