"""Logs never carry secrets, tokens, card numbers or full fan emails."""

import json
import logging

import pytest

from tests.conftest import make_settings
from widget_server import create_app
from widget_server.observability.logs import JsonFormatter, redact


@pytest.fixture(autouse=True)
def _routes_known(tmp_path):
    """Tokens in paths are found by route: an app (no queries) compiles its URL map."""
    create_app(make_settings(f"sqlite:///{tmp_path}/unused.db", tmp_path))


def _format(message: str, *args, **extra) -> dict:
    record = logging.LogRecord("t", logging.INFO, __file__, 1, message, args, None)
    for key, value in extra.items():
        setattr(record, key, value)
    return json.loads(JsonFormatter().format(record))


def test_bearer_tokens_and_named_secrets_are_removed():
    line = redact(
        "Authorization: Bearer abcdefghijklmnop123 client_secret=s3cr3tvalue "
        '{"password": "hunter22", "token": "tok_123456789"}'
    )
    for secret in ("abcdefghijklmnop123", "s3cr3tvalue", "hunter22", "tok_123456789"):
        assert secret not in line
    assert line.startswith("Authorization: [redacted]")
    assert redact("Bearer abcdefghijklmnop123") == "Bearer [redacted]"


def test_provider_keys_webhook_secrets_and_manage_links_are_removed():
    line = redact(
        "key sk_test_51AbCdEfGhIjK whsec_QUJDREVGR0hJSktMTU5PUA== "
        "GET /w/demo/manage/eyJwbGVkZ2UiOiJwbGdfMTIzIn0.abcDEF123456"
    )
    assert "51AbCdEfGhIjK" not in line
    assert "QUJDREVGR0hJSktMTU5PUA" not in line
    assert "eyJwbGVkZ2UiOiJwbGdfMTIzIn0" not in line
    assert "/manage/[redacted]" in line


def test_card_numbers_go_but_other_long_numbers_stay():
    line = redact("card 4242 4242 4242 4242 and 4000-0000-0000-0002; at 1733100000000 ms")
    assert "4242" not in line and "0002" not in line
    assert "1733100000000" in line  # a timestamp fails Luhn's check: not a card


def test_fan_emails_keep_only_first_letter_and_domain():
    line = redact("email to maria.lopez@example.com failed")
    assert "maria.lopez" not in line
    assert "m***@example.com" in line


def test_json_lines_redact_the_message_extras_and_exceptions():
    entry = _format("pledge by %s", "jordan@fans.example", client_secret="topsecretvalue")
    assert entry["message"] == "pledge by j***@fans.example"
    assert "topsecretvalue" not in json.dumps(entry)
    assert entry["level"] == "INFO" and entry["logger"] == "t"
    try:
        raise ValueError("card 4242424242424242 declined for sam@fans.example")
    except ValueError:
        import sys

        record = logging.LogRecord("t", logging.ERROR, __file__, 1, "boom", (), sys.exc_info())
    text = JsonFormatter().format(record)
    assert "4242424242424242" not in text and "sam@fans" not in text
    assert "ValueError" in text
