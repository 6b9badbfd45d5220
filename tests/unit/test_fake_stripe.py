"""The fake Stripe server, proven with the official `stripe` library over real HTTP."""

from __future__ import annotations

import json
import threading
import time
import urllib.request
from urllib.error import HTTPError

import pytest
import stripe

from tests.fakes.stripe_server import FakeStripe, sign_stripe_payload
from tests.fakes.stripe_wire import parse_form
from tests.waiting import wait_for

PI_PATH = "/v1/payment_intents"


@pytest.fixture
def fake():
    with FakeStripe() as server:
        yield server
        assert server.wait_idle()
        assert server.server_errors == []


@pytest.fixture
def make_client(fake):
    """StripeClients pointed at the fake; their connections are closed after the test."""
    http_clients = []

    def make(max_network_retries: int = 2, timeout: float = 10.0, api_key: str | None = None):
        http_client = stripe.RequestsClient(timeout=timeout)
        http_clients.append(http_client)
        return stripe.StripeClient(
            api_key or fake.api_key,
            base_addresses={"api": fake.url},
            max_network_retries=max_network_retries,
            http_client=http_client,
        )

    yield make
    for http_client in http_clients:
        http_client.close()


@pytest.fixture
def client(make_client):
    return make_client()


def save_card(client, card: str = "pm_card_visa"):
    customer = client.v1.customers.create(
        params={"email": "fan@example.com", "metadata": {"pledge_id": "pl_1"}}
    )
    intent = client.v1.setup_intents.create(
        params={
            "customer": customer.id,
            "payment_method": card,
            "usage": "off_session",
            "confirm": True,
            "payment_method_types": ["card"],
            "metadata": {"pledge_id": "pl_1"},
        },
        options={"idempotency_key": f"pledge-pl_1-save-{card}"},
    )
    return customer, intent


def charge(client, customer_id: str, pm_id: str, key: str, amount: int = 2500):
    return client.v1.payment_intents.create(
        params={
            "amount": amount,
            "currency": "eur",
            "customer": customer_id,
            "payment_method": pm_id,
            "off_session": True,
            "confirm": True,
            "metadata": {"pledge_id": "pl_1"},
        },
        options={"idempotency_key": key},
    )


def test_parse_form_reads_bracket_notation():
    body = "metadata[pledge_id]=x&payment_method_types[0]=card&expand[]=a&expand[]=b&amount=5"
    assert parse_form(body) == {
        "metadata": {"pledge_id": "x"},
        "payment_method_types": ["card"],
        "expand": ["a", "b"],
        "amount": "5",
    }


def test_setup_intent_saves_visa_for_the_customer(client, fake):
    customer, intent = save_card(client)

    assert intent.status == "succeeded"
    assert intent.customer == customer.id
    assert intent.metadata["pledge_id"] == "pl_1"
    # Like Stripe, a test token becomes a new PaymentMethod, attached to the customer.
    assert intent.payment_method.startswith("pm_") and intent.payment_method != "pm_card_visa"
    card = client.v1.payment_methods.retrieve(intent.payment_method)
    assert (card.customer, card.card.last4) == (customer.id, "4242")
    sent = fake.requests[1]
    assert sent["path"] == "/v1/setup_intents"
    assert sent["idempotency_key"] == "pledge-pl_1-save-pm_card_visa"
    assert sent["params"]["payment_method_types"] == ["card"]
    assert sent["params"]["metadata"] == {"pledge_id": "pl_1"}


@pytest.mark.parametrize(
    ("card", "decline_code"),
    [
        ("pm_card_chargeDeclined", "generic_decline"),
        ("pm_card_chargeDeclinedInsufficientFunds", "insufficient_funds"),
    ],
)
def test_declined_card_fails_at_setup(client, card, decline_code):
    with pytest.raises(stripe.CardError) as declined:
        save_card(client, card)

    assert declined.value.http_status == 402
    assert declined.value.code == "card_declined"
    assert declined.value.error.decline_code == decline_code
    assert declined.value.error.setup_intent.status == "requires_payment_method"
    assert declined.value.request_id.startswith("req_")


