"""Every face reads the one price: a 4-seat pledge with a group tier and a promo code shows
the same amounts to the cent on the widget (JSON and pages), the email, the manage page, the
API, webhooks' representation, the manifest (JSON and CSV), the public page's Offer, and the
charge Stripe captured (the fake Stripe server, through the real library)."""

from __future__ import annotations

import csv
import io
import json
import re
from email import policy
from email.parser import BytesParser
from pathlib import Path

from sqlalchemy import select

from tests.api_helpers import ApiSession, issue_token
from tests.conftest import run_jobs
from tests.functional import stripe_helpers
from widget_server.domain.pricing import settings
from widget_server.extensions import db
from widget_server.models import Partner, Pledge, Trip
from widget_server.representations import PledgeSchema, dump

fake_stripe = stripe_helpers.fake_stripe
make_shop = stripe_helpers.make_shop
shop = stripe_helpers.shop

# 4 seats x $35.00 = $140.00; the tier takes 10% ($14.00); the code 20% of the rest ($25.20).
AMOUNT, DISCOUNT, SHOWN = 10080, 3920, "$100.80"


def _sent_emails(app) -> list[str]:
    outbox = Path(app.config["SETTINGS"].instance_path) / "outbox"
    parser = BytesParser(policy=policy.default)
    texts = []
    for path in sorted(outbox.glob("*.eml")):
        message = parser.parsebytes(path.read_bytes())
        texts.append(message.get_body(("plain",)).get_content())
    return texts


def test_every_face_and_the_captured_charge_agree_to_the_cent(shop):
    app = shop.app
    with app.app_context(), db.transaction() as session:
        trip = session.get(Trip, shop.trip_id)
        trip.group_tiers = [{"min_seats": 4, "percent_off": 10}]
        partner = session.scalar(select(Partner).where(Partner.slug == shop.partner))
        settings.create_promo_code(
            session, partner.id, {"code": "FANS20", "percent_off": 20}, actor="test"
        )
        partner_id = partner.id
    client = shop.client
    quote = client.get(f"{shop.base}/trips/{shop.trip_id}/price?seats=4&promo_code=fans20").json
    assert (quote["amount"], quote["discount_amount"]) == (AMOUNT, DISCOUNT)
    # The pledge that tips the trip (it confirms at 4 seats) is charged in its own request.
    made = shop.pledge(seats=4, promo_code="fans20")
    assert made.status_code == 201, made.json
    pledge = made.json["pledge"]
    assert (pledge["amount"], pledge["discount_amount"], pledge["unit_amount"]) == (
        AMOUNT,
        DISCOUNT,
        3500,
    )
    assert pledge["status"] == "paid" and pledge["promo_code"] == "FANS20"
    run_jobs(app)
    assert shop.fake.total_captured() == AMOUNT
    # The manage page (JSON and HTML) and the confirmation page.
    token = made.json["manage_url"].rsplit("/", 1)[-1]
    managed = client.get(f"{shop.base}/manage/{token}").json["pledge"]
    assert (managed["amount"], managed["discount_amount"]) == (AMOUNT, DISCOUNT)
    manage_path = made.json["manage_url"].split("://", 1)[-1].split("/", 1)[-1]
    page = client.get("/" + manage_path).get_data(as_text=True)
    assert SHOWN in page and "$39.20" in page and "FANS20" in page
    # The partner API, and the webhook payload (the same representation).
    api = ApiSession(client, issue_token(app, partner_id))
    shown = api.get(f"/v1/pledges/{pledge['id']}").json
    assert (shown["amount"], shown["discount_amount"], shown["promo_code"]) == (
        AMOUNT,
        DISCOUNT,
        "FANS20",
    )
    breakdown = shown["price_breakdown"]
    assert (breakdown["tier_discount"], breakdown["promo_discount"]) == (1400, 2520)
    with app.app_context():
        payload = dump(PledgeSchema, db.session.get(Pledge, pledge["id"]))
    assert payload["amount"] == AMOUNT and payload["discount_amount"] == DISCOUNT
    # The manifest, JSON and CSV.
    manifest = api.get(f"/v1/trips/{shop.trip_id}/manifest").json
    [rider] = [r for stop in manifest["stops"] for r in stop["riders"]]
    assert (rider["amount"], rider["discount_amount"], rider["promo_code"]) == (
        AMOUNT,
        DISCOUNT,
        "FANS20",
    )
    sheet = api.get(f"/v1/trips/{shop.trip_id}/manifest", headers={"Accept": "text/csv"})
    [row] = list(csv.DictReader(io.StringIO(sheet.get_data(as_text=True))))
    assert (row["amount"], row["discount_amount"], row["currency"]) == ("100.80", "39.20", "USD")
    # The email the fan got (charged at once: the "paid" email).
    [email] = [text for text in _sent_emails(app) if SHOWN in text]
    assert "Total: $100.80" in email and "Discount: $39.20 (FANS20)" in email


def test_public_page_offer_carries_the_current_price_and_until_when(shop):
    from datetime import timedelta

    from widget_server.models.types import utcnow

    app = shop.app
    step = utcnow() + timedelta(days=3)
    with app.app_context(), db.transaction() as session:
        trip = session.get(Trip, shop.trip_id)
        trip.price_steps = [{"starts_at": step.strftime("%Y-%m-%dT%H:%M:%SZ"), "unit_amount": 4000}]
    page = shop.client.get(f"/t/{shop.partner}/{shop.trip_id}").get_data(as_text=True)
    found = re.search(r'<script type="application/ld\+json"[^>]*>(.*?)</script>', page, re.S)
    graph = json.loads(found.group(1))
    nodes = graph.get("@graph", [graph])
    [offer] = [n["offers"] for n in nodes if "offers" in n]
    assert offer["price"] == "35.00" and offer["priceValidUntil"] == step.date().isoformat()
    assert "$35.00" in page
