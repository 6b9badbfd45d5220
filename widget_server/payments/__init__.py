"""Owns moving money, deciding nothing: providers behind one interface (`simulated`, `stripe`).

The domain never imports a provider module directly; it gets one from `get_provider(settings)`.
Every call that moves money takes an idempotency key, so a retry or a replayed job can never
charge or refund twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Protocol

# The longest one provider call may take, the client library's own retries included (see
# payments/stripe.py, which checks that its timeouts fit). A claim on a pledge (its lease) and
# an in-progress `/v1` Idempotency-Key both outlast it, so nobody takes a call for abandoned
# while the client is still retrying it.
LONGEST_CALL = timedelta(minutes=2)


class PaymentError(Exception):
    """Temporary: the provider could not be reached, failed on its side, or is still busy with
    another request under the same idempotency key. The outcome is unknown or not yet there:
    retry later (with backoff) with the same idempotency key."""


class PermanentPaymentError(Exception):
    """The provider refused the request itself (a detached card, a missing customer, a charge
    already refunded): sending it again can never succeed. `code` is the provider's."""

    def __init__(self, code: str | None, message: str):
        super().__init__(message)
        self.code = code or "invalid_request"
        self.message = message


class CardDeclined(Exception):
    """The card was refused when saving it. `code` is Stripe's (card_declined, ...)."""

    def __init__(self, code: str, message: str, decline_code: str | None = None):
        super().__init__(message)
        self.code = code
        self.decline_code = decline_code
        self.message = message


@dataclass(frozen=True)
class SavedCard:
    customer_ref: str
    payment_method_ref: str
    setup_ref: str


@dataclass(frozen=True)
class ChargeResult:
    """The outcome of an off-session charge.

    status: "succeeded", or "requires_action" (the fan must authenticate) or "declined";
    the last two put the pledge in action_required.
    """

    status: str
    intent_ref: str | None
    error_code: str | None = None
    message: str | None = None

    @property
    def succeeded(self) -> bool:
        return self.status == "succeeded"


@dataclass(frozen=True)
class ConnectedAccount:
    """A bus company's connected account as the provider sees it. `transfers_enabled`: it can
    receive a transfer now; `payouts_enabled`: the provider pays its balance out to the
    company's bank; `details_submitted`: its holder finished the hosted onboarding."""

    ref: str
    transfers_enabled: bool
    payouts_enabled: bool
    charges_enabled: bool
    details_submitted: bool


class PaymentProvider(Protocol):
    name: str

    def save_card(
        self, *, reference: str, email: str, name: str, payment_method: str, key: str
    ) -> SavedCard:
        """Save a card for later off-session use (no money moves). Raises CardDeclined.

        `key` keys the call: the same key gets the provider's first answer again (a fan's
        retried pledge attempt saves its card once). `reference` is what the provider's records
        name the card for: the pledge id, or `pledge-attempt-<digest>` for a fan's attempt under
        an Idempotency-Key (a re-run of the attempt makes a new pledge id, and must send the
        provider the very same request)."""

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
        """Charge a saved card off-session. A card's fault comes back as a declined or
        requires_action result; raises PaymentError when the outcome is unknown (temporary)
        and PermanentPaymentError when the request can never succeed."""

    def refund(self, *, pledge_id: str, intent_ref: str, amount: int, key: str) -> str:
        """Refund a charge in full; returns the refund reference. Raises PaymentError
        (temporary) or PermanentPaymentError (code `charge_already_refunded` when it was)."""

    def find_charge(self, *, pledge_id: str, customer_ref: str, key: str) -> ChargeResult | None:
        """What became of the charge sent earlier under `key`, without charging anything: its
        result, or None if the provider never made it. Used when the trip was canceled while
        a charge's outcome was unknown. Raises PaymentError when it cannot tell now (the
        provider is unreachable, or the charge is still processing)."""

    def create_connected_account(self, *, operator_id: str, email: str, key: str) -> str:
        """Open a connected account (Stripe Connect Express) for a bus company; returns its
        reference. Keyed by `key`: the same key gives the same account again."""

    def onboarding_link(self, *, account_ref: str, return_url: str, refresh_url: str) -> str:
        """A short-lived, single-use address of the provider's hosted onboarding for the
        account, which sends its holder back to `return_url` (done) or `refresh_url` (the link
        expired: make a new one)."""

    def connected_account(self, account_ref: str) -> ConnectedAccount:
        """The account's state now (a read). Raises PaymentError or PermanentPaymentError
        (code `resource_missing` for an account the provider does not know)."""

    def transfer(
        self,
        *,
        amount: int,
        currency: str,
        destination: str,
        idempotency_key: str,
        metadata: dict[str, str],
    ) -> str:
        """Move `amount` from the platform's balance to the connected account `destination`;
        returns the transfer reference. The same key returns the same transfer, never a
        second one. Raises PaymentError (temporary: retry with the same key) or
        PermanentPaymentError (e.g. `insufficient_capabilities_for_transfer`,
        `balance_insufficient`)."""


def is_simulated(settings) -> bool:
    """Whether payments are simulated (Stripe test mode without Stripe): the one answer every
    face uses (test-card form, test-card table, messages)."""
    return settings.payments_provider == "simulated"


def init_app(app) -> None:
    """Give the app its provider; the simulated one keeps its ledger in the app's database."""
    from sqlalchemy.orm import Session

    engine = app.extensions["ridepledge.engine"]
    app.extensions["ridepledge.payments"] = get_provider(
        app.config["SETTINGS"], lambda: Session(bind=engine, expire_on_commit=False)
    )


def get_provider(settings, session_factory=None) -> PaymentProvider:
    """The provider configured by PAYMENTS_PROVIDER."""
    if settings.payments_provider == "stripe":
        from widget_server.payments.stripe import StripeProvider

        return StripeProvider(settings)
    from widget_server.payments.simulated import SimulatedProvider

    return SimulatedProvider(session_factory)
