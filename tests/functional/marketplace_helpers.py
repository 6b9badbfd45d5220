"""Test data for the bus marketplace: operators with an owner and a webhook endpoint, operator
API sessions, and bodies the API accepts."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from tests import factories
from tests.api_helpers import ApiSession
from widget_server.extensions import db
from widget_server.models import AdminUser, Operator, WebhookEndpoint
from widget_server.models.types import rfc3339, utcnow
from widget_server.webhooks.secrets import encrypt_secret
from widget_server.webhooks.signing import new_secret

OPERATOR_SCOPES = "requests:read quotes:write operator_trips:read operator_trips:write"
_USDOT = iter(range(1000001, 2000000))


def make_operator(session: Session, slug: str, *, regions: list[str], **fields) -> Operator:
    """`tests.factories.make_operator` named "<Slug> Coaches" with its own USDOT number, a
    contact address, its owner speaking Spanish, and a webhook endpoint taking every event (on
    the discard port: deliveries are recorded, and the tests read them without sending).
    `insurance_expires_on` (a date) is set as given, past or not."""
    expires = fields.pop("insurance_expires_on", None)
    operator = factories.make_operator(
        session,
        slug,
        **{
            "name": f"{slug.title()} Coaches",
            "usdot_number": str(next(_USDOT)),
            "regions": regions,
            "contact_email": f"dispatch@{slug}.example",
            "contact_phone": "+1 816 555 0100",
            **fields,
        },
    )
    if expires is not None:
        operator.insurance_expires_on = expires
    owner = session.scalar(select(AdminUser).where(AdminUser.operator_id == operator.id))
    owner.locale = "es"
    session.add(
        WebhookEndpoint(
            operator_id=operator.id,
            url="http://127.0.0.1:9/hooks",
            events=["*"],
            status="enabled",
            secret_encrypted=encrypt_secret("test", new_secret()),
        )
    )
    session.flush()
    return operator


def operator_api(app, client, operator_id: str, scope: str) -> ApiSession:
    """An API session of a new client of the operator (a real token from /oauth/token)."""
    from widget_server.domain.clients import create_client

    with app.app_context(), db.transaction() as session:
        client_row, secret = create_client(
            session, session.get(Operator, operator_id), scope, "tests", actor="test"
        )
        client_id = client_row.id
    response = app.test_client().post(
        "/oauth/token", data={"grant_type": "client_credentials"}, auth=(client_id, secret)
    )
    assert response.status_code == 200, response.get_data(as_text=True)
    return ApiSession(client, response.json["access_token"])


def request_body(market: dict, **fields) -> dict:
    """A trip request for the market's event from Wichita, KS, 29 days ahead."""
    body = {
        "event_id": market["event"],
        "origin": {"name": "Wichita", "region": "KS"},
        "departs_at": rfc3339(utcnow() + timedelta(days=29)),
        "expected_riders": 45,
        "vehicle_kind": "coach",
    }
    return body | fields


def quote_body(**fields) -> dict:
    body = {
        "seats": 50,
        "amount": 200000,
        "currency": "USD",
        "valid_until": rfc3339(utcnow() + timedelta(days=7)),
        "vehicle_kind": "coach",
        "notes": "Wi-Fi and a restroom on board.",
    }
    return body | fields