def test_off_session_charge_succeeds_for_visa(client, fake):
    customer, intent = save_card(client)

    payment = charge(client, customer.id, intent.payment_method, "pledge-pl_1-charge-1")

    assert (payment.status, payment.amount_received) == ("succeeded", 2500)
    assert payment.latest_charge.startswith("ch_")
    assert [pi["id"] for pi in fake.succeeded_charges()] == [payment.id]
    assert fake.total_captured(customer=customer.id) == 2500
    listed = client.v1.payment_intents.list(params={"customer": customer.id})
    assert [pi.id for pi in listed.data] == [payment.id]


def test_off_session_charge_needing_authentication_fails(client, fake):
    customer, intent = save_card(client, "pm_card_authenticationRequired")
    assert intent.status == "succeeded"

    with pytest.raises(stripe.CardError) as failed:
        charge(client, customer.id, intent.payment_method, "pledge-pl_1-charge-1")

    assert failed.value.code == "authentication_required"
    payment = failed.value.error.payment_intent
    assert payment.status == "requires_payment_method"
    assert payment.last_payment_error.payment_method.id == intent.payment_method
    assert fake.succeeded_charges() == []


def test_customer_fail_card_declines_until_fixed(client, fake):
    customer, intent = save_card(client, "pm_card_chargeCustomerFail")
    with pytest.raises(stripe.CardError) as declined:
        charge(client, customer.id, intent.payment_method, "pledge-pl_1-charge-1")
    assert declined.value.code == "card_declined"

    fake.set_charge_outcome(intent.payment_method, "succeed")

    payment = charge(client, customer.id, intent.payment_method, "pledge-pl_1-charge-2")
    assert payment.status == "succeeded"


def test_same_idempotency_key_replays_the_first_answer(client, fake):
    customer, intent = save_card(client)

    first = charge(client, customer.id, intent.payment_method, "pledge-pl_1-charge-1")
    again = charge(client, customer.id, intent.payment_method, "pledge-pl_1-charge-1")

    assert again.id == first.id
    assert again.last_response.headers["Idempotent-Replayed"] == "true"
    assert len(fake.payment_intents) == 1
    assert fake.total_captured() == 2500


def test_declines_are_replayed_too(client, fake):
    customer, intent = save_card(client, "pm_card_chargeCustomerFail")
    errors = []
    for _ in range(2):
        with pytest.raises(stripe.CardError) as declined:
            charge(client, customer.id, intent.payment_method, "pledge-pl_1-charge-1")
        errors.append(declined.value)

    assert errors[0].error.payment_intent.id == errors[1].error.payment_intent.id
    assert errors[1].headers["idempotent-replayed"] == "true"
    assert len(fake.payment_intents) == 1


def test_same_key_with_other_parameters_is_an_idempotency_error(client, fake):
    customer, intent = save_card(client)
    charge(client, customer.id, intent.payment_method, "pledge-pl_1-charge-1")

    with pytest.raises(stripe.IdempotencyError):
        charge(client, customer.id, intent.payment_method, "pledge-pl_1-charge-1", amount=999)
    assert fake.total_captured() == 2500


def test_library_retries_a_500_and_charges_once(client, fake):
    customer, intent = save_card(client)
    fake.fail_next(1, status=500, path=PI_PATH)

    payment = charge(client, customer.id, intent.payment_method, "pledge-pl_1-charge-1")

    assert payment.status == "succeeded"
    attempts = [r for r in fake.requests if r["path"] == PI_PATH]
    assert [r["status"] for r in attempts] == [500, 200]
    assert {r["idempotency_key"] for r in attempts} == {"pledge-pl_1-charge-1"}
    assert len(fake.succeeded_charges()) == 1


def test_library_does_not_retry_429_unless_stripe_says_so(client, fake):
    customer, intent = save_card(client)
    fake.fail_next(1, status=429, path=PI_PATH)
    with pytest.raises(stripe.RateLimitError) as limited:
        charge(client, customer.id, intent.payment_method, "pledge-pl_1-charge-1")
    assert limited.value.headers["retry-after"] == "1"

    fake.fail_next(1, status=429, path=PI_PATH, should_retry=True)
    payment = charge(client, customer.id, intent.payment_method, "pledge-pl_1-charge-1")
    assert payment.status == "succeeded"
    assert len(fake.succeeded_charges()) == 1


