"""Fan emails on their way out: SMTP through a fake server that the real smtplib talks to;
each email sent once; failures; the sweep's view of the outbox."""

from __future__ import annotations

import smtplib
import socket
import threading
from datetime import timedelta

import pytest
from sqlalchemy import update

from tests.conftest import run_jobs
from tests.fakes.smtp_server import FakeSMTPServer
from tests.unit.email_helpers import (
    outbox_file,
    parse,
    parts,
    queue_email,
    reload,
)
from widget_server.domain.notify import queue_pledge_email
from widget_server.extensions import db
from widget_server.models import OutboundEmail, Pledge
from widget_server.models.types import utcnow
from widget_server.notifications import STALE_AFTER, pending_email_ids, send_email
from widget_server.notifications.transport import (
    may_authenticate,
    parse_smtp_url,
    sender_domain,
)


def test_sender_domain_is_the_public_host():
    assert sender_domain("https://rides.example.com") == "rides.example.com"
    assert sender_domain("https://rides.example.com:8443/base") == "rides.example.com"
    assert sender_domain("http://127.0.0.1:8000") == "ridepledge.local"
    assert sender_domain("http://[::1]:8000") == "ridepledge.local"
    assert sender_domain("") == "ridepledge.local"


def test_smtp_url_forms():
    plain = parse_smtp_url("smtp://mailer:p%40ss%2Fword@mail.example.com:2525")
    assert (plain.host, plain.port, plain.implicit_tls) == ("mail.example.com", 2525, False)
    assert (plain.username, plain.password) == ("mailer", "p@ss/word")
    assert "p@ss" not in repr(plain)
    secure = parse_smtp_url("smtps://mail.example.com")
    assert (secure.port, secure.implicit_tls, secure.username) == (465, True, None)
    assert parse_smtp_url("smtp://relay.internal").port == 25
    with pytest.raises(ValueError):
        parse_smtp_url("http://mail.example.com")


def test_credentials_go_in_clear_only_to_this_machine():
    remote = parse_smtp_url("smtp://u:p@mail.example.com:587")
    assert may_authenticate(remote, encrypted=True)
    assert not may_authenticate(remote, encrypted=False)
    assert may_authenticate(parse_smtp_url("smtp://u:p@127.0.0.1:25"), encrypted=False)
    assert may_authenticate(parse_smtp_url("smtp://u:p@localhost:25"), encrypted=False)


def test_smtp_delivery_with_authentication(session, settings):
    email_id = queue_email("trip_failed", locale="fr")
    with FakeSMTPServer(credentials=("mailer", "s3cret/pass word")) as server:
        settings.smtp_url = server.url

        assert send_email(email_id) is True

    [received] = server.messages
    assert received.authenticated_as == "mailer"
    assert received.mail_from == "no-reply@ridepledge.local"
    assert received.rcpt_tos == ["alex@example.com"]
    subject, text, _markup = parts(received.message)
    assert subject == "Le bus pour Chiefs vs. Raiders ne partira pas"
    assert "ce trajet n’aura donc pas lieu" in text
    assert not (settings.instance_path / "outbox").exists()
    assert reload(session, email_id).status == "sent"


def test_smtp_wrong_password_is_retried(session, settings):
    email_id = queue_email()
    with FakeSMTPServer(credentials=("mailer", "right")) as server:
        settings.smtp_url = f"smtp://mailer:wrong@127.0.0.1:{server.port}"
        with pytest.raises(smtplib.SMTPAuthenticationError):
            send_email(email_id)

    assert server.messages == []
    row = reload(session, email_id)
    assert (row.status, row.attempts, row.sent_at) == ("pending", 1, None)
    assert row.last_error.startswith("SMTPAuthenticationError")


def test_sent_once_when_called_twice(session, settings):
    email_id = queue_email()
    with FakeSMTPServer() as server:
        settings.smtp_url = server.url
        assert send_email(email_id) is True
        assert send_email(email_id) is False

    assert len(server.messages) == 1
    assert reload(session, email_id).attempts == 1


