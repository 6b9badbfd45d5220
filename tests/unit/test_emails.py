"""Fan emails: every kind in en, es and fr; the .eml outbox; SMTP through a fake server that
the real smtplib talks to; each email sent once; failures; the sweep's view of the outbox; the
translation catalogs."""

from __future__ import annotations

import html
import re
import smtplib
import socket
import threading
from datetime import UTC, datetime, timedelta
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po
from sqlalchemy import update

from tests.conftest import run_jobs
from tests.factories import make_event, make_partner, make_trip
from tests.fakes.smtp_server import FakeSMTPServer
from widget_server.domain.notify import queue_pledge_email
from widget_server.extensions import db
from widget_server.models import OutboundEmail, Pledge
from widget_server.models.notifications import EMAIL_KINDS
from widget_server.models.types import utcnow
from widget_server.notifications import STALE_AFTER, pending_email_ids, send_email
from widget_server.notifications.transport import (
    may_authenticate,
    parse_smtp_url,
    sender_domain,
)
from widget_server.widget.links import pledge_id_from_token

ROOT = Path(__file__).resolve().parents[2]
TRANSLATIONS = ROOT / "widget_server" / "translations"
LOCALES = ("en", "es", "fr")
CURRENCY = {"en": "USD", "es": "EUR", "fr": "EUR"}
EVENT_STARTS = datetime(2030, 11, 15, 1, 0, tzinfo=UTC)  # 7 PM on Nov 14 in Chicago (CST)
GRACE_EXPIRES = datetime(2030, 11, 10, 18, 0, tzinfo=UTC)  # noon on Nov 10 in Chicago
ERROR = "Your card has insufficient funds."

# Where each email finds its pledge when it is sent.
STATUS = {
    "pledge_received": "pledged",
    "pledge_paid": "paid",
    "trip_failed": "released",
    "action_required": "action_required",
    "pledge_dropped": "dropped",
    "pledge_refunded": "refunded",
    "pledge_canceled": "canceled",
    "trip_canceled": "released",
}
# kind -> locale -> (words of the subject, words of the body)
EXPECTED = {
    "pledge_received": {
        "en": ("Pledge received", "Nothing has been charged yet"),
        "es": ("Reserva recibida", "Todavía no te hemos cobrado nada"),
        "fr": ("Réservation reçue", "Aucun montant n’a encore été prélevé"),
    },
    "pledge_paid": {
        "en": ("is confirmed", "We have charged $70.00 to your card"),
        "es": ("está confirmado", "Te hemos cobrado 70,00 € en tu tarjeta"),
        "fr": ("est confirmé", "Nous avons débité 70,00 € sur votre carte"),
    },
    "trip_failed": {
        "en": ("will not run", "so this trip will not run"),
        "es": ("no saldrá", "este viaje no se realizará"),
        "fr": ("ne partira pas", "ce trajet n’aura donc pas lieu"),
    },
    "action_required": {
        "en": ("Action needed", "before Sunday, November 10, 2030, 12:00 PM"),
        "es": ("Acción necesaria", "antes del domingo, 10 de noviembre de 2030, 12:00"),
        "fr": ("Action requise", "avant le dimanche 10 novembre 2030, 12:00"),
    },
    "pledge_dropped": {
        "en": ("was released", "its seats have gone to other fans"),
        "es": ("se ha liberado", "sus asientos han pasado a otros aficionados"),
        "fr": ("a été libérée", "ses places sont revenues à d’autres supporters"),
    },
    "pledge_refunded": {
        "en": ("Refund for", "We have refunded $70.00"),
        "es": ("Reembolso de", "Te hemos devuelto 70,00 €"),
        "fr": ("Remboursement de", "Nous avons remboursé 70,00 €"),
    },
    "pledge_canceled": {
        "en": ("is withdrawn", "we have withdrawn your pledge"),
        "es": ("ha sido cancelada", "hemos cancelado tu reserva"),
        "fr": ("est annulée", "nous avons annulé votre réservation"),
    },
    "trip_canceled": {
        "en": ("is canceled", "Kc Chiefs has canceled the bus"),
        "es": ("se ha cancelado", "Kc Chiefs ha cancelado el autobús"),
        "fr": ("est annulé", "Kc Chiefs a annulé le bus"),
    },
}
# locale -> what every email's summary shows: the total, the kick-off and the bus's departure,
# in the event's time zone (America/Chicago).
SUMMARY = {
    "en": ("Total: $70.00", "Thursday, November 14, 2030, 7:00 PM", "2:00 PM"),
    "es": ("Total: 70,00 €", "jueves, 14 de noviembre de 2030, 19:00", "14:00"),
    "fr": ("Total : 70,00 €", "jeudi 14 novembre 2030, 19:00", "14:00"),
}


