"""Stripe Connect through both providers: the `stripe` one (the real library over HTTP to the
fake Stripe server) and the `simulated` one. Express accounts, onboarding links, transfers under
a fixed key: the same key is the same transfer, never a second one."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from sqlalchemy import select

from tests.functional.stripe_helpers import running_fake_stripe
from widget_server.extensions import db
from widget_server.models import SimulatedPayment
from widget_server.payments import PaymentError, PermanentPaymentError
from widget_server.payments.stripe import StripeProvider

PORTAL = "https://rides.example.com/operator/payouts"


@pytest.fixture
def fake():
    with running_fake_stripe() as server:
        yield server


@pytest.fixture
def stripe_provider(fake):
    settings = SimpleNamespace(
        stripe_secret_key=fake.api_key, stripe_api_base=fake.url, stripe_max_rps=0, redis_url=None
    )
    provider = StripeProvider(settings)
    yield provider
    provider.close()


def onboarded_account(provider, fake) -> str:
    account = provider.create_connected_account(
        operator_id="op_1", email="owner@bus.example", key="operator-op_1-account"
    )
    fake.complete_onboarding(account)
    return account


def pay(provider, destination: str, key: str = "payout-po_1-transfer", amount: int = 120000):
    return provider.transfer(
        amount=amount,
        currency="USD",
        destination=destination,
        idempotency_key=key,
        metadata={"payout_id": "po_1", "trip_id": "trp_1"},
    )


def test_express_account_is_onboarded_through_a_link_back_to_the_portal(stripe_provider, fake):
    account = stripe_provider.create_connected_account(
        operator_id="op_1", email="owner@bus.example", key="operator-op_1-account"
    )
    again = stripe_provider.create_connected_account(
        operator_id="op_1", email="owner@bus.example", key="operator-op_1-account"
    )
    assert again == account and list(fake.accounts) == [account]
    created = fake.accounts[account]
    assert created["type"] == "express" and created["email"] == "owner@bus.example"
    assert created["capabilities"] == {"transfers": "inactive"}
    assert created["metadata"] == {"operator_id": "op_1"}
    before = stripe_provider.connected_account(account)
    assert not (before.transfers_enabled or before.payouts_enabled or before.details_submitted)

    url = stripe_provider.onboarding_link(
        account_ref=account, return_url=PORTAL + "?connected=1", refresh_url=PORTAL + "/connect"
    )
    [link] = fake.account_links
    assert url == link["url"] and url.startswith("https://connect.stripe.com/")
    assert link["type"] == "account_onboarding" and link["account"] == account
    assert link["return_url"] == PORTAL + "?connected=1"
    assert link["refresh_url"] == PORTAL + "/connect"

    fake.complete_onboarding(account)
    after = stripe_provider.connected_account(account)
    assert after.transfers_enabled and after.payouts_enabled and after.details_submitted
    assert not after.charges_enabled  # only transfers were asked for


def test_transfer_with_the_same_key_is_one_transfer(stripe_provider, fake):
    account = onboarded_account(stripe_provider, fake)
    first = pay(stripe_provider, account)
    assert pay(stripe_provider, account) == first
    [transfer] = fake.transfers.values()
    assert transfer["id"] == first and transfer["destination"] == account
    assert transfer["amount"] == 120000 and transfer["currency"] == "usd"
    assert transfer["metadata"] == {"payout_id": "po_1", "trip_id": "trp_1"}
    keys = [r["idempotency_key"] for r in fake.requests if r["path"] == "/v1/transfers"]
    assert keys == ["payout-po_1-transfer"] * 2


def test_a_lost_answer_is_recovered_by_the_retry_without_a_second_transfer(stripe_provider, fake):
    account = onboarded_account(stripe_provider, fake)
    fake.drop_next(path="/v1/transfers")  # Stripe made it; the answer never arrived
    transfer_id = pay(stripe_provider, account)  # the library's own retry, same key
    assert list(fake.transfers) == [transfer_id]


def test_transfer_failures_are_temporary_or_permanent(stripe_provider, fake):
    account = stripe_provider.create_connected_account(
        operator_id="op_1", email="owner@bus.example", key="operator-op_1-account"
    )
    with pytest.raises(PermanentPaymentError) as refused:
        pay(stripe_provider, account)  # onboarding not finished
    assert refused.value.code == "insufficient_capabilities_for_transfer"
    with pytest.raises(PermanentPaymentError) as unknown:
        pay(stripe_provider, "acct_nobody", key="payout-po_2-transfer")
    assert unknown.value.code == "resource_missing"
    fake.complete_onboarding(account)
    fake.fail_next(3, status=500, path="/v1/transfers")  # every try of the library's
    with pytest.raises(PaymentError):
        pay(stripe_provider, account, key="payout-po_3-transfer")
    assert fake.transfers == {}


def test_simulated_transfers_are_named_after_their_key_and_kept_once(app):
    provider = app.extensions["ridepledge.payments"]
    account = provider.create_connected_account(
        operator_id="op_1", email="owner@bus.example", key="operator-op_1-account"
    )
    assert account.startswith("acct_sim_")
    assert provider.onboarding_link(account_ref=account, return_url=PORTAL, refresh_url="x") == (
        PORTAL
    )
    assert provider.connected_account(account).transfers_enabled
    first = pay(provider, account)
    assert first.startswith("tr_sim_") and pay(provider, account) == first
    assert pay(provider, account, key="payout-po_2-transfer") != first
    with app.app_context():
        rows = db.session.scalars(
            select(SimulatedPayment).where(SimulatedPayment.kind == "transfer")
        ).all()
    assert sorted((row.idempotency_key, row.amount, row.customer_ref) for row in rows) == [
        ("payout-po_1-transfer", 120000, account),
        ("payout-po_2-transfer", 120000, account),
    ]
    with pytest.raises(PermanentPaymentError):
        pay(provider, "not-an-account", key="payout-po_3-transfer")
