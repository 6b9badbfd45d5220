"""The one set of text rules every input goes through (widget_server/domain/text.py)."""

import pytest
from marshmallow import Schema, ValidationError

from widget_server.domain.text import Email, Phone, Text, clean_text, email_key


class _Form(Schema):
    name = Text(required=True, max_length=10)
    note = Text(multiline=True, max_length=50, load_default=None)
    email = Email(load_default=None)
    phone = Phone(load_default=None, allow_none=True)


def _error(**data):
    with pytest.raises(ValidationError) as caught:
        _Form().load(data)
    return caught.value.messages


def test_text_is_nfc_and_trimmed():
    assert clean_text("  Cafe\u0301  ") == "Caf\u00e9"


@pytest.mark.parametrize(
    "bad", ["a\x00b", "bell\x07", "esc\x1b[31m", "rtl\u202eevil", "line\nbreak", "cr\r", "\ud800"]
)
def test_control_characters_and_lone_surrogates_are_refused(bad):
    messages = _error(name=bad)
    assert list(messages) == ["name"]


def test_multiline_fields_keep_newlines_only():
    assert _Form().load({"name": "x", "note": "a\r\nb\rc"})["note"] == "a\nb\nc"
    assert "note" in _error(name="x", note="a\tb")


def test_length_empty_and_type():
    assert "at most 10" in _error(name="x" * 11)["name"][0]
    assert "empty" in _error(name="   ")["name"][0]
    assert "string" in _error(name=5)["name"][0]


def test_emails_are_normalised_so_one_fan_is_one_fan():
    loaded = _Form().load({"name": "x", "email": " Fan@Example.COM "})
    assert loaded["email"] == "Fan@example.com"
    assert email_key("Fan@Example.COM") == email_key("fan@example.com")
    assert "email" in _error(name="x", email="Fan, attacker@evil.example")
    assert "email" in _error(name="x", email="no-at-sign")


def test_phone_numbers_are_validated_and_stored_as_e164():
    assert _Form().load({"name": "x", "phone": "(312) 555-0123"})["phone"] == "+13125550123"
    assert _Form().load({"name": "x", "phone": "+34 912 345 678"})["phone"] == "+34912345678"
    assert "phone" in _error(name="x", phone="12")
    assert "phone" in _error(name="x", phone="call me")


def test_ids_must_look_like_our_ids():
    from widget_server.domain.text import Id
    from widget_server.ids import is_id, new_id

    class _Ref(Schema):
        event_id = Id("evt", load_default=None)

    good = new_id("evt")
    assert is_id(good, "evt") and not is_id(good, "trp") and not is_id(good + "\n")
    assert _Ref().load({"event_id": good}) == {"event_id": good}
    for bad in ["evt_nope", new_id("trp"), good.upper(), "evt_" + "\x00" * 26, 5]:
        with pytest.raises(ValidationError) as caught:
            _Ref().load({"event_id": bad})
        assert list(caught.value.messages) == ["event_id"]


@pytest.mark.parametrize("bad", ["²", "٣", " 5", "5 ", "1_000", "+5", "-1", "0x10", "9" * 40, ""])
def test_digits_are_ascii_digits_only(bad):
    from widget_server.domain.numbers import parse_digits

    assert parse_digits(bad) is None
    assert parse_digits("0") == 0 and parse_digits("123456789") == 123456789


def test_fan_email_key_folds_tags_and_gmail_dots():
    from widget_server.domain.text import fan_email_key

    assert (
        fan_email_key("Fan+1@Example.com") == fan_email_key("fan@example.com") == "fan@example.com"
    )
    assert fan_email_key("f.a.n+x@GoogleMail.com") == "fan@gmail.com"
    assert fan_email_key("f.an@example.com") == "f.an@example.com"  # dots kept elsewhere
    assert fan_email_key("+only@example.com") == "+only@example.com"


def test_the_migration_folds_stored_keys_as_the_domain_does():
    """0006_h3 recomputes stored keys with a frozen copy of `fan_email_key`."""
    import importlib.util

    from widget_server.domain.text import email_key, fan_email_key
    from widget_server.migrate import MIGRATIONS_DIR

    spec = importlib.util.spec_from_file_location(
        "m0006_h3", MIGRATIONS_DIR / "versions" / "0006_h3_fan_keys.py"
    )
    migration = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(migration)
    for address in ("Fan+1@Example.com", "f.a.n+x@GoogleMail.com", "f.an@example.com", "+x@a.io"):
        assert migration._fan_email_key(email_key(address)) == fan_email_key(address)


def test_the_migration_recomputes_keys_and_keeps_the_first_of_duplicate_requests():
    import importlib.util
    from datetime import datetime

    import sqlalchemy as sa
    from alembic.migration import MigrationContext
    from alembic.operations import Operations

    from widget_server.migrate import MIGRATIONS_DIR

    spec = importlib.util.spec_from_file_location(
        "m0006_h3", MIGRATIONS_DIR / "versions" / "0006_h3_fan_keys.py"
    )
    migration = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(migration)
    engine = sa.create_engine("sqlite://")
    with engine.begin() as connection:
        connection.exec_driver_sql("CREATE TABLE pledges (id TEXT PRIMARY KEY, email_key TEXT)")
        connection.exec_driver_sql(
            "CREATE TABLE stop_requests (id TEXT PRIMARY KEY, trip_id TEXT, place_key TEXT, "
            "email_key TEXT, created_at TIMESTAMP, UNIQUE (trip_id, place_key, email_key))"
        )
        connection.exec_driver_sql(
            "INSERT INTO pledges VALUES ('p1', 'fan+1@x.io'), ('p2', 'f.an@gmail.com'), "
            "('p3', NULL), ('p4', 'bo@x.io')"
        )
        rows = [
            ("s1", "fan+1@x.io", datetime(2030, 1, 1, 10)),
            ("s2", "fan@x.io", datetime(2030, 1, 1, 11)),
            ("s3", "bo+a@x.io", datetime(2030, 1, 1, 12)),
        ]
        for request_id, key, created in rows:
            connection.execute(
                sa.text("INSERT INTO stop_requests VALUES (:i, 't', 'union', :k, :c)"),
                {"i": request_id, "k": key, "c": created},
            )
        with Operations.context(MigrationContext.configure(connection)):
            migration.upgrade()
        pledges = dict(connection.exec_driver_sql("SELECT id, email_key FROM pledges").all())
        requests = connection.exec_driver_sql(
            "SELECT id, email_key, address_key FROM stop_requests ORDER BY id"
        ).all()
    assert pledges == {"p1": "fan@x.io", "p2": "fan@gmail.com", "p3": None, "p4": "bo@x.io"}
    assert requests == [("s1", "fan@x.io", None), ("s3", "bo@x.io", None)]
