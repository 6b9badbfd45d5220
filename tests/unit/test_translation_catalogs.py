"""The translation catalogs: compiled, complete, and holding every email message."""

from __future__ import annotations

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

from tests.unit.email_helpers import (
    ROOT,
    TRANSLATIONS,
)

# The catalogs


def catalog(locale: str):
    with (TRANSLATIONS / locale / "LC_MESSAGES" / "messages.po").open("rb") as file:
        return read_po(file, locale=locale)


def as_dict(messages) -> dict:
    """msgid -> translation; plural ids and forms as tuples (.mo catalogs load them as lists)."""

    def key(value):
        return tuple(value) if isinstance(value, list) else value

    return {key(m.id): key(m.string) for m in messages if m.id and m.string and not m.fuzzy}


@pytest.mark.parametrize("locale", ["es", "fr"])
def test_compiled_catalogs_match_their_sources(locale):
    with (TRANSLATIONS / locale / "LC_MESSAGES" / "messages.mo").open("rb") as file:
        compiled = read_mo(file)
    assert as_dict(compiled) == as_dict(catalog(locale)), "run `make translations`"


@pytest.mark.parametrize("locale", ["es", "fr"])
def test_catalogs_translate_every_message(locale):
    untranslated = [
        m.id
        for m in catalog(locale)
        if m.id and (m.fuzzy or not all(m.string if isinstance(m.string, tuple) else (m.string,)))
    ]
    assert untranslated == []


def test_catalogs_hold_every_email_message():
    with (ROOT / "babel.cfg").open() as file:
        method_map, options_map = parse_mapping_cfg(file)
    in_code = {
        message[2]
        for message in extract_from_dir(str(ROOT), method_map, options_map)
        if "emails" in message[0] or "notifications" in message[0]
    }
    assert len(in_code) > 40
    for locale in ("es", "fr"):
        missing = in_code - set(as_dict(catalog(locale)))
        assert not missing, f"{locale}: run `make translations` and translate {missing}"
