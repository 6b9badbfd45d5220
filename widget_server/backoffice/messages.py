"""The console's words for what is wrong with a form field, in the admin's language.

The domain's and marshmallow's messages are English, written for the API's developers (the API
keeps them). Console pages show each one through `console_message`, which knows the messages
the console's forms can meet (events, trips, the team, one's account) and says them in es/fr;
one it does not know is shown as it is. WTForms' own messages come translated by Flask-WTF.
"""

from __future__ import annotations

import re

from flask import Flask
from flask_babel import gettext as _


def _known():
    """(pattern matching the whole English message, its words in the admin's language)."""
    return [
        (
            r"Missing data for required field\.|must not be empty|Field may not be null\.",
            lambda m: _("Fill in this field."),
        ),
        (r"Not a valid integer\.|must be a whole number.*", lambda m: _("Enter a whole number.")),
        (
            r"Not a valid (string|list|mapping)\.|must be a string|Invalid input type\.",
            lambda m: _("Check this field."),
        ),
        (
            r"must be at most (\d+) characters",
            lambda m: _("At most %(count)s characters.", count=m[1]),
        ),
        (
            r"must be at least (\d+) characters",
            lambda m: _("At least %(count)s characters.", count=m[1]),
        ),
        (
            r"must not contain (lone surrogates|control characters).*",
            lambda m: _("Remove the invisible control characters from this text."),
        ),
        (
            r"Must be greater than or equal to (\d+) and less than or equal to (\d+)\.",
            lambda m: _("Enter a number from %(low)s to %(high)s.", low=m[1], high=m[2]),
        ),
        (
            r"Length must be between (\d+) and (\d+)\.",
            lambda m: _("Give from %(low)s to %(high)s.", low=m[1], high=m[2]),
        ),
        (
            r"must be a date and time( such as .+)?",
            lambda m: _("Enter a date and time, such as 2030-11-14 19:00."),
        ),
        (
            r"must be within (\d+) years of today",
            lambda m: _("Enter a date within %(count)s years of today.", count=m[1]),
        ),
        (
            r"must be an IANA time zone such as .+",
            lambda m: _("Enter a time zone such as America/Chicago or Europe/Madrid."),
        ),
        (
            r"must be an amount such as .+|must be an amount with at most (\d+) decimals.*",
            lambda m: _("Enter an amount such as 35.00."),
        ),
        (r"must be at most 100000", lambda m: _("At most 100000.")),
        (
            r"must be an email address such as .+|has a domain that is not valid"
            r"|has a part before @ longer than 64 characters",
            lambda m: _("Enter an email address such as name@example.com."),
        ),
        (
            r"must be a phone number such as .+|is not a valid phone number.*",
            lambda m: _("Enter a phone number with its country code, such as +1 312 555 0100."),
        ),
        (r"a trip needs at least one stop", lambda m: _("A trip needs at least one stop.")),
        (
            r"stops must be in order of departure time",
            lambda m: _("Put the stops in order of departure time."),
        ),
        (
            r"must be before the first stop's departure",
            lambda m: _("Must be before the first stop's departure."),
        ),
        (r"must be before the event starts", lambda m: _("Must be before the event starts.")),
        (
            r"must be after the first departure of the event's trips",
            lambda m: _("Must be after the first departure of the event's trips."),
        ),
        (r"must be in the future", lambda m: _("Must be in the future.")),
        (
            r"is in the past; move it before opening",
            lambda m: _("This is in the past: move it before opening the trip."),
        ),
        (r"must be at least 1", lambda m: _("At least 1.")),
        (r"must be between 1 and the capacity", lambda m: _("From 1 to the capacity of the trip.")),
        (
            r"(\d+) seats are already pledged; capacity cannot be lower",
            lambda m: _(
                "%(count)s seats are already pledged: the capacity cannot be lower.", count=m[1]
            ),
        ),
        (
            r"(\S+) already has a console account",
            lambda m: _("%(email)s already has a console account.", email=m[1]),
        ),
        (
            r"this is the last owner; make someone else an owner first",
            lambda m: _("This is the last owner: make someone else an owner first."),
        ),
        (
            r"text_color on background_color has contrast ([\d.]+):1; WCAG AA needs at least "
            r"([\d.]+):1",
            lambda m: _(
                "%(text)s on %(background)s has contrast %(ratio)s:1; WCAG AA needs at least "
                "%(minimum)s:1.",
                text=_("Text"),
                background=_("Background"),
                ratio=m[1],
                minimum=m[2],
            ),
        ),
        (
            r"color_scheme '(light|dark)' does not match background_color \S+ .*",
            lambda m: _(
                "The colour scheme does not match the background: dark for a dark background, "
                "light for a light one."
            ),
        ),
        (
            r"open the trip before issuing a driver link",
            lambda m: _("Open the trip before issuing a driver link."),
        ),
        (
            r"issue a driver link before emailing it",
            lambda m: _("Issue a driver link before emailing it."),
        ),
        # the bus marketplace (domain/operators/marketplace.py, awards.py)
        (
            r"no operator serves the region (\S*); name the operators to ask",
            lambda m: _(
                "No operator serves the region %(region)s: tick the operators to ask.",
                region=m[1],
            ),
        ),
        (r"no operator (.+)", lambda m: _("No operator %(slugs)s.", slugs=m[1])),
        (
            r"is needed to find the operators to ask",
            lambda m: _("Give the region code, or tick the operators to ask."),
        ),
        (
            r"this request is no longer open|this request is (awarded|canceled); it takes no "
            r"quotes|the request is (awarded|canceled); quotes cannot change",
            lambda m: _("This request is no longer open."),
        ),
        (
            r"the quote cannot be awarded: .*",
            lambda m: _(
                "This quote cannot be awarded: it has expired or the operator is not compliant."
            ),
        ),
        (
            r"you already have an open quote on this request; revise or withdraw it",
            lambda m: _("You already quoted on this request: revise or withdraw that quote."),
        ),
        (
            r"this quote is (\w+); only an open quote can change",
            lambda m: _("This quote can no longer change."),
        ),
        (r"must not be after the departure", lambda m: _("Must not be after the departure.")),
        (
            r"is required \(or choose a vehicle from your fleet\)",
            lambda m: _("Give the seats, or choose a vehicle from your fleet."),
        ),
        (r"must be between 1 and (\d+)", lambda m: _("From 1 to %(n)s.", n=m[1])),
        (r"must be at most (\d+)", lambda m: _("At most %(n)s.", n=m[1])),
        (r"no such vehicle in your fleet", lambda m: _("Choose a vehicle from your fleet.")),
        (r"this vehicle is not active", lambda m: _("This vehicle is out of service.")),
        (
            r"must be an ISO 4217 code such as USD",
            lambda m: _("Enter a currency code such as USD."),
        ),
        (r"must be a date such as .+", lambda m: _("Enter a date such as 2030-11-14.")),
        (
            r"must be between 1 and the quote's seats",
            lambda m: _("From 1 to the seats of the bus."),
        ),
    ]


def console_message(message) -> str:
    """`message` in the admin's language when the console knows it; as it is otherwise."""
    text = str(message)
    for pattern, words in _known():
        found = re.fullmatch(pattern, text)
        if found:
            return words(found)
    return text


def init_app(app: Flask) -> None:
    app.jinja_env.filters["console_message"] = console_message
