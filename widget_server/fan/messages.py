"""What the widget tells a fan when something is wrong, in the fan's language.

The API's problem details are written for developers (English, precise); fans see these words
instead, chosen by field name or problem type. The same words go to widget.js (page data), so
the page says the same thing with or without JavaScript.
"""

from __future__ import annotations

from functools import cache

from flask import current_app
from flask_babel import get_locale
from flask_babel import gettext as _

from widget_server.domain.errors import DomainError
from widget_server.domain.pricing.promos import REASONS
from widget_server.payments import is_simulated

# Both tables go into every widget page's data; translating them (some 25 lookups) was about
# 7% of the trip page's CPU in a profile (bench/per_request.py), so each language's table is
# made once per process. They are read-only: the callers only read or serialise them.


def field_messages(max_seats: int) -> dict[str, str]:
    simulated = is_simulated(current_app.config["SETTINGS"])
    return _field_messages(str(get_locale()), max_seats, simulated)


@cache
def _field_messages(_locale: str, max_seats: int, simulated: bool) -> dict[str, str]:
    return {
        "stop_id": _("Choose a pick-up stop."),
        "seats": _("Choose from 1 to %(max)s seats.", max=max_seats),
        "name": _("Enter your name."),
        "email": _("Enter a valid email address, like name@example.com."),
        "payment_method": _("Enter one of the test card numbers listed below.")
        if simulated
        else _("Check your card details."),
        "card": _("Check your card details."),
        "origin": _("Enter a city, region or postal code."),
        "promo_code": _("This code cannot be used."),
        "ref": _(
            "The share link you came by is damaged. Send the form again to pledge without it."
        ),
        "_generic": _("Check this field."),
    }


def problem_messages() -> dict[str, str]:
    """Problem `type` (the last part of its URL) -> what the fan reads."""
    return _problem_messages(str(get_locale()))


@cache
def _problem_messages(_locale: str) -> dict[str, str]:
    return {
        "sold-out": _("Sorry, there are not enough seats left on this trip."),
        "add-on-sold-out": _("Sorry, not enough of an extra you chose is left. Choose fewer."),
        "seat-limit": _("You already hold the most seats one fan may take on this trip."),
        "link-expired": _("This link has expired. Ask for a new one from the trip's page."),
        "card-declined": _("Your card was declined. Try another card."),
        "conflict": _("This trip no longer takes pledges."),
        "illegal-transition": _("This can no longer be changed."),
        "payments-unavailable": _(
            "We could not reach the payment service. Nothing was saved; please try again."
        ),
        "too-many-requests": _("Too many attempts. Wait a minute, then try again."),
        "form-expired": _("This form expired. Please send it again."),
        "cross-site": _("This form can only be sent from this page."),
        "not-found": _("This page is not available."),
        "offer-gone": _(
            "This offer has expired or was already used; the seats went to the next in line."
        ),
        "not-sold-out": _("Seats are available: you can pledge them now."),
        "already-waiting": _("This email is already on the waitlist for this trip."),
        "validation-error": _("Some fields need your attention."),
        "idempotency-in-progress": _(
            "Your pledge is still being saved. Wait a moment, then send the form again: "
            "you will not be charged twice."
        ),
        "idempotency-key-reused": _(
            "This form was already sent with other details. Check them and send it again."
        ),
        "preview-only": _("This is a preview: nothing can be sent from it."),
        "network": _("We could not reach the server. Check your connection and try again."),
        "generic": _("Something went wrong. Please try again."),
    }


def promo_messages() -> dict[str, str]:
    """Why a promo code cannot be used (`domain.pricing.promos.REASONS`), in the fan's words,
    keyed by the API's English message (what the widget's JSON answers carry)."""
    words = {
        "unknown": _("This code does not exist. Check its spelling."),
        "off": _("This code is no longer offered."),
        "not_yet_valid": _("This code is not valid yet."),
        "expired": _("This code has expired."),
        "used_up": _("This code has been used up."),
        "not_for_this_trip": _("This code is not valid for this trip."),
        "per_fan_limit": _("You have already used this code as many times as it allows."),
    }
    return {REASONS[reason]: text for reason, text in words.items()}


def for_promo(message: str) -> str:
    """The fan's words for the API's message about a promo code."""
    return promo_messages().get(message, field_messages(1)["promo_code"])


def for_problem(exc: DomainError) -> str:
    texts = problem_messages()
    if exc.type == "not-found" and exc.detail and not exc.detail.startswith("no "):
        return exc.detail  # already written for fans (and translated) by the page
    return texts.get(exc.type, texts["generic"])


def card_behaviour(payment_method: str) -> str:
    """What a Stripe test card does, for the test-mode card table."""
    texts = {
        "pm_card_visa": _("Works"),
        "pm_card_mastercard": _("Works"),
        "pm_card_amex": _("Works"),
        "pm_card_chargeDeclined": _("Declined when you pledge"),
        "pm_card_chargeDeclinedInsufficientFunds": _(
            "Declined when you pledge (insufficient funds)"
        ),
        "pm_card_chargeCustomerFail": _("Saved, then declined when the bus confirms"),
        "pm_card_authenticationRequired": _(
            "Saved, then needs your confirmation when the bus confirms"
        ),
    }
    return texts.get(payment_method, payment_method)
