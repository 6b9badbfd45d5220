"""The `stripe` provider: the official library's StripeClient, explicit retries, fixed
idempotency keys. STRIPE_API_BASE points it at another address (the fake server in tests)."""

from __future__ import annotations

from datetime import timedelta

import stripe

from widget_server.payments import (
    LONGEST_CALL,
    CardDeclined,
    ChargeResult,
    ConnectedAccount,
    PaymentError,
    PermanentPaymentError,
    SavedCard,
)
from widget_server.payments.pacing import MAX_PACING_WAIT, PacedRequestsClient, RateGate

# Failures after which the outcome is unknown or temporary: retry later with the same key.
# APIError covers Stripe's 409 for a request sent while another one with the same key is still
# in flight (the library retries 409 itself first): the retry gets the first one's answer.
# A wrong or revoked API key (Authentication/Permission) is the operator's to fix; the charges
# wait for it rather than failing the fans.
TRANSIENT = (
    stripe.APIConnectionError,
    stripe.APIError,
    stripe.RateLimitError,
    stripe.AuthenticationError,
    stripe.PermissionError,
)
# Stripe refused the request itself: the same request can never succeed. IdempotencyError is
# a key reused with other parameters (400).
PERMANENT = (stripe.InvalidRequestError, stripe.IdempotencyError)

# (connect, read) seconds for each HTTP request to Stripe, and the library's own retries.
DEFAULT_TIMEOUT = (5, 30)
NETWORK_RETRIES = 2


def longest_call(timeout: tuple[float, float] = DEFAULT_TIMEOUT) -> timedelta:
    """How long one call may take at worst: every try timing out after waiting for its pacing
    slot, plus the library's longest sleeps between tries. It must fit in
    payments.LONGEST_CALL."""
    tries = NETWORK_RETRIES + 1
    sleeps = NETWORK_RETRIES * stripe._http_client.HTTPClient.MAX_DELAY
    return timedelta(seconds=tries * (sum(timeout) + MAX_PACING_WAIT) + sleeps)


def _permanent(exc: stripe.StripeError) -> PermanentPaymentError:
    return PermanentPaymentError(getattr(exc, "code", None), exc.user_message or str(exc))


