"""The fake Stripe's resources and what Stripe does to them: customers, payment methods,
SetupIntents, PaymentIntents and refunds, with Stripe's test cards. No HTTP here; the caller
(tests.fakes.stripe_server) holds a lock around every call."""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

from tests.fakes.stripe_connect import ConnectState
from tests.fakes.stripe_wire import StripeError, list_object, new_id, now

# Charge outcomes accepted by FakeStripe.set_charge_outcome, and what each declines with.
OUTCOMES = ("succeed", "decline", "insufficient_funds", "authentication_required")
_DECLINES = {
    "decline": ("card_declined", "generic_decline", "Your card was declined."),
    "insufficient_funds": (
        "card_declined",
        "insufficient_funds",
        "Your card has insufficient funds.",
    ),
    "authentication_required": (
        "authentication_required",
        "authentication_required",
        "Your card was declined. This transaction requires authentication.",
    ),
}


@dataclass(frozen=True)
class CardBehaviour:
    brand: str
    last4: str
    setup: str  # outcome when saving the card (SetupIntent confirm, attach)
    charge: str  # outcome when charging it off-session


# Stripe's test PaymentMethod tokens. Each use of a token creates a new `pm_...`, as Stripe does.
TEST_CARDS = {
    "pm_card_visa": CardBehaviour("visa", "4242", "succeed", "succeed"),
    "pm_card_mastercard": CardBehaviour("mastercard", "4444", "succeed", "succeed"),
    "pm_card_amex": CardBehaviour("amex", "8431", "succeed", "succeed"),
    "pm_card_chargeDeclined": CardBehaviour("visa", "0002", "decline", "decline"),
    "pm_card_chargeDeclinedInsufficientFunds": CardBehaviour(
        "visa", "9995", "insufficient_funds", "insufficient_funds"
    ),
    "pm_card_chargeCustomerFail": CardBehaviour("visa", "0341", "succeed", "decline"),
    "pm_card_authenticationRequired": CardBehaviour(
        "visa", "3184", "succeed", "authentication_required"
    ),
}
_OPEN_PI = ("requires_payment_method", "requires_confirmation", "requires_action")


def _flag(params: dict, name: str, default: bool = False) -> bool:
    value = params.get(name)
    if value is None:
        return default
    if value in ("true", "false"):
        return value == "true"
    if name == "off_session" and value in ("one_off", "recurring"):
        return True
    raise StripeError.invalid(f"Invalid boolean: {value}", param=name)


def _amount(params: dict, name: str, required: bool = False) -> int | None:
    value = params.get(name)
    if value is None:
        if required:
            raise StripeError.invalid(
                f"Missing required param: {name}.", param=name, code="parameter_missing"
            )
        return None
    if not isinstance(value, str) or not value.isdigit() or int(value) < 1:
        raise StripeError.invalid(
            f"Invalid positive integer: {value}", param=name, code="parameter_invalid_integer"
        )
    return int(value)


def _base(prefix: str, kind: str, params: dict) -> dict[str, Any]:
    return {
        "id": new_id(prefix),
        "object": kind,
        "created": now(),
        "livemode": False,
        "metadata": dict(params.get("metadata") or {}),
    }