def test_timeout_then_retry_with_same_key_charges_once(client, make_client, fake):
    customer, intent = save_card(client)
    impatient = make_client(max_network_retries=0, timeout=0.3)
    fake.delay_next(1, seconds=1.0, path=PI_PATH)

    with pytest.raises(stripe.APIConnectionError):
        charge(impatient, customer.id, intent.payment_method, "pledge-pl_1-charge-1")
    # The retry is performed while the first request still sleeps; the late one then replays.
    payment = charge(client, customer.id, intent.payment_method, "pledge-pl_1-charge-1")

    assert payment.status == "succeeded"
    assert fake.wait_idle()
    attempts = [r for r in fake.requests if r["path"] == PI_PATH]
    assert sorted(r["replayed"] for r in attempts) == [False, True]
    assert len(fake.succeeded_charges()) == 1


def test_library_retry_after_timeout_charges_once(client, make_client, fake):
    customer, intent = save_card(client)
    retrying = make_client(max_network_retries=2, timeout=1.0)
    fake.delay_next(1, seconds=2.0, path=PI_PATH)

    payment = charge(retrying, customer.id, intent.payment_method, "pledge-pl_1-charge-1")

    assert payment.status == "succeeded"
    assert fake.wait_idle()
    assert len([r for r in fake.requests if r["path"] == PI_PATH]) == 2
    assert len(fake.succeeded_charges()) == 1


def test_dropped_response_is_recovered_by_the_retry(client, fake):
    customer, intent = save_card(client)
    fake.drop_next(1, path=PI_PATH)

    payment = charge(client, customer.id, intent.payment_method, "pledge-pl_1-charge-1")

    assert payment.last_response.headers["Idempotent-Replayed"] == "true"
    assert len(fake.succeeded_charges()) == 1


def test_refund_in_full_once(client, fake):
    customer, intent = save_card(client)
    payment = charge(client, customer.id, intent.payment_method, "pledge-pl_1-charge-1")

    refund = client.v1.refunds.create(
        params={"payment_intent": payment.id, "metadata": {"pledge_id": "pl_1"}},
        options={"idempotency_key": "pledge-pl_1-refund-1"},
    )

    assert (refund.status, refund.amount, refund.payment_intent) == ("succeeded", 2500, payment.id)
    assert client.v1.refunds.retrieve(refund.id).charge == payment.latest_charge
    with pytest.raises(stripe.InvalidRequestError) as again:
        client.v1.refunds.create(params={"payment_intent": payment.id})
    assert again.value.code == "charge_already_refunded"
    assert list(fake.refunds) == [refund.id]
    assert fake.total_refunded(customer=customer.id) == 2500


def test_manual_capture_and_cancel(client, fake):
    customer, intent = save_card(client)
    params = {"amount": 1000, "currency": "eur", "customer": customer.id, "confirm": True}
    params |= {"payment_method": intent.payment_method, "capture_method": "manual"}
    held = client.v1.payment_intents.create(params=params)
    assert held.status == "requires_capture"
    assert fake.total_captured() == 0

    captured = client.v1.payment_intents.capture(held.id)
    assert (captured.status, captured.amount_received) == ("succeeded", 1000)
    with pytest.raises(stripe.InvalidRequestError) as late:
        client.v1.payment_intents.cancel(held.id)
    assert late.value.code == "payment_intent_unexpected_state"

    other = client.v1.payment_intents.create(params=params)
    canceled = client.v1.payment_intents.cancel(other.id)
    assert canceled.status == "canceled"
    assert fake.total_captured() == 1000


def test_invalid_requests_use_stripe_error_shapes(client, fake):
    customer = client.v1.customers.create(params={"email": "fan@example.com"})
    with pytest.raises(stripe.InvalidRequestError) as unknown_card:
        charge(client, customer.id, "pm_nope", "k1")
    assert (unknown_card.value.code, unknown_card.value.param) == (
        "resource_missing",
        "payment_method",
    )
    with pytest.raises(stripe.InvalidRequestError) as unknown_param:
        client.v1.customers.create(params={"emial": "typo@example.com"})
    assert unknown_param.value.param == "emial"
    with pytest.raises(stripe.InvalidRequestError) as missing:
        client.v1.payment_intents.retrieve("pi_missing")
    assert missing.value.http_status == 404

    fake.reset()
    assert fake.requests == [] and fake.customers == {}


