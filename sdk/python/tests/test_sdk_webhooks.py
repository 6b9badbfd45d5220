"""`ridepledge.webhooks.verify` against messages signed by the Standard Webhooks reference
library, and end to end: the real server delivers to a Flask receiver that verifies with the
SDK (the receiver of the README)."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime, timedelta

import pytest
import ridepledge
from flask import Flask, abort, request
from ridepledge.webhooks import WebhookVerificationError, sign, verify
from sdk_helpers import fan_pledges, new_event, new_trip
from standardwebhooks.webhooks import Webhook
from werkzeug.datastructures import Headers
from werkzeug.serving import make_server

from tests.conftest import run_jobs

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"  # noqa: S105 (test data)
OTHER_SECRET = "whsec_ZY/uBCmFzDvjnSjKjSoZYoMbmnR0YUpeoIT5a/jSnxQ="  # noqa: S105
PLEDGE = {
    "id": "plg_01m8dgq8mdq5p1xzzvwbsefme8",
    "object": "pledge",
    "created_at": "2026-11-27T03:27:57Z",
    "trip_id": "trp_01m8dgq8kyr9m1nq3rcqkzbd0j",
    "stop_id": "stp_01m8dgq8kzmtvmwgw51byhx9xj",
    "seats": 1,
    "amount": 3500,
    "currency": "USD",
    "name": "Pat Fan",
    "email": "pat@example.com",
    "phone": None,
    "locale": "en",
    "status": "pledged",
    "attribution": {},
    "paid_at": None,
    "updated_at": "2026-11-27T03:27:57Z",
}
BODY = json.dumps(
    {"type": "pledge.created", "timestamp": "2026-11-27T03:27:57Z", "data": PLEDGE}
).encode()


@pytest.fixture
def kind():
    """This module is about the sync client (the CLI uses it; verifying webhooks sends
    nothing); the resources are tested with both clients elsewhere."""
    return "sync"


def signed(body: bytes = BODY, secret: str = SECRET, at: datetime | None = None, msg_id="msg_1"):
    """Headers for `body`, signed by the reference library."""
    at = at or datetime.now(UTC)
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(at.timestamp())),
        "webhook-signature": Webhook(secret).sign(msg_id, at, body.decode()),
    }


def test_a_message_signed_by_the_reference_library_verifies():
    event = verify(BODY, signed(), SECRET)
    assert isinstance(event, ridepledge.WebhookEvent)
    assert (event.id, event.type) == ("msg_1", "pledge.created")
    assert event.timestamp == datetime(2026, 11, 27, 3, 27, 57, tzinfo=UTC)
    assert event.data == PLEDGE
    pledge = event.object()
    assert isinstance(pledge, ridepledge.Pledge) and pledge.amount == 3500


def test_headers_in_any_case_and_shape_and_a_text_body():
    headers = signed()
    title_case = {name.title(): value for name, value in headers.items()}
    assert verify(BODY.decode(), title_case, SECRET).id == "msg_1"
    assert verify(BODY, list(headers.items()), SECRET).id == "msg_1"
    assert verify(BODY, Headers(title_case), SECRET).id == "msg_1"


def test_our_signatures_match_the_reference_library():
    now = datetime.now(UTC)
    assert sign(SECRET, "msg_9", now, BODY) == Webhook(SECRET).sign("msg_9", now, BODY.decode())
    headers = {
        "webhook-id": "msg_9",
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": sign(SECRET, "msg_9", int(now.timestamp()), BODY),
    }
    assert Webhook(SECRET).verify(BODY, headers)["type"] == "pledge.created"


@pytest.mark.parametrize(
    "tamper",
    [
        lambda body, headers: (body.replace(b"3500", b"1"), headers),
        lambda body, headers: (body + b" ", headers),
        lambda body, headers: (body, {**headers, "webhook-id": "msg_2"}),
        lambda body, headers: (
            body,
            {**headers, "webhook-timestamp": str(int(headers["webhook-timestamp"]) + 1)},
        ),
    ],
    ids=["amount", "trailing-space", "message-id", "timestamp"],
)
def test_tampered_messages_are_rejected(tamper):
    body, headers = tamper(BODY, signed())
    with pytest.raises(WebhookVerificationError, match="no valid signature"):
        verify(body, headers, SECRET)


def test_a_wrong_secret_is_rejected():
    with pytest.raises(WebhookVerificationError):
        verify(BODY, signed(secret=OTHER_SECRET), SECRET)


def test_stale_and_future_messages_are_rejected_even_when_signed():
    old = datetime.now(UTC) - timedelta(seconds=301)
    with pytest.raises(WebhookVerificationError, match="too old"):
        verify(BODY, signed(at=old), SECRET)
    future = datetime.now(UTC) + timedelta(seconds=301)
    with pytest.raises(WebhookVerificationError, match="future"):
        verify(BODY, signed(at=future), SECRET)
    recent = datetime.now(UTC) - timedelta(seconds=290)
    assert verify(BODY, signed(at=recent), SECRET).type == "pledge.created"
    assert verify(BODY, signed(at=old), SECRET, tolerance=600).type == "pledge.created"


def test_a_fixed_clock_can_be_passed():
    at = datetime(2026, 1, 1, tzinfo=UTC)
    assert verify(BODY, signed(at=at), SECRET, now=at.timestamp() + 10).id == "msg_1"
    with pytest.raises(WebhookVerificationError):
        verify(BODY, signed(at=at), SECRET, now=at.timestamp() + 1000)


@pytest.mark.parametrize("missing", ["webhook-signature", "webhook-id", "webhook-timestamp"])
def test_unsigned_messages_are_rejected(missing):
    headers = {k: v for k, v in signed().items() if k != missing}
    with pytest.raises(WebhookVerificationError, match="missing"):
        verify(BODY, headers, SECRET)
    with pytest.raises(WebhookVerificationError):
        verify(BODY, {**signed(), "webhook-signature": ""}, SECRET)


def test_malformed_headers_are_rejected():
    with pytest.raises(WebhookVerificationError, match="Unix time"):
        verify(BODY, {**signed(), "webhook-timestamp": "yesterday"}, SECRET)
    unsupported = signed()["webhook-signature"].replace("v1,", "v1a,")
    with pytest.raises(WebhookVerificationError):
        verify(BODY, {**signed(), "webhook-signature": unsupported}, SECRET)


def test_during_a_rotation_either_signature_passes():
    now = datetime.now(UTC)
    new = Webhook(SECRET).sign("msg_1", now, BODY.decode())
    old = Webhook(OTHER_SECRET).sign("msg_1", now, BODY.decode())
    headers = {**signed(at=now), "webhook-signature": f"{new} {old}"}
    assert verify(BODY, headers, SECRET).id == "msg_1"
    assert verify(BODY, headers, OTHER_SECRET).id == "msg_1"
    # A receiver that knows several secrets (deploying a rotated one) passes a list.
    assert verify(BODY, signed(secret=OTHER_SECRET), [SECRET, OTHER_SECRET]).id == "msg_1"


def test_a_secret_that_is_not_whsec_base64_is_a_programming_error():
    with pytest.raises(ValueError, match="whsec_"):
        verify(BODY, signed(), "whsec_not base64!")


def test_a_signed_body_that_is_not_an_event_is_rejected():
    body = b"[1, 2, 3]"
    with pytest.raises(WebhookVerificationError, match="not a RidePledge event"):
        verify(body, signed(body=body), SECRET)


def sent(event_type: str, data: dict) -> ridepledge.WebhookEventType:
    body = json.dumps({"type": event_type, "timestamp": "2026-11-27T03:27:57Z", "data": data})
    return ridepledge.construct_event(body.encode(), signed(body.encode()), SECRET)


def test_construct_event_types_each_pledge_event():
    for event_type in [t for t in ridepledge.models.WEBHOOK_EVENT_TYPES if t[:7] == "pledge."]:
        event = sent(event_type, PLEDGE)
        assert type(event) is ridepledge.webhook_events.EVENT_CLASSES[event_type]
        assert event.type == event_type and event.id == "msg_1"
        assert isinstance(event.data, ridepledge.Pledge) and event.data.amount == 3500
        assert event.timestamp == datetime(2026, 11, 27, 3, 27, 57, tzinfo=UTC)


def test_every_type_the_server_emits_has_a_class():
    from widget_server.webhooks.manage import TEST_EVENT_TYPE
    from widget_server.webhooks.outbox import EVENT_TYPES

    assert set(ridepledge.webhook_events.EVENT_CLASSES) == {*EVENT_TYPES, TEST_EVENT_TYPE}
    assert set(ridepledge.models.WEBHOOK_EVENT_TYPES) == set(EVENT_TYPES)


def test_boarded_demand_test_and_unknown_events():
    boarded = sent(
        "pledge.boarded",
        {**PLEDGE, "boarded_at": "2026-12-20T14:00:00Z", "boarded_by": "dev_1"},
    )
    assert isinstance(boarded, ridepledge.PledgeBoardedEvent)
    assert boarded.boarded_at == datetime(2026, 12, 20, 14, tzinfo=UTC)
    assert boarded.boarded_by == "dev_1"

    threshold = {"event_id": "evt_1", "origin": "Topeka", "count": 25, "threshold": 25}
    reached = sent("demand.threshold_reached", threshold)
    assert isinstance(reached, ridepledge.DemandThresholdReachedEvent)
    assert reached.data == ridepledge.DemandThreshold("evt_1", "Topeka", 25, 25)

    test = sent("webhook.test", {"endpoint_id": "we_1", "description": "A test event"})
    assert isinstance(test, ridepledge.WebhookTestEvent) and test.data.endpoint_id == "we_1"

    later = sent("payout.sent", {"id": "po_1"})
    assert isinstance(later, ridepledge.UnknownEvent)
    assert (later.type, later.data) == ("payout.sent", {"id": "po_1"})


def test_construct_event_verifies_like_verify_and_both_clients_expose_it():
    with pytest.raises(WebhookVerificationError):
        ridepledge.construct_event(BODY, signed(secret=OTHER_SECRET), SECRET)
    with pytest.raises(WebhookVerificationError, match="too old"):
        ridepledge.construct_event(BODY, signed(at=datetime.now(UTC) - timedelta(hours=1)), SECRET)
    assert ridepledge.Client.construct_event is ridepledge.construct_event
    assert ridepledge.AsyncClient.construct_event is ridepledge.construct_event
    event = ridepledge.AsyncClient("c", "s", "http://127.0.0.1:9").construct_event(
        BODY, signed(), SECRET
    )
    assert isinstance(event, ridepledge.PledgeCreatedEvent)


# --- end to end ------------------------------------------------------------------------------


class FlaskReceiver:
    """The receiver from the SDK's README, served on a free port. Its `secret` is set once
    the endpoint is registered (the secret is only known then)."""

    def __init__(self, fail_with: int | None = None):
        self.secret = ""
        self.events: list[ridepledge.WebhookEventType] = []
        self.rejected = 0
        app = Flask(__name__)
        seen: set[str] = set()

        @app.post("/ridepledge")
        def ridepledge_webhook():
            try:
                event = ridepledge.construct_event(request.get_data(), request.headers, self.secret)
            except ridepledge.WebhookVerificationError:
                self.rejected += 1
                abort(400)
            if fail_with:
                abort(fail_with)
            if event.id in seen:
                return "", 204  # a retry of a message already handled
            seen.add(event.id)
            self.events.append(event)
            return "", 204

        self._server = make_server("127.0.0.1", 0, app, threaded=True)
        self.url = f"http://127.0.0.1:{self._server.server_port}/ridepledge"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def stop(self):
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


@pytest.fixture
def receivers():
    made = []

    def make(**kwargs):
        made.append(FlaskReceiver(**kwargs))
        return made[-1]

    yield make
    for receiver in made:
        receiver.stop()


def register(sdk, receivers, **kwargs):
    """A new receiver and its endpoint (every event type)."""
    receiver = receivers(**kwargs)
    endpoint = sdk.webhook_endpoints.create(url=receiver.url, events=["*"], description="e2e")
    receiver.secret = endpoint.secret
    return endpoint, receiver


def test_the_server_delivers_and_the_sdk_verifies(app, sdk, receivers, live_server):
    endpoint, receiver = register(sdk, receivers)
    trip = sdk.trips.open(new_trip(sdk, new_event(sdk)).id)
    fan_pledges(live_server.url, trip)
    run_jobs(app)

    assert [event.type for event in receiver.events] == ["trip.opened", "pledge.created"]
    assert receiver.rejected == 0
    opened, pledged = receiver.events
    assert isinstance(opened, ridepledge.TripOpenedEvent) and opened.data.id == trip.id
    assert isinstance(opened.data, ridepledge.Trip) and opened.data.status == "open"
    assert isinstance(pledged, ridepledge.PledgeCreatedEvent)
    assert pledged.data.trip_id == trip.id and pledged.data.seats == 1

    deliveries = list(sdk.webhook_deliveries.list(endpoint_id=endpoint.id))
    assert [d.event_type for d in deliveries] == ["pledge.created", "trip.opened"]
    assert {d.status for d in deliveries} == {"succeeded"}
    assert {d.message_id for d in deliveries} == {e.id for e in receiver.events}
    one = sdk.webhook_deliveries.retrieve(deliveries[0].id)
    assert one.attempts[0].status_code == 204 and one.attempts[0].attempted_at.tzinfo
    with pytest.raises(ridepledge.ConflictError):
        sdk.webhook_deliveries.retry(one.id)  # it already succeeded


def test_a_failed_delivery_is_retried_by_hand(app, sdk, receivers):
    endpoint, receiver = register(sdk, receivers, fail_with=500)
    sdk.trips.open(new_trip(sdk, new_event(sdk)).id)
    run_jobs(app)
    (delivery,) = sdk.webhook_deliveries.list(endpoint_id=endpoint.id)
    assert delivery.status == "pending" and delivery.last_status_code == 500
    assert delivery.next_attempt_at is not None and delivery.attempt_count == 1

    retried = sdk.webhook_deliveries.retry(delivery.id)
    assert retried.id == delivery.id and retried.status == "pending"
    run_jobs(app)
    again = sdk.webhook_deliveries.retrieve(delivery.id)
    assert again.attempt_count == 2 and [a.status_code for a in again.attempts] == [500, 500]
    assert receiver.events == [] and receiver.rejected == 0
