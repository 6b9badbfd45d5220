"""The strict JSON parser on its own: depth measured on the text (strings with brackets and
escaped quotes do not count), duplicate members, constants, UTF-8."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from widget_server.json_body import (
    MAX_DEPTH,
    BodyRefused,
    DuplicateMember,
    nesting_depth,
    strict_loads,
)

SCALARS = st.none() | st.booleans() | st.integers() | st.text()
JSON_VALUES = st.recursive(
    SCALARS | st.floats(allow_nan=False, allow_infinity=False),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=30,
)


def _depth(value) -> int:
    if isinstance(value, list):
        return 1 + max((_depth(item) for item in value), default=0)
    if isinstance(value, dict):
        return 1 + max((_depth(item) for item in value.values()), default=0)
    return 0


@given(JSON_VALUES)
def test_every_json_document_within_the_depth_reads_back_the_same(value):
    text = json.dumps(value, ensure_ascii=False)
    assert nesting_depth(text) == _depth(value)
    if _depth(value) <= MAX_DEPTH:
        assert strict_loads(text) == value
        assert strict_loads(text.encode()) == value


@pytest.mark.parametrize(
    ("text", "depth"),
    [
        ('{"a": "[[[{{{"}', 1),
        ('["\\"[[[", "\\\\", [[]]]', 3),
        ("[]", 1),
        ("1", 0),
    ],
)
def test_brackets_inside_strings_do_not_count(text, depth):
    assert nesting_depth(text) == depth


def test_an_unterminated_string_is_scanned_in_linear_time():
    assert nesting_depth('"' + "\\x" * 200_000) == 0
    with pytest.raises(BodyRefused, match="not valid JSON"):
        strict_loads('"' + "a" * 200_000)


def test_too_deep_is_refused_before_the_parser_recurses():
    with pytest.raises(BodyRefused, match="deeper than"):
        strict_loads("[" * 100_000 + "]" * 100_000)
    assert strict_loads("[" * MAX_DEPTH + "]" * MAX_DEPTH) is not None


def test_duplicate_members_are_refused_at_any_level():
    with pytest.raises(DuplicateMember) as refused:
        strict_loads('{"a": {"b": 1, "b": 2}}')
    assert refused.value.field == "b"
    assert strict_loads('{"a": {"b": 1}, "b": 2}') == {"a": {"b": 1}, "b": 2}


@pytest.mark.parametrize("raw", ["NaN", "[Infinity]", '{"a": -Infinity}', b"\xff", "{", ""])
def test_not_json_is_refused(raw):
    with pytest.raises(BodyRefused):
        strict_loads(raw)
