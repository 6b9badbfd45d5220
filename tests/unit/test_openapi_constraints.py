"""The constraints the OpenAPI document states are exactly the ones the server checks."""

from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st
from marshmallow import ValidationError

from widget_server.api.fields import TimeZone, time_zone_names
from widget_server.api.openapi import field_properties, text_pattern
from widget_server.domain.text import Text

# Whitespace, controls, bidi marks and ordinary letters, so both answers come up often.
_CHARS = st.sampled_from(list(" \t\n\r\x00\x1b\x7f\x85\u00a0\u200e\u202e\u2066\u3000aZé字🙂"))


def _accepted(field: Text, value: str) -> bool:
    try:
        field.deserialize(value)
    except ValidationError:
        return False
    return True


@settings(max_examples=400, deadline=None)
@given(value=st.text(_CHARS, max_size=8), multiline=st.booleans(), required=st.booleans())
def test_text_pattern_matches_exactly_what_text_accepts(value, multiline, required):
    field = Text(max_length=50, multiline=multiline, required=required)
    pattern = re.compile(text_pattern(multiline=multiline, min_length=field.min_length))
    assert bool(pattern.search(value)) == _accepted(field, value), repr(value)


def test_time_zone_enum_is_what_the_field_accepts():
    field = TimeZone()
    assert "America/Chicago" in time_zone_names()
    assert field.deserialize("America/Chicago") == "America/Chicago"
    for name in ("america/chicago", "posixrules", "Not/AZone", "../etc/passwd"):
        assert name not in time_zone_names()
        try:
            field.deserialize(name)
        except ValidationError:
            continue
        raise AssertionError(f"{name!r} accepted but not in the enum")


def test_an_own_pattern_is_exact_and_optional_fields_admit_empty():
    """An id-like pattern with `$` would admit a final newline under Python's regex semantics;
    an optional text field takes "" as "not given", so its pattern must admit ""."""
    own = {"pattern": "^[a-z]{3}_[0-9]{2}$"}
    optional = field_properties(None, Text(metadata=dict(own)), dict(own))["pattern"]
    required = field_properties(None, Text(required=True, metadata=dict(own)), dict(own))["pattern"]
    for value, optional_ok, required_ok in [
        ("abc_12", True, True),
        ("", True, False),
        ("abc_12\n", False, False),
        ("abc_1", False, False),
    ]:
        assert bool(re.search(optional, value)) is optional_ok, (optional, value)
        assert bool(re.search(required, value)) is required_ok, (required, value)