class StripeProvider:
    name = "stripe"

    def __init__(self, settings, *, timeout: tuple[float, float] = DEFAULT_TIMEOUT):
        """`timeout` is (connect, read) seconds per request; tests lower it to see timeouts."""
        if not settings.stripe_secret_key:
            raise ValueError("PAYMENTS_PROVIDER=stripe needs STRIPE_SECRET_KEY")
        if longest_call(timeout) > LONGEST_CALL:
            raise ValueError(f"Stripe timeouts {timeout} do not fit in {LONGEST_CALL}")
        base = {"api": settings.stripe_api_base} if settings.stripe_api_base else None
        # One request schedule for all workers (pacing.py); 0 turns pacing off.
        gate = (
            RateGate(settings.stripe_max_rps, settings.redis_url)
            if settings.stripe_max_rps
            else None
        )
        self._http = PacedRequestsClient(timeout=timeout, gate=gate)
        self.client = stripe.StripeClient(
            settings.stripe_secret_key,
            base_addresses=base,
            max_network_retries=NETWORK_RETRIES,
            http_client=self._http,
        )

    def close(self) -> None:
        """Close the HTTP connections this thread opened to Stripe.

        The library keeps one `requests` session per thread; call this from each thread that
        used the provider once it is done with it (tests do, so no socket is left to the GC).
        """
        self._http.close()

    def save_card(
        self, *, reference: str, email: str, name: str, payment_method: str, key: str
    ) -> SavedCard:
        """A Customer and a confirmed SetupIntent (usage=off_session); no money moves. Both
        calls are keyed by `key` (the customer's as `<key>-customer`): a retried attempt gets
        Stripe's first answers and saves one card."""
        metadata = {"pledge_id" if reference.startswith("plg_") else "pledge_attempt": reference}
        try:
            customer = self.client.v1.customers.create(
                params={"email": email, "name": name, "metadata": metadata},
                options={"idempotency_key": f"{key}-customer"},
            )
            setup = self.client.v1.setup_intents.create(
                params={
                    "customer": customer.id,
                    "payment_method": payment_method,
                    "payment_method_types": ["card"],
                    "usage": "off_session",
                    "confirm": True,
                    "metadata": metadata,
                },
                options={"idempotency_key": key},
            )
        except stripe.CardError as exc:
            raise CardDeclined(
                exc.code or "card_declined",
                exc.user_message or "Your card was declined.",
                getattr(exc.error, "decline_code", None),
            ) from exc
        except stripe.InvalidRequestError as exc:
            if exc.param == "payment_method":
                raise CardDeclined("invalid_payment_method", "This card is not valid.") from exc
            raise PaymentError(str(exc)) from exc
        except (stripe.IdempotencyError, *TRANSIENT) as exc:
            raise PaymentError(str(exc)) from exc
        if setup.status != "succeeded":
            raise CardDeclined(
                "authentication_required",
                "Your bank asks to confirm this card; please use another card.",
            )
        # Stripe turns a test card name into a new PaymentMethod: keep the one it attached.
        saved = setup.payment_method
        return SavedCard(customer.id, saved if isinstance(saved, str) else saved.id, setup.id)

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
        """An off-session PaymentIntent confirmed at once."""
        try:
            intent = self.client.v1.payment_intents.create(
                params={
                    "amount": amount,
                    "currency": currency.lower(),
                    "customer": customer_ref,
                    "payment_method": payment_method_ref,
                    "payment_method_types": ["card"],
                    "off_session": True,
                    "confirm": True,
                    "metadata": {"pledge_id": pledge_id, "idempotency_key": key},
                },
                options={"idempotency_key": key},
            )
        except stripe.CardError as exc:
            # A StripeObject is not a dict (no .get): read the failed intent's id as an attribute.
            intent = getattr(exc.error, "payment_intent", None)
            status = "requires_action" if exc.code == "authentication_required" else "declined"
            return ChargeResult(
                status,
                intent.id if intent is not None else None,
                exc.code,
                exc.user_message or "Your card was declined.",
            )
        except PERMANENT as exc:
            raise _permanent(exc) from exc
        except TRANSIENT as exc:
            raise PaymentError(str(exc)) from exc
        if intent.status == "succeeded":
            return ChargeResult("succeeded", intent.id)
        if intent.status == "requires_action":
            return ChargeResult(
                "requires_action",
                intent.id,
                "authentication_required",
                "Your bank asks you to confirm this payment.",
            )
        # processing or an unexpected state: unknown outcome, the webhook or a retry settles it
        raise PaymentError(f"payment intent {intent.id} is {intent.status}")

    def find_charge(self, *, pledge_id: str, customer_ref: str, key: str) -> ChargeResult | None:
        """The PaymentIntent made under `key`, found among its customer's (a read: Stripe has no
        lookup by idempotency key, and its search is not read-after-write). Every attempt has
        its own customer (saved with the attempt's card), so one page holds them all."""
        page = self._call(
            self.client.v1.payment_intents.list, params={"customer": customer_ref, "limit": 100}
        )
        for intent in page.data:
            if intent.metadata.to_dict().get("idempotency_key") != key:
                continue
            if intent.status == "succeeded":
                return ChargeResult("succeeded", intent.id)
            if intent.status in ("requires_payment_method", "canceled"):
                code = getattr(getattr(intent, "last_payment_error", None), "code", None)
                return ChargeResult("declined", intent.id, code, "Your card was declined.")
            if intent.status == "requires_action":
                return ChargeResult("requires_action", intent.id, "authentication_required")
            raise PaymentError(f"payment intent {intent.id} is {intent.status}")
        if page.has_more:
            raise PaymentError(f"customer {customer_ref} has more payment intents than a page")
        return None

    def refund(self, *, pledge_id: str, intent_ref: str, amount: int, key: str) -> str:
        refund = self._call(
            self.client.v1.refunds.create,
            params={
                "payment_intent": intent_ref,
                "amount": amount,
                "metadata": {"pledge_id": pledge_id},
            },
            options={"idempotency_key": key},
        )
        return refund.id

    # Connect: bus companies' Express accounts and the transfers that pay them ----------------

    def _call(self, call, *args, **kwargs):
        """One Stripe call, its failures read as ours: temporary or permanent."""
        try:
            return call(*args, **kwargs)
        except PERMANENT as exc:
            raise _permanent(exc) from exc
        except TRANSIENT as exc:
            raise PaymentError(str(exc)) from exc

    def create_connected_account(self, *, operator_id: str, email: str, key: str) -> str:
        """An Express account asking for the `transfers` capability (all a bus company needs
        to be paid); Stripe's onboarding collects the rest."""
        account = self._call(
            self.client.v1.accounts.create,
            params={
                "type": "express",
                "email": email,
                "business_type": "company",
                "capabilities": {"transfers": {"requested": True}},
                "metadata": {"operator_id": operator_id},
            },
            options={"idempotency_key": key},
        )
        return account.id

    def onboarding_link(self, *, account_ref: str, return_url: str, refresh_url: str) -> str:
        link = self._call(
            self.client.v1.account_links.create,
            params={
                "account": account_ref,
                "type": "account_onboarding",
                "return_url": return_url,
                "refresh_url": refresh_url,
            },
        )
        return link.url

    def connected_account(self, account_ref: str) -> ConnectedAccount:
        account = self._call(self.client.v1.accounts.retrieve, account_ref).to_dict()
        capabilities = account.get("capabilities") or {}
        return ConnectedAccount(
            account["id"],
            transfers_enabled=capabilities.get("transfers") == "active",
            payouts_enabled=bool(account.get("payouts_enabled")),
            charges_enabled=bool(account.get("charges_enabled")),
            details_submitted=bool(account.get("details_submitted")),
        )

    def transfer(
        self,
        *,
        amount: int,
        currency: str,
        destination: str,
        idempotency_key: str,
        metadata: dict[str, str],
    ) -> str:
        transfer = self._call(
            self.client.v1.transfers.create,
            params={
                "amount": amount,
                "currency": currency.lower(),
                "destination": destination,
                "metadata": metadata,
            },
            options={"idempotency_key": idempotency_key},
        )
        return transfer.id
