"""The `simulated` provider: Stripe test mode without Stripe.

It knows Stripe's test payment methods and answers as Stripe would. What it "charged" is kept in
the `simulated_payments` ledger, keyed by idempotency key and written in its own transaction
(as if it were Stripe's side), so replays return the first answer and money never moves twice.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from widget_server.ids import new_id
from widget_server.models import SimulatedPayment
from widget_server.payments import (
    CardDeclined,
    ChargeResult,
    ConnectedAccount,
    PermanentPaymentError,
    SavedCard,
)

# Stripe's test payment methods: (outcome when saving the card, outcome when charging it).
TEST_PAYMENT_METHODS = {
    "pm_card_visa": ("ok", "succeeded"),
    "pm_card_mastercard": ("ok", "succeeded"),
    "pm_card_amex": ("ok", "succeeded"),
    "pm_card_chargeDeclined": ("generic_decline", "declined"),
    "pm_card_chargeDeclinedInsufficientFunds": ("insufficient_funds", "declined"),
    "pm_card_chargeCustomerFail": ("ok", "declined"),
    "pm_card_authenticationRequired": ("ok", "requires_action"),
}
# Stripe's test card numbers, for the test-mode card form, and the payment method each stands for.
TEST_CARD_NUMBERS = {
    "4242424242424242": "pm_card_visa",
    "5555555555554444": "pm_card_mastercard",
    "378282246310005": "pm_card_amex",
    "4000000000000002": "pm_card_chargeDeclined",
    "4000000000009995": "pm_card_chargeDeclinedInsufficientFunds",
    "4000000000000341": "pm_card_chargeCustomerFail",
    "4000002760003184": "pm_card_authenticationRequired",
}
CHARGE_MESSAGES = {
    "declined": "Your card was declined.",
    "requires_action": "Your bank asks you to confirm this payment.",
}
DECLINE_MESSAGES = {
    "generic_decline": "Your card was declined.",
    "insufficient_funds": "Your card has insufficient funds.",
}


class SimulatedProvider:
    name = "simulated"

    def __init__(self, session_factory: Callable[[], Session]):
        self._session_factory = session_factory

    def save_card(
        self, *, reference: str, email: str, name: str, payment_method: str, key: str
    ) -> SavedCard:
        """As Stripe would: the same `key` gives the same customer and SetupIntent again (they
        are named after it), so a retried attempt saves one card."""
        setup_outcome, _ = _behaviour(payment_method)
        if setup_outcome != "ok":
            raise CardDeclined("card_declined", DECLINE_MESSAGES[setup_outcome], setup_outcome)
        suffix = _named_after(key)
        return SavedCard(f"cus_sim_{suffix}", payment_method, f"seti_sim_{suffix}")

    def charge(
        self,
        *,
        pledge_id: str,
        amount: int,
        currency: str,
        customer_ref: str,
        payment_method_ref: str,
        key: str,
    ) -> ChargeResult:
        try:
            _, outcome = _behaviour(payment_method_ref)
        except CardDeclined as exc:  # as Stripe answers for a payment method it does not know
            raise PermanentPaymentError("resource_missing", exc.message) from exc
        row = self._remember(
            key,
            kind="charge",
            status=outcome,
            amount=amount,
            currency=currency,
            customer_ref=customer_ref,
            payment_method_ref=payment_method_ref,
            error_code={
                "declined": "card_declined",
                "requires_action": "authentication_required",
            }.get(outcome),
        )
        return ChargeResult(row.status, row.id, row.error_code, CHARGE_MESSAGES.get(row.status))

    def refund(self, *, pledge_id: str, intent_ref: str, amount: int, key: str) -> str:
        with self._session_factory() as session:
            charge = session.get(SimulatedPayment, intent_ref)
        if charge is None or charge.kind != "charge" or charge.status != "succeeded":
            raise PermanentPaymentError("resource_missing", f"no succeeded charge {intent_ref}")
        row = self._remember(
            key,
            kind="refund",
            status="succeeded",
            amount=amount,
            currency=charge.currency,
            customer_ref=charge.customer_ref,
            charge_ref=charge.id,
        )
        return row.id

    def find_charge(self, *, pledge_id: str, customer_ref: str, key: str) -> ChargeResult | None:
        """The ledger's row for `key`, if a charge was made under it."""
        with self._session_factory() as session:
            row = session.scalar(
                select(SimulatedPayment).where(
                    SimulatedPayment.idempotency_key == key, SimulatedPayment.kind == "charge"
                )
            )
        if row is None:
            return None
        return ChargeResult(row.status, row.id, row.error_code, CHARGE_MESSAGES.get(row.status))

    def create_connected_account(self, *, operator_id: str, email: str, key: str) -> str:
        """An account named after the key (the same key, the same account)."""
        return f"acct_sim_{_named_after(key)}"

    def onboarding_link(self, *, account_ref: str, return_url: str, refresh_url: str) -> str:
        """Simulated onboarding has nothing to fill in: it is done at once, back to the portal."""
        return return_url

    def connected_account(self, account_ref: str) -> ConnectedAccount:
        """Every simulated account (and any `acct_` id typed in) is fully onboarded."""
        _check_account(account_ref)
        return ConnectedAccount(account_ref, True, True, True, True)

    def transfer(
        self,
        *,
        amount: int,
        currency: str,
        destination: str,
        idempotency_key: str,
        metadata: dict[str, str],
    ) -> str:
        """A `tr_sim_...` transfer named after the key, kept in the ledger once."""
        _check_account(destination)
        row = self._remember(
            idempotency_key,
            id=f"tr_sim_{_named_after(idempotency_key)}",
            kind="transfer",
            status="succeeded",
            amount=amount,
            currency=currency,
            customer_ref=destination,
        )
        return row.id

    def _remember(self, key: str, id: str | None = None, **values) -> SimulatedPayment:
        """Insert the result for `key`, or return the one stored first (idempotent replay)."""
        prefix = "pi_sim" if values["kind"] == "charge" else "re_sim"
        with self._session_factory() as session:
            existing = session.scalar(
                select(SimulatedPayment).where(SimulatedPayment.idempotency_key == key)
            )
            if existing is not None:
                return existing
            row = SimulatedPayment(id=id or new_id(prefix), idempotency_key=key, **values)
            session.add(row)
            try:
                session.commit()
            except IntegrityError:
                session.rollback()
                return session.scalar(
                    select(SimulatedPayment).where(SimulatedPayment.idempotency_key == key)
                )
            return row


def _named_after(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()[:24]


def _check_account(account_ref: str) -> None:
    if not account_ref.startswith("acct_"):
        raise PermanentPaymentError("resource_missing", f"No such account: '{account_ref}'")


def payment_method_for_card_number(number: str) -> str | None:
    """The test payment method behind a Stripe test card number (spaces and dashes ignored)."""
    return TEST_CARD_NUMBERS.get("".join(ch for ch in number if ch.isdigit()))


def _behaviour(payment_method: str) -> tuple[str, str]:
    try:
        return TEST_PAYMENT_METHODS[payment_method]
    except KeyError:
        raise CardDeclined(
            "invalid_payment_method",
            "Unknown test payment method; use one of " + ", ".join(TEST_PAYMENT_METHODS),
        ) from None