def spaces(text: str) -> str:
    """Babel and French typography use no-break spaces; compare them as plain spaces."""
    return text.replace("\u00a0", " ").replace("\u202f", " ")


def queue_email(
    kind: str = "pledge_received",
    *,
    locale: str = "en",
    currency: str | None = None,
    partner: dict | None = None,
    event: dict | None = None,
    **context,
) -> str:
    """A partner, event, trip and pledge, and one outbox email about them (committed)."""
    status = STATUS.get(kind, "pledged")
    with db.transaction() as session:
        fields = {
            "currency": currency or CURRENCY.get(locale, "USD"),
            "support_email": "help@chiefs.example",
            "branding": {"primary_color": "#c8102e"},
            **(partner or {}),
        }
        owner = make_partner(session, "kc-chiefs", **fields)
        game = make_event(session, owner, starts_at=EVENT_STARTS, **(event or {}))
        trip = make_trip(session, owner, game)
        pledge = Pledge(
            partner_id=owner.id,
            trip_id=trip.id,
            stop_id=trip.stops[0].id,
            seats=2,
            unit_amount=trip.unit_amount,
            amount=trip.unit_amount * 2,
            currency=trip.currency,
            name="Alex Fan",
            email="alex@example.com",
            locale=locale,
            status=status,
            paid_at=utcnow() if status in ("paid", "refunded") else None,
            grace_expires_at=GRACE_EXPIRES if status in ("action_required", "dropped") else None,
        )
        session.add(pledge)
        session.flush()
        if kind == "action_required":
            context.setdefault("error", ERROR)
        return queue_pledge_email(session, pledge, kind, **context).id


def outbox_file(settings, email_id: str) -> Path:
    return settings.instance_path / "outbox" / f"{email_id}.eml"


def parse(data: bytes) -> EmailMessage:
    return BytesParser(policy=policy.default).parsebytes(data)


def parts(message: EmailMessage) -> tuple[str, str, str]:
    """Subject, plain text and html of a message, with no-break spaces as spaces."""
    text = message.get_body(("plain",)).get_content()
    markup = message.get_body(("html",)).get_content()
    return spaces(str(message["Subject"])), spaces(text), spaces(markup)


def reload(session, email_id: str) -> OutboundEmail:
    session.rollback()  # a new snapshot: other threads and connections wrote since
    return session.get(OutboundEmail, email_id, populate_existing=True)


def english_sentences() -> set[str]:
    """The English text of every email message, cut at its %(variables)s, pieces of 2+ words."""
    with (TRANSLATIONS / "messages.pot").open("rb") as file:
        template = read_po(file)
    pieces = set()
    for message in template:
        sources = {path for path, _line in message.locations}
        if not message.id or not any("emails" in s or "notifications" in s for s in sources):
            continue
        for msgid in message.id if isinstance(message.id, tuple) else (message.id,):
            for piece in re.split(r"%\(\w+\)[sd]", msgid):
                if len(piece.split()) >= 2:
                    pieces.add(piece.strip())
    return pieces


@pytest.mark.parametrize("locale", LOCALES)
@pytest.mark.parametrize("kind", EMAIL_KINDS)
def test_every_email_speaks_the_fans_language(session, settings, kind, locale):
    email_id = queue_email(kind, locale=locale)

    assert send_email(email_id) is True

    message = parse(outbox_file(settings, email_id).read_bytes())
    subject, text, markup = parts(message)
    in_subject, in_body = EXPECTED[kind][locale]
    assert in_subject in subject
    assert "Chiefs vs. Raiders" in subject
    assert in_body in text
    assert in_body in html.unescape(markup)
    total, starts, departs = SUMMARY[locale]
    for shown in (text, html.unescape(markup)):
        assert total in shown
        assert starts in shown
        assert departs in shown
    assert message["Content-Language"] == locale
    assert f'<html lang="{locale}">' in markup
    if locale != "en":
        leaks = {s for s in english_sentences() if s in text or s in html.unescape(markup)}
        assert not leaks, f"untranslated English in the {locale} {kind} email"
        assert not any(s in subject for s in english_sentences())


def test_every_word_in_the_email_templates_goes_through_gettext():
    """Text outside {{ }}, {% %} and html tags would reach es and fr fans in English."""
    templates = sorted((ROOT / "widget_server" / "templates" / "emails").iterdir())
    assert len(templates) == 2 * len(EMAIL_KINDS) + 2
    for template in templates:
        literal = re.sub(r"\{\{.*?\}\}|\{%.*?%\}|<[^>]*>", " ", template.read_text(), flags=re.S)
        assert re.findall(r"[^\W\d_]{2,}", literal) == [], template.name


