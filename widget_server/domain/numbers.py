"""One strictness for numbers and booleans anyone sends us (API, widget API, forms, files).

- JSON integers must be JSON integers: not `"5"`, not `5.0`, not `true` (marshmallow's
  `strict=True` alone still takes `true`, a Python int);
- integers in query strings and forms are ASCII digits only: `int()` alone takes "²", "٣",
  " 5 " and "1_000", and forty nines make an overflow further down;
- booleans are JSON `true`/`false` only, not "yes", 1 or "on".
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

from babel.numbers import get_currency_precision
from marshmallow import ValidationError, fields

from widget_server.domain.errors import ValidationFailed

_DIGITS = re.compile(r"[0-9]{1,9}")


def parse_digits(value: str) -> int | None:
    """An integer written in ASCII digits (at most nine), or None: `int()` alone also takes
    "²", "٣", " 5 " and "1_000"."""
    return int(value) if isinstance(value, str) and _DIGITS.fullmatch(value) else None


class Integer(fields.Integer):
    """A JSON integer, strictly (see the module docstring)."""

    def __init__(self, **kwargs):
        kwargs["strict"] = True
        super().__init__(**kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, bool):
            raise ValidationError("must be a whole number, not true or false")
        return super()._deserialize(value, attr, data, **kwargs)


class Boolean(fields.Boolean):
    """JSON `true` or `false`, nothing else."""

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, bool):
            raise ValidationError("must be true or false")
        return value


class DigitsInteger(fields.Integer):
    """A whole number from a query string or a form: ASCII digits only (see `parse_digits`)."""

    def _deserialize(self, value, attr, data, **kwargs):
        number = parse_digits(value)
        if number is None:
            raise ValidationError("must be a whole number written in digits 0-9")
        return super()._deserialize(number, attr, data, **kwargs)


def minor_units(price: str, currency: str, *, field: str = "price", at_most: int = 100_000) -> int:
    """ "35" or "35.50" (or "35,50") typed in a form, in `currency` -> minor units (3500,
    3550); at most `at_most` whole units. A 422 naming `field` otherwise."""
    digits = get_currency_precision(currency)
    try:
        amount = Decimal(price.replace(",", ".").replace(" ", ""))
    except InvalidOperation:
        raise ValidationFailed.field(field, "must be an amount such as 35.00") from None
    if not amount.is_finite() or amount < 0 or amount.as_tuple().exponent < -digits:
        raise ValidationFailed.field(
            field, f"must be an amount with at most {digits} decimals, such as 35.00"
        )
    if amount > at_most:
        raise ValidationFailed.field(field, f"must be at most {at_most}")
    return int(amount.scaleb(digits))
