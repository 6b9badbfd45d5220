"""One set of input rules for every piece of text anyone sends us.

The API, the widget API and its forms, partner files, the admin console and everything built
later load text through these fields, so "what is a valid name" is decided once:

- Unicode is NFC-normalised and trimmed;
- lone surrogates and control characters (C0, C1, DEL, and the bidirectional overrides and
  isolates such as U+202E that can disguise text) are refused, never silently stripped; only
  multi-line fields accept LF (CRLF and CR become LF);
- every field has a maximum length (in code points, after normalisation);
- strings only: a number or a list where text is expected is refused.

Ids (`Id("evt")`) must have the shape our ids have, so garbage never reaches a query.

Emails are normalised so one fan is one fan (the domain lower-cased; the local part kept as
typed but compared case-insensitively through `email_key`). Phone numbers are parsed with
`phonenumbers` and stored in E.164.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import UTC, datetime

import phonenumbers
from marshmallow import ValidationError, fields

from widget_server.ids import is_id

# Bidirectional embeddings, overrides and isolates: legitimate text never needs them in a
# single-line field, and they make "Fan" look like something else in a manifest or an email.
_BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f")

DEFAULT_MAX_LENGTH = 200


def text_problem(value: str, *, multiline: bool = False) -> str | None:
    """Why `value` is not acceptable text, or None when it is."""
    for char in value:
        code = ord(char)
        if 0xD800 <= code <= 0xDFFF:
            return "must not contain lone surrogates (invalid Unicode)"
        if char == "\n" and multiline:
            continue
        if unicodedata.category(char) == "Cc" or char in _BIDI_CONTROLS:
            return f"must not contain control characters (found U+{code:04X})"
    return None


def clean_text(value: str, *, max_length: int = DEFAULT_MAX_LENGTH, multiline: bool = False) -> str:
    """`value` normalised (NFC, trimmed, newlines unified), or ValueError saying what is wrong."""
    if not isinstance(value, str):
        raise ValueError("must be a string")
    if multiline:
        value = value.replace("\r\n", "\n").replace("\r", "\n")
    problem = text_problem(value, multiline=multiline)
    if problem:
        raise ValueError(problem)
    value = unicodedata.normalize("NFC", value).strip()
    if len(value) > max_length:
        raise ValueError(f"must be at most {max_length} characters")
    return value


class Text(fields.String):
    """A string under the rules above. `min_length` defaults to 1 when the field is required.

    The limits are also written into the field's metadata, so the OpenAPI document shows them.
    """

    def __init__(
        self,
        *,
        max_length: int = DEFAULT_MAX_LENGTH,
        min_length: int | None = None,
        multiline: bool = False,
        **kwargs,
    ):
        self.max_length = max_length
        self.min_length = (1 if kwargs.get("required") else 0) if min_length is None else min_length
        self.multiline = multiline
        metadata = {"maxLength": max_length, **kwargs.pop("metadata", {})}
        if self.min_length:
            metadata.setdefault("minLength", self.min_length)
        super().__init__(metadata=metadata, **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, str):
            raise ValidationError("must be a string")
        try:
            text = clean_text(value, max_length=self.max_length, multiline=self.multiline)
        except ValueError as exc:
            raise ValidationError(str(exc)) from None
        if len(text) < self.min_length:
            raise ValidationError(
                "must not be empty"
                if self.min_length == 1
                else f"must be at least {self.min_length} characters"
            )
        return text


_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
EMAIL_MAX_LENGTH = 254


def normalize_email(value: str) -> str:
    """The address as we store it: NFC, trimmed, domain lower-cased (IDNA-checked)."""
    text = clean_text(value, max_length=EMAIL_MAX_LENGTH)
    if not _EMAIL.match(text) or '"' in text or "," in text or "<" in text or ">" in text:
        raise ValueError("must be an email address such as fan@example.com")
    local, _, domain = text.rpartition("@")
    try:
        domain = domain.encode("idna").decode("ascii").lower()
    except UnicodeError:
        raise ValueError("has a domain that is not valid") from None
    if len(local) > 64:
        raise ValueError("has a part before @ longer than 64 characters")
    return f"{local}@{domain}"


def email_key(value: str) -> str:
    """What makes two addresses the same fan: the normalised address, case-folded."""
    return normalize_email(value).casefold()


# Providers that ignore dots in the local part (f.a.n@gmail.com is fan@gmail.com) and the
# domains they answer under.
_DOTLESS_DOMAINS = {"gmail.com": "gmail.com", "googlemail.com": "gmail.com"}


def fan_email_key(value: str) -> str:
    """What makes two addresses one fan for the seat cap, the per-fan rate limit and stop
    requests: `email_key`, with a `+tag` dropped from the part before @ (fan+1@x and fan+2@x
    are fan@x: most providers deliver them to one mailbox), and for Gmail the dots dropped
    too and googlemail.com read as gmail.com. Other providers' dots are kept (for them
    f.an@x and fan@x may be two people). The address itself is stored as typed."""
    local, _, domain = email_key(value).rpartition("@")
    local = local.split("+", 1)[0] or local
    if domain in _DOTLESS_DOMAINS:
        local, domain = local.replace(".", "") or local, _DOTLESS_DOMAINS[domain]
    return f"{local}@{domain}"


class Email(Text):
    """An email address, normalised (see `normalize_email`)."""

    def __init__(self, **kwargs):
        kwargs.setdefault("metadata", {})
        kwargs["metadata"].setdefault("format", "email")
        super().__init__(max_length=EMAIL_MAX_LENGTH, **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        text = super()._deserialize(value, attr, data, **kwargs)
        if not text and not self.required:
            return None
        try:
            return normalize_email(text)
        except ValueError as exc:
            raise ValidationError(str(exc)) from None


def normalize_phone(value: str, region: str | None = None) -> str:
    """A phone number in E.164 (+13125550100). Numbers without + are read in `region`."""
    text = clean_text(value, max_length=40)
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        raise ValueError("must be a phone number such as +1 312 555 0100") from None
    if not phonenumbers.is_possible_number(number) or not phonenumbers.is_valid_number(number):
        raise ValueError("is not a valid phone number (include the country code, e.g. +1)")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


class Phone(Text):
    """A phone number, stored in E.164. Without a leading +, read as a `region` number (US)."""

    def __init__(self, *, region: str = "US", **kwargs):
        self.region = region
        super().__init__(max_length=40, **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        text = super()._deserialize(value, attr, data, **kwargs)
        if not text:
            return None
        try:
            return normalize_phone(text, self.region)
        except ValueError as exc:
            raise ValidationError(str(exc)) from None


class Id(Text):
    """The id of an object of ours (`evt_...`, as `widget_server.ids.new_id` makes them). Anything
    else is refused as the field's error before it reaches the database."""

    def __init__(self, prefix: str, **kwargs):
        self.prefix = prefix
        kwargs.setdefault("metadata", {})
        kwargs["metadata"].setdefault("pattern", f"^{prefix}_[0-9a-hjkmnp-tv-z]{{26}}$")
        kwargs["metadata"].setdefault("example", f"{prefix}_01jd2x3y4z5a6b7c8d9e0f1g2h")
        super().__init__(max_length=len(prefix) + 27, **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        text = super()._deserialize(value, attr, data, **kwargs)
        if not text and not self.required:
            return None
        if not is_id(text, self.prefix):
            raise ValidationError(f"is not an id of the form {self.prefix}_...")
        return text


# RFC 3339 section 5.6: full-date "T" full-time, with "Z" or a numeric offset, nothing else
# (Python's fromisoformat also takes dates alone, week dates, "20261220T1900" and more).
_RFC3339 = re.compile(
    r"(?P<date>[0-9]{4}-[0-9]{2}-[0-9]{2})[Tt](?P<time>[0-9]{2}:[0-9]{2}:[0-9]{2})"
    r"(?:\.(?P<fraction>[0-9]{1,9}))?(?P<offset>[Zz]|[+-][0-9]{2}:[0-9]{2})"
)


def parse_rfc3339(value: str) -> datetime:
    """An RFC 3339 date-time with an offset, as an aware UTC datetime; ValueError otherwise
    (also for times that exist in no calendar or fall outside years 1-9999 in UTC)."""
    match = _RFC3339.fullmatch(value) if isinstance(value, str) else None
    if match is None:
        raise ValueError("must be an RFC 3339 date-time with an offset, like 2026-12-20T19:00:00Z")
    fraction = (match["fraction"] or "")[:6].ljust(6, "0")
    offset = "+00:00" if match["offset"] in "Zz" else match["offset"]
    try:
        moment = datetime.fromisoformat(f"{match['date']}T{match['time']}.{fraction}{offset}")
    except ValueError:
        raise ValueError("is not a real date and time (check the day, hour and offset)") from None
    try:
        return moment.astimezone(UTC)
    except OverflowError:  # before year 1 or after year 9999 once in UTC
        raise ValueError("is outside the years 0001-9999 in UTC") from None