def test_action_required_has_the_error_deadline_and_fix_link(session, settings):
    email_id = queue_email("action_required", locale="es")
    send_email(email_id)

    message = parse(outbox_file(settings, email_id).read_bytes())
    _subject, text, markup = parts(message)
    link = re.search(r"http://127\.0\.0\.1:8000/w/kc-chiefs/manage/\S+", text).group(0)
    pledge = session.get(Pledge, reload(session, email_id).pledge_id)
    assert pledge_id_from_token(link.rsplit("/", 1)[1]) == pledge.id
    assert f"Motivo: {ERROR}" in text
    assert "Actualizar mi tarjeta" in text
    assert f'href="{link}"' in markup
    assert "Actualizar mi tarjeta</a>" in markup


def test_plural_and_singular_seats(session, settings):
    email_id = queue_email("pledge_received", locale="fr")
    with db.transaction() as tx:
        pledge = tx.get(Pledge, tx.get(OutboundEmail, email_id).pledge_id)
        pledge.seats, pledge.amount = 1, 3500
    send_email(email_id)

    _subject, text, _markup = parts(parse(outbox_file(settings, email_id).read_bytes()))
    assert "Merci d’avoir réservé 1 place dans le bus de Wichita pour Chiefs vs. Raiders." in text
    assert "35,00 €" in text


def test_amounts_in_a_currency_without_decimals(session, settings):
    email_id = queue_email("pledge_paid", locale="en", currency="JPY")
    send_email(email_id)

    _subject, text, _markup = parts(parse(outbox_file(settings, email_id).read_bytes()))
    assert "We have charged ¥7,000 to your card." in text  # 2 seats at 3500 yen, not ¥70.00


def test_unsupported_locale_gets_english(session, settings):
    email_id = queue_email("pledge_received", locale="de", currency="EUR")
    send_email(email_id)

    message = parse(outbox_file(settings, email_id).read_bytes())
    assert str(message["Subject"]).startswith("Pledge received")
    assert message["Content-Language"] == "en"


def test_outbox_file_is_a_complete_message(session, settings):
    email_id = queue_email("pledge_received", locale="en")

    assert send_email(email_id) is True

    outbox = settings.instance_path / "outbox"
    assert sorted(p.name for p in outbox.iterdir()) == [f"{email_id}.eml"]  # no temp files
    message = parse(outbox_file(settings, email_id).read_bytes())
    assert message.get_content_type() == "multipart/alternative"
    assert [p.get_content_type() for p in message.iter_parts()] == ["text/plain", "text/html"]
    assert message["From"].addresses[0].display_name == "Kc Chiefs via RidePledge"
    assert message["From"].addresses[0].addr_spec == "no-reply@ridepledge.local"
    assert str(message["To"]) == "Alex Fan <alex@example.com>"
    assert str(message["Reply-To"]) == "help@chiefs.example"
    assert message["Message-ID"] == f"<{email_id}@ridepledge.local>"
    assert message["Auto-Submitted"] == "auto-generated"
    assert message["Date"].datetime.tzinfo is not None
    _subject, text, markup = parts(message)
    links = re.findall(r"http://127\.0\.0\.1:8000/w/kc-chiefs/manage/[\w.-]+", text)
    assert len(links) == 1
    assert f'href="{links[0]}"' in markup
    row = reload(session, email_id)
    assert (row.status, row.attempts, row.last_error) == ("sent", 1, None)
    assert row.sent_at is not None


def test_html_is_escaped_branded_and_has_no_remote_content(session, settings):
    email_id = queue_email(
        "pledge_paid",
        partner={"name": 'Bits & "Bobs" <FC>'},
        event={"title": "<script>alert(1)</script> Derby"},
    )
    send_email(email_id)

    message = parse(outbox_file(settings, email_id).read_bytes())
    subject, text, markup = parts(message)
    assert "<script>" not in markup
    assert "&lt;script&gt;alert(1)&lt;/script&gt; Derby" in markup
    assert "Bits &amp; &#34;Bobs&#34; &lt;FC&gt;" in markup
    assert "<script>alert(1)</script> Derby" in text  # plain text is not html-escaped
    assert subject == "Your bus to <script>alert(1)</script> Derby is confirmed"
    assert message["From"].addresses[0].display_name == 'Bits & "Bobs" <FC> via RidePledge'
    assert "background-color:#c8102e" in markup
    assert "<img" not in markup
    assert "src=" not in markup
    remote = set(re.findall(r"(?:href|src|url)\s*[=(]\s*\"?([^\")\s]+)", markup))
    assert len(remote) == 1
    assert remote.pop().startswith("http://127.0.0.1:8000/w/kc-chiefs/manage/")


def test_no_support_email_means_no_reply_to(session, settings):
    email_id = queue_email("pledge_received", partner={"support_email": None})
    send_email(email_id)

    message = parse(outbox_file(settings, email_id).read_bytes())
    assert message["Reply-To"] is None
    assert "replies are not read" in parts(message)[1]


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
            queue_pledge_email(tx, pledge, "pledge_paid").id for _ in range(3)
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