def test_sent_once_when_two_workers_race(app, session, settings):
    email_id = queue_email()
    session.rollback()
    results, errors = [], []
    start = threading.Barrier(2)

    def worker():
        with app.app_context():
            start.wait(timeout=10)
            try:
                results.append(send_email(email_id))
            except Exception as exc:  # surfaced below; a thread's exception is otherwise lost
                errors.append(exc)

    with FakeSMTPServer() as server:
        server.data_delay = 0.5  # the first sender is still talking when the second tries
        settings.smtp_url = server.url
        threads = [threading.Thread(target=worker) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)

    assert errors == []
    assert sorted(results) == [False, True]
    assert len(server.messages) == 1
    row = reload(session, email_id)
    assert (row.status, row.attempts) == ("sent", 1)


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_transport_error_leaves_it_pending_and_raises(session, settings):
    email_id = queue_email()
    settings.smtp_url = f"smtp://127.0.0.1:{closed_port()}"

    with pytest.raises(ConnectionRefusedError):
        send_email(email_id)

    row = reload(session, email_id)
    assert (row.status, row.attempts, row.sent_at) == ("pending", 1, None)
    assert row.last_error.startswith("ConnectionRefusedError")
    assert pending_email_ids(session) == [email_id]
    with FakeSMTPServer() as server:  # the next try (job retry or sweep) gets through
        settings.smtp_url = server.url
        assert send_email(email_id) is True
    assert len(server.messages) == 1
    assert reload(session, email_id).attempts == 2


def test_temporary_smtp_refusal_is_retried(session, settings):
    email_id = queue_email()
    with FakeSMTPServer() as server:
        server.data_reply = (451, "4.3.0 try again later")
        settings.smtp_url = server.url
        with pytest.raises(smtplib.SMTPDataError):
            send_email(email_id)

    row = reload(session, email_id)
    assert row.status == "pending"
    assert "try again later" in row.last_error


def test_recipient_refused_for_good_is_not_retried(session, settings):
    email_id = queue_email()
    with FakeSMTPServer() as server:
        server.rcpt_reply = (550, "5.1.1 no such mailbox")
        settings.smtp_url = server.url

        assert send_email(email_id) is False
        assert send_email(email_id) is False  # nothing left to do

    row = reload(session, email_id)
    assert (row.status, row.attempts) == ("failed", 1)
    assert "no such mailbox" in row.last_error
    assert pending_email_ids(session) == []


def test_unknown_kind_fails_without_retry(session, settings):
    email_id = queue_email("pledge_mystery")

    assert send_email(email_id) is False

    row = reload(session, email_id)
    assert row.status == "failed"
    assert "unknown email kind" in row.last_error
    assert not outbox_file(settings, email_id).exists()


def test_unknown_email_id_is_nothing_to_do(session):
    assert send_email("eml_doesnotexist") is False


def set_row(email_id: str, **values) -> None:
    with db.transaction() as tx:
        tx.execute(update(OutboundEmail).where(OutboundEmail.id == email_id).values(**values))


def test_pending_email_ids_revives_abandoned_sends(session):
    pending = queue_email()
    # Other rows for the same pledge, as later events would queue them.
    with db.transaction() as tx:
        pledge = tx.get(Pledge, tx.get(OutboundEmail, pending).pledge_id)
        abandoned, in_flight, sent = (
            queue_pledge_email(tx, pledge, "pledge_paid") for _ in range(3)
        )
    now = utcnow()
    set_row(
        abandoned, status="sending", attempts=1, sent_at=now - STALE_AFTER - timedelta(minutes=1)
    )
    set_row(in_flight, status="sending", attempts=1, sent_at=now - timedelta(minutes=1))
    set_row(sent, status="sent", attempts=1, sent_at=now)

    with db.transaction() as tx:
        ids = pending_email_ids(tx)

    assert ids == [pending, abandoned]
    assert reload(session, abandoned).status == "pending"
    assert reload(session, in_flight).status == "sending"
    assert send_email(in_flight) is False  # its worker may still be talking to the server
    assert send_email(abandoned) is True
    row = reload(session, abandoned)
    assert (row.status, row.attempts) == ("sent", 2)


def test_abandoned_send_is_claimed_directly(session):
    email_id = queue_email()
    set_row(email_id, status="sending", attempts=1, sent_at=utcnow() - STALE_AFTER * 2)

    assert send_email(email_id) is True
    assert reload(session, email_id).attempts == 2


def test_queued_email_is_sent_by_the_job(app, session, settings):
    email_id = queue_email("pledge_canceled", locale="es")

    assert "send_email" in run_jobs(app)

    subject, _text, _markup = parts(parse(outbox_file(settings, email_id).read_bytes()))
    assert subject == "Tu reserva para Chiefs vs. Raiders ha sido cancelada"
