"""Fan emails: every kind in en, es and fr, and what the rendered message holds (the .eml
outbox, escaping, branding). Transport is in test_email_transport, the catalogs in
test_translation_catalogs."""

from __future__ import annotations

import html
import re

import pytest
from babel.messages.pofile import read_po

from tests.unit.email_helpers import (
    ERROR,
    LOCALES,
    ROOT,
    TRANSLATIONS,
    outbox_file,
    parse,
    parts,
    queue_email,
    reload,
)
from widget_server.extensions import db
from widget_server.fan.links import pledge_id_from_token
from widget_server.models import OutboundEmail, Pledge
from widget_server.models.notifications import (
    EMAIL_KINDS,
    STOP_REQUEST_EMAIL_KINDS,
    WAITLIST_EMAIL_KINDS,
)
from widget_server.notifications import send_email

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
    "manage_link": {
        "en": ("Your link for the bus", "You asked for your link to the pledge"),
        "es": ("Tu enlace para el autobús", "Pediste el enlace a tu reserva"),
        "fr": ("Votre lien pour le bus", "Vous avez demandé le lien vers votre réservation"),
    },
    "trip_canceled": {
        "en": ("is canceled", "Kc Chiefs has canceled the bus"),
        "es": ("se ha cancelado", "Kc Chiefs ha cancelado el autobús"),
        "fr": ("est annulé", "Kc Chiefs a annulé le bus"),
    },
    "stop_added": {
        "en": ("is added", "it is now on the route"),
        "es": ("ya está añadida", "ya está en la ruta"),
        "fr": ("est ajouté", "il est maintenant sur le trajet"),
    },
    "bus_leaving": {
        "en": ("leaves Stop 1 soon", "The bus leaves in 5 minutes from Stop 1."),
        "es": ("sale pronto de Stop 1", "El autobús sale de Stop 1 en 5 minutos."),
        "fr": ("part bientôt de Stop 1", "Le bus part de Stop 1 dans 5 minutes."),
    },
}
# locale -> what every email's summary shows: the total, the kick-off and the bus's departure,
# in the event's time zone (America/Chicago).
SUMMARY = {
    "en": ("Total: $70.00", "Thursday, November 14, 2030, 7:00 PM", "2:00 PM"),
    "es": ("Total: 70,00 €", "jueves, 14 de noviembre de 2030, 19:00", "14:00"),
    "fr": ("Total : 70,00 €", "jeudi 14 novembre 2030, 19:00", "14:00"),
}


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
    kinds = (*EMAIL_KINDS, *WAITLIST_EMAIL_KINDS, *STOP_REQUEST_EMAIL_KINDS)
    assert len(templates) == 2 * len(kinds) + 2
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
    # The only image is the boarding pass QR, carried in the message itself (cid:).
    assert set(re.findall(r'src="([^"]+)"', markup)) == {"cid:boarding-qr"}
    remote = set(re.findall(r"(?:href|src|url)\s*[=(]\s*\"?([^\")\s]+)", markup))
    remote.discard("cid:boarding-qr")
    # The manage page, the boarding pass under it, and the share link to the public trip page.
    shared = {url for url in remote if url.startswith("http://127.0.0.1:8000/t/kc-chiefs/trp_")}
    assert len(shared) == 1 and "ref=" in shared.pop()
    remote = {url for url in remote if "/t/kc-chiefs/" not in url}
    assert len(remote) == 2
    assert all(url.startswith("http://127.0.0.1:8000/w/kc-chiefs/manage/") for url in remote)


def test_no_support_email_means_no_reply_to(session, settings):
    email_id = queue_email("pledge_received", partner={"support_email": None})
    send_email(email_id)

    message = parse(outbox_file(settings, email_id).read_bytes())
    assert message["Reply-To"] is None
    assert "replies are not read" in parts(message)[1]
