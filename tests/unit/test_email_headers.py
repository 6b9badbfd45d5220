"""Fan-typed names and partner-typed titles can never add recipients or headers to an email:
the generated message is parsed back with the stdlib `email` package and its addresses counted."""

from __future__ import annotations

import email
from email.utils import getaddresses

import pytest
from sqlalchemy import update

from tests.fakes.smtp_server import FakeSMTPServer
from tests.unit.email_helpers import outbox_file, parse, queue_email
from widget_server.extensions import db
from widget_server.models import Event, Pledge
from widget_server.notifications import send_email

HOSTILE_NAMES = [
    "Fan, attacker@evil.example, xxx",
    "Fan, attacker@evil.example, " + "xxxx " * 34,  # long: folded at 78 it lost its quotes
    'Fan" <attacker@evil.example>, "x',
    "Fån, attacker@evil.example; <other@evil.example>, " + "é" * 120,
    "Fan\r\nBcc: attacker@evil.example",
]


def _recipients(raw: bytes) -> list[tuple[str, str]]:
    """Every address in To/Cc/Bcc, read by the modern parser and by the legacy one that many
    mail programs resemble."""
    modern = parse(raw)
    legacy = email.message_from_bytes(raw)
    found = [a.addr_spec for h in ("To", "Cc", "Bcc") for a in getattr(modern[h], "addresses", ())]
    legacy_found = getaddresses(
        [value for h in ("To", "Cc", "Bcc") for value in legacy.get_all(h, [])]
    )
    return found, [address for _name, address in legacy_found]


@pytest.mark.parametrize("name", HOSTILE_NAMES)
def test_a_hostile_name_stays_one_recipient(session, settings, name):
    email_id = queue_email()
    with db.transaction() as tx:
        tx.execute(update(Pledge).values(name=name))
    assert send_email(email_id) is True
    raw = outbox_file(settings, email_id).read_bytes()
    modern, legacy = _recipients(raw)
    assert modern == ["alex@example.com"]
    assert legacy == ["alex@example.com"]
    assert "attacker" not in str(parse(raw)["To"].addresses[0].addr_spec)


def test_a_hostile_name_is_one_rcpt_over_smtp(session, settings):
    email_id = queue_email()
    with db.transaction() as tx:
        tx.execute(update(Pledge).values(name=HOSTILE_NAMES[1]))
    with FakeSMTPServer() as server:
        settings.smtp_url = server.url
        assert send_email(email_id) is True
    [received] = server.messages
    assert received.rcpt_tos == ["alex@example.com"]
    assert len(received.message["To"].addresses) == 1


def test_cr_lf_in_a_title_never_breaks_the_subject(session, settings):
    email_id = queue_email()
    with db.transaction() as tx:
        tx.execute(update(Event).values(title="Big game\r\nBcc: attacker@evil.example\nX: 1"))
    assert send_email(email_id) is True
    raw = outbox_file(settings, email_id).read_bytes()
    message = parse(raw)
    assert message["Bcc"] is None and message["X"] is None
    assert "\n" not in str(message["Subject"]) and "Big game Bcc:" in str(message["Subject"])
    assert _recipients(raw)[0] == ["alex@example.com"]