def test_rejects_requests_without_a_test_key(make_client, fake):
    with pytest.raises(stripe.AuthenticationError):
        make_client(api_key="sk_live_123456789").v1.customers.create()

    with pytest.raises(HTTPError) as refused:
        urllib.request.urlopen(fake.url + "/v1/customers", timeout=5)
    with refused.value as response:
        assert response.status == 401
        assert response.headers["Request-Id"].startswith("req_")
        assert json.load(response)["error"]["type"] == "invalid_request_error"


def test_signed_event_verifies_with_the_stripe_library(client, fake):
    customer, intent = save_card(client)
    payment = charge(client, customer.id, intent.payment_method, "pledge-pl_1-charge-1")
    payload = json.dumps(
        fake.event_for(fake.payment_intents[payment.id], "payment_intent.succeeded")
    )

    event = stripe.Webhook.construct_event(
        payload.encode(), sign_stripe_payload(payload.encode(), "whsec_test"), "whsec_test"
    )

    assert (event.type, event.data.object.id) == ("payment_intent.succeeded", payment.id)
    with pytest.raises(stripe.SignatureVerificationError):
        stripe.Webhook.construct_event(
            payload, sign_stripe_payload(payload.encode(), "whsec_other"), "whsec_test"
        )
    stale = sign_stripe_payload(payload.encode(), "whsec_test", timestamp=int(time.time()) - 600)
    with pytest.raises(stripe.SignatureVerificationError):
        stripe.Webhook.construct_event(payload, stale, "whsec_test")


# Concurrency like Stripe's -------------------------------------------------------------------


def _post_customer(fake, key: str) -> tuple[int, dict]:
    request = urllib.request.Request(
        f"{fake.url}/v1/customers",
        data=b"email=fan%40example.com",
        headers={"Authorization": f"Bearer {fake.api_key}", "Idempotency-Key": key},
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except HTTPError as error:
        return error.code, json.loads(error.read())


def test_concurrent_requests_with_one_key_get_409_and_nothing_is_stored(fake):
    from concurrent.futures import ThreadPoolExecutor

    fake.gate = threading.Event()  # the first is held while it is being performed
    with ThreadPoolExecutor(max_workers=2) as pool:
        first = pool.submit(_post_customer, fake, "same-key")
        wait_for(lambda: "same-key" in fake.performing(), what="the first request")
        conflict, error = _post_customer(fake, "same-key")  # arrives while the first runs
        fake.gate.set()
        ok, customer = first.result()
    assert (ok, conflict) == (200, 409)
    assert error["error"]["type"] == "idempotency_error"
    assert error["error"]["code"] == "idempotency_key_in_use"
    assert len(fake.customers) == 1
    # Once the first is done, the same key replays its answer.
    fake.gate = None
    assert _post_customer(fake, "same-key") == (200, customer)


def test_requests_with_different_keys_are_served_concurrently(fake):
    from concurrent.futures import ThreadPoolExecutor

    fake.gate = threading.Event()
    with ThreadPoolExecutor(max_workers=4) as pool:
        answers = pool.map(lambda n: _post_customer(fake, f"key-{n}"), range(4))
        # All four are being performed at once (served one after another, never more than one
        # would be, and this wait would time out).
        wait_for(lambda: len(fake.performing()) == 4, what="four requests performed at once")
        fake.gate.set()
        statuses = [s for s, _ in answers]
    assert statuses == [200] * 4


def test_the_library_retries_a_409_and_then_gets_the_first_answer(fake, make_client):
    from concurrent.futures import ThreadPoolExecutor

    fake.gate = threading.Event()
    client = make_client(max_network_retries=2)

    def create():
        return client.v1.customers.create(
            params={"email": "fan@example.com"}, options={"idempotency_key": "lib-key"}
        ).id

    with ThreadPoolExecutor(max_workers=2) as pool:
        first = pool.submit(create)
        wait_for(lambda: "lib-key" in fake.performing(), what="the first request")
        second = pool.submit(create)
        wait_for(lambda: 409 in [r.get("status") for r in fake.requests], what="a 409")
        fake.gate.set()  # the first finishes; the library's retry of the second replays it
        assert first.result() == second.result()
    assert len(fake.customers) == 1
    assert 409 in [r["status"] for r in fake.requests]