class StripeState(ConnectState):
    """Everything the fake Stripe account holds. Methods return Stripe objects (dicts)."""

    def __init__(self) -> None:
        super().__init__()
        self.customers: dict[str, dict] = {}
        self.payment_methods: dict[str, dict] = {}
        self.setup_intents: dict[str, dict] = {}
        self.payment_intents: dict[str, dict] = {}
        self.refunds: dict[str, dict] = {}
        self.charge_overrides: dict[str, str] = {}
        self._card_of: dict[str, str] = {}  # pm id -> test token it was made from

    # Customers ---------------------------------------------------------------------------

    def create_customer(self, params: dict) -> dict:
        customer = _base("cus", "customer", params)
        customer.update(email=None, name=None, description=None, phone=None)
        customer["invoice_settings"] = {"default_payment_method": None}
        self._update_customer_fields(customer, params)
        self.customers[customer["id"]] = customer
        if params.get("payment_method"):
            self.attach_payment_method(params["payment_method"], {"customer": customer["id"]})
        return customer

    def update_customer(self, customer_id: str, params: dict) -> dict:
        customer = self.customer(customer_id)
        self._update_customer_fields(customer, params)
        customer["metadata"].update(params.get("metadata") or {})
        return customer

    def _update_customer_fields(self, customer: dict, params: dict) -> None:
        for field in ("email", "name", "description", "phone"):
            if field in params:
                customer[field] = params[field] or None
        settings = params.get("invoice_settings") or {}
        if "default_payment_method" in settings:
            customer["invoice_settings"]["default_payment_method"] = settings[
                "default_payment_method"
            ]

    def customer(self, customer_id: str, param: str | None = None) -> dict:
        if customer_id not in self.customers:
            raise StripeError.missing("customer", customer_id, param=param)
        return self.customers[customer_id]

    def list_customers(self, params: dict) -> dict:
        found = [c for c in self.customers.values() if params.get("email") in (None, c["email"])]
        return list_object("/v1/customers", found, _amount(params, "limit") or 10)

    # Payment methods -------------------------------------------------------------------

    def payment_method(self, pm_id: str, param: str | None = "payment_method") -> dict:
        """The PaymentMethod `pm_id`; a test token such as pm_card_visa makes a new one."""
        if pm_id in TEST_CARDS:
            card = TEST_CARDS[pm_id]
            pm = _base("pm", "payment_method", {})
            pm.update(type="card", customer=None, allow_redisplay="unspecified")
            pm["billing_details"] = {"address": None, "email": None, "name": None, "phone": None}
            pm["card"] = {
                "brand": card.brand,
                "last4": card.last4,
                "exp_month": 12,
                "exp_year": 2034,
                "funding": "credit",
                "country": "US",
                "fingerprint": new_id("fp")[3:19],
            }
            self.payment_methods[pm["id"]] = pm
            self._card_of[pm["id"]] = pm_id
            return pm
        if pm_id not in self.payment_methods:
            raise StripeError.missing("PaymentMethod", pm_id, param=param)
        return self.payment_methods[pm_id]

    def attach_payment_method(self, pm_id: str, params: dict) -> dict:
        customer_id = params.get("customer")
        if not customer_id:
            raise StripeError.invalid(
                "Missing required param: customer.", param="customer", code="parameter_missing"
            )
        self.customer(customer_id, param="customer")
        pm = self.payment_method(pm_id, param=None)
        if pm["customer"] not in (None, customer_id):
            raise StripeError.invalid(
                "The payment method you provided has already been attached to a customer.",
                param="payment_method",
                stored=True,
            )
        outcome = self._card(pm).setup
        if outcome != "succeed":
            raise self._decline(outcome, payment_method=copy.deepcopy(pm))
        pm["customer"] = customer_id
        return pm

    def _card(self, pm: dict) -> CardBehaviour:
        return TEST_CARDS[self._card_of[pm["id"]]]

    def charge_outcome(self, pm: dict) -> str:
        """A runtime override (by pm id, then by test token) wins over the test card's own."""
        token = self._card_of[pm["id"]]
        return self.charge_overrides.get(pm["id"], self.charge_overrides.get(token)) or (
            TEST_CARDS[token].charge
        )

    @staticmethod
    def _decline(outcome: str, **objects) -> StripeError:
        code, decline_code, message = _DECLINES[outcome]
        return StripeError.card(code, decline_code, message, **objects)

    # SetupIntents ----------------------------------------------------------------------

    def create_setup_intent(self, params: dict) -> dict:
        intent = _base("seti", "setup_intent", params)
        intent.update(
            customer=params.get("customer"),
            description=params.get("description"),
            payment_method=None,
            payment_method_types=params.get("payment_method_types") or ["card"],
            usage=params.get("usage", "off_session"),
            status="requires_payment_method",
            last_setup_error=None,
            latest_attempt=None,
            next_action=None,
            cancellation_reason=None,
        )
        intent["client_secret"] = f"{intent['id']}_secret_{new_id('x')[2:]}"
        if intent["customer"]:
            self.customer(intent["customer"], param="customer")
        if params.get("payment_method"):
            intent["payment_method"] = self.payment_method(params["payment_method"])["id"]
            intent["status"] = "requires_confirmation"
        confirm = _flag(params, "confirm")
        self.setup_intents[intent["id"]] = intent
        return self.confirm_setup_intent(intent["id"], {}) if confirm else intent

    def setup_intent(self, intent_id: str) -> dict:
        if intent_id not in self.setup_intents:
            raise StripeError.missing("setup_intent", intent_id)
        return self.setup_intents[intent_id]

    def confirm_setup_intent(self, intent_id: str, params: dict) -> dict:
        intent = self.setup_intent(intent_id)
        if intent["status"] not in _OPEN_PI:
            raise StripeError.unexpected_state(
                f"You cannot confirm this SetupIntent because it has a status of "
                f"{intent['status']}.",
                kind="setup_intent",
            )
        pm = self._intent_payment_method(intent, params)
        intent["latest_attempt"] = new_id("setatt")
        outcome = self._card(pm).setup
        if outcome != "succeed":
            error = self._decline(outcome, payment_method=copy.deepcopy(pm))
            intent.update(status="requires_payment_method", payment_method=None)
            intent["last_setup_error"] = dict(error.error)
            error.error["setup_intent"] = copy.deepcopy(intent)
            raise error
        intent.update(status="succeeded", payment_method=pm["id"], last_setup_error=None)
        if intent["customer"]:
            pm["customer"] = intent["customer"]
        return intent

    def _intent_payment_method(self, intent: dict, params: dict) -> dict:
        pm_id = params.get("payment_method") or intent["payment_method"]
        if not pm_id:
            raise StripeError.invalid(
                f"You cannot confirm this {intent['object']} because it's missing a payment "
                "method.",
                param="payment_method",
                code=f"{intent['object']}_unexpected_state",
            )
        pm = self.payment_method(pm_id)
        customer = intent["customer"]
        if pm["customer"] not in (None, customer):
            raise StripeError.invalid(
                f"The provided PaymentMethod belongs to a different Customer ({pm['customer']}).",
                param="payment_method",
            )
        return pm

    # PaymentIntents --------------------------------------------------------------------

    def create_payment_intent(self, params: dict) -> dict:
        amount = _amount(params, "amount", required=True)
        if not params.get("currency"):
            raise StripeError.invalid(
                "Missing required param: currency.", param="currency", code="parameter_missing"
            )
        confirm = _flag(params, "confirm")
        if "off_session" in params and not confirm:
            raise StripeError.invalid(
                "You can only pass in `off_session` when `confirm` is true.", param="off_session"
            )
        if params.get("customer"):
            self.customer(params["customer"], param="customer")
        intent = _base("pi", "payment_intent", params)
        intent.update(
            amount=amount,
            amount_capturable=0,
            amount_received=0,
            currency=params["currency"].lower(),
            customer=params.get("customer"),
            description=params.get("description"),
            capture_method=params.get("capture_method", "automatic_async"),
            confirmation_method="automatic",
            payment_method=None,
            payment_method_types=params.get("payment_method_types") or ["card"],
            status="requires_payment_method",
            last_payment_error=None,
            latest_charge=None,
            next_action=None,
            canceled_at=None,
            cancellation_reason=None,
        )
        intent["client_secret"] = f"{intent['id']}_secret_{new_id('x')[2:]}"
        if params.get("payment_method"):
            intent["payment_method"] = self.payment_method(params["payment_method"])["id"]
            intent["status"] = "requires_confirmation"
        self.payment_intents[intent["id"]] = intent
        if not confirm:
            return intent
        return self.confirm_payment_intent(intent["id"], {"off_session": params.get("off_session")})

    def payment_intent(self, intent_id: str, param: str | None = None) -> dict:
        if intent_id not in self.payment_intents:
            raise StripeError.missing("payment_intent", intent_id, param=param)
        return self.payment_intents[intent_id]

    def list_payment_intents(self, params: dict) -> dict:
        wanted = params.get("customer")
        found = [pi for pi in self.payment_intents.values() if wanted in (None, pi["customer"])]
        return list_object("/v1/payment_intents", found, _amount(params, "limit") or 10)

    def confirm_payment_intent(self, intent_id: str, params: dict) -> dict:
        intent = self.payment_intent(intent_id)
        if intent["status"] not in _OPEN_PI:
            raise StripeError.unexpected_state(
                f"You cannot confirm this PaymentIntent because it has a status of "
                f"{intent['status']}."
            )
        pm = self._intent_payment_method(intent, params)
        intent["payment_method"] = pm["id"]
        outcome = self.charge_outcome(pm)
        if outcome == "succeed":
            intent.update(latest_charge=new_id("ch"), last_payment_error=None, next_action=None)
            if intent["capture_method"] == "manual":
                intent.update(status="requires_capture", amount_capturable=intent["amount"])
            else:
                intent.update(status="succeeded", amount_received=intent["amount"])
            return intent
        if outcome == "authentication_required" and not _flag(params, "off_session"):
            intent["status"] = "requires_action"
            intent["next_action"] = {"type": "use_stripe_sdk", "use_stripe_sdk": {}}
            return intent
        charge = new_id("ch") if outcome != "authentication_required" else None
        error = self._decline(outcome, payment_method=copy.deepcopy(pm), charge=charge)
        intent.update(status="requires_payment_method", payment_method=None, latest_charge=charge)
        intent["last_payment_error"] = dict(error.error)
        error.error["payment_intent"] = copy.deepcopy(intent)
        raise error

    def cancel_payment_intent(self, intent_id: str, params: dict) -> dict:
        intent = self.payment_intent(intent_id)
        if intent["status"] in ("succeeded", "canceled"):
            raise StripeError.unexpected_state(
                "You cannot cancel this PaymentIntent because it has a status of "
                f"{intent['status']}. Only a PaymentIntent with one of the following statuses "
                "may be canceled: requires_payment_method, requires_capture, "
                "requires_confirmation, requires_action, processing."
            )
        intent.update(
            status="canceled",
            canceled_at=now(),
            cancellation_reason=params.get("cancellation_reason"),
            amount_capturable=0,
        )
        return intent

    def capture_payment_intent(self, intent_id: str, params: dict) -> dict:
        intent = self.payment_intent(intent_id)
        if intent["status"] != "requires_capture":
            raise StripeError.unexpected_state(
                "This PaymentIntent could not be captured because it has a status of "
                f"{intent['status']}. Only a PaymentIntent with one of the following statuses "
                "may be captured: requires_capture."
            )
        amount = _amount(params, "amount_to_capture") or intent["amount"]
        if amount > intent["amount"]:
            raise StripeError.invalid(
                "The amount to capture must be less than or equal to the authorized amount.",
                param="amount_to_capture",
                code="amount_too_large",
            )
        intent.update(status="succeeded", amount_received=amount, amount_capturable=0)
        intent["metadata"].update(params.get("metadata") or {})
        return intent

    # Refunds ---------------------------------------------------------------------------

    def create_refund(self, params: dict) -> dict:
        if not params.get("payment_intent"):
            raise StripeError.invalid(
                "One of the following params should be provided for this request: "
                "payment_intent or charge.",
                param="payment_intent",
                code="parameter_missing",
            )
        intent = self.payment_intent(params["payment_intent"], param="payment_intent")
        if intent["status"] != "succeeded":
            raise StripeError.unexpected_state(
                f"This PaymentIntent does not have a successful charge to refund "
                f"(status {intent['status']})."
            )
        refundable = intent["amount_received"] - self.refunded(intent["id"])
        if refundable <= 0:
            raise StripeError.invalid(
                f"Charge {intent['latest_charge']} has already been refunded.",
                code="charge_already_refunded",
                stored=True,
            )
        amount = _amount(params, "amount") or refundable
        if amount > refundable:
            raise StripeError.invalid(
                f"Refund amount ({amount}) is greater than unrefunded amount on charge "
                f"({refundable})",
                param="amount",
                code="amount_too_large",
                stored=True,
            )
        refund = _base("re", "refund", params)
        refund.update(
            amount=amount,
            currency=intent["currency"],
            charge=intent["latest_charge"],
            payment_intent=intent["id"],
            reason=params.get("reason"),
            status="succeeded",
            balance_transaction=new_id("txn"),
        )
        self.refunds[refund["id"]] = refund
        return refund

    def refund(self, refund_id: str) -> dict:
        if refund_id not in self.refunds:
            raise StripeError.missing("refund", refund_id)
        return self.refunds[refund_id]

    def refunded(self, intent_id: str) -> int:
        return sum(r["amount"] for r in self.refunds.values() if r["payment_intent"] == intent_id)
