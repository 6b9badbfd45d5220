"""The driver link from the console's trip page: issued, shown, re-issued (the old one stops
working), stopped, emailed to the operator or a typed address (signed at send time), audited,
for editors and owners only; the manifest on the page and in its CSV carries boarding codes."""

from __future__ import annotations

import csv
import io
import re
import uuid
from datetime import timedelta

import pytest
from sqlalchemy import select

from tests.admin_helpers import csrf, post
from tests.conftest import run_jobs
from tests.functional.admin.test_events_trips import pledge, signed_in, world  # noqa: F401
from tests.unit.email_helpers import outbox_file, parse, parts
from widget_server.domain import checkin
from widget_server.domain.boarding import boarding_code
from widget_server.extensions import db
from widget_server.models import AuditLogEntry, OutboundEmail, Pledge, Trip
from widget_server.models.types import rfc3339, utcnow

LINK = re.compile(r'id="driver-link" type="url" value="(http://[^"]+/d/[^"]+)"')


def trip_html(client, trip_id: str) -> str:
    return client.get(f"/admin/trips/{trip_id}").get_data(as_text=True)


def issue(client, trip_id: str):
    return post(client, f"/admin/trips/{trip_id}/driver_link", page=f"/admin/trips/{trip_id}")


def test_an_editor_issues_shows_and_reissues_the_driver_link(app, world):  # noqa: F811
    client = signed_in(app, "editor")
    trip_id = world["trip"]
    assert "There is no working driver link yet." in trip_html(client, trip_id)
    assert issue(client, trip_id).status_code == 302
    first = LINK.search(trip_html(client, trip_id)).group(1)
    path = first.split("://", 1)[1].split("/", 1)[1]
    assert app.test_client().get("/" + path).status_code == 200  # the driver's page opens
    assert LINK.search(trip_html(client, trip_id)).group(1) == first  # shown again, same link
    assert issue(client, trip_id).status_code == 302
    second = LINK.search(trip_html(client, trip_id)).group(1)
    assert second != first
    assert app.test_client().get("/" + path).status_code != 200  # the old link stopped
    stopped = post(
        client, f"/admin/trips/{trip_id}/driver_link/revoke", page=f"/admin/trips/{trip_id}"
    )
    assert stopped.status_code == 302
    assert LINK.search(trip_html(client, trip_id)) is None
    with app.app_context():
        actions = db.session.scalars(
            select(AuditLogEntry.action).where(AuditLogEntry.object_id == trip_id)
        ).all()
    assert actions.count("trip.driver_link_issued") == 2
    assert "trip.driver_links_revoked" in actions


def test_the_link_is_emailed_to_the_operator_or_a_typed_address(app, settings, world):  # noqa: F811
    client = signed_in(app, "owner")
    trip_id = world["trip"]
    page = f"/admin/trips/{trip_id}"
    not_yet = post(client, f"{page}/driver_link/email", page=page)
    assert not_yet.status_code == 302
    assert "Issue a driver link before emailing it." in trip_html(client, trip_id)
    issue(client, trip_id)
    link = LINK.search(trip_html(client, trip_id)).group(1)
    assert post(client, f"{page}/driver_link/email", page=page).status_code == 302
    assert "on its way to ops@coach.example" in trip_html(client, trip_id)
    bad = post(client, f"{page}/driver_link/email", {"email": "not an address"}, page=page)
    assert bad.status_code == 422
    assert 'id="driver-link-email-error"' in bad.get_data(as_text=True)
    typed = post(client, f"{page}/driver_link/email", {"email": "Driver@Bus.Example"}, page=page)
    assert typed.status_code == 302
    with app.app_context():
        emails = db.session.scalars(
            select(OutboundEmail).where(OutboundEmail.kind == "driver_link")
        ).all()
        assert sorted(e.to_address for e in emails) == ["Driver@bus.example", "ops@coach.example"]
        assert all(link not in str(e.context) for e in emails)  # signed at send time only
        ids = [e.id for e in emails]
        audited = db.session.scalars(
            select(AuditLogEntry).where(AuditLogEntry.action == "trip.driver_link_emailed")
        ).all()
        assert sorted(a.data["to"] for a in audited) == ["Driver@bus.example", "ops@coach.example"]
    run_jobs(app)
    for email_id in ids:
        subject, text, html = parts(parse(outbox_file(settings, email_id).read_bytes()))
        assert subject == "Driver check-in link: Chiefs vs. Raiders"
        assert link in text and link in html


def test_an_email_queued_before_a_reissue_is_not_sent(app, world):  # noqa: F811
    client = signed_in(app, "owner")
    trip_id = world["trip"]
    page = f"/admin/trips/{trip_id}"
    issue(client, trip_id)
    post(client, f"{page}/driver_link/email", page=page)
    issue(client, trip_id)  # before the worker sends the first email
    run_jobs(app)
    with app.app_context():
        email = db.session.scalar(select(OutboundEmail).where(OutboundEmail.kind == "driver_link"))
        assert email.status == "failed"
        assert "newer driver link" in email.last_error


def test_a_draft_trip_has_no_link_yet(app, world):  # noqa: F811
    with app.app_context(), db.transaction() as session:
        session.get(Trip, world["trip"]).status = "draft"
    client = signed_in(app, "owner")
    assert "driver-link-h" not in trip_html(client, world["trip"])
    issue(client, world["trip"])
    assert "Open the trip before issuing a driver link." in trip_html(client, world["trip"])
    with app.app_context():
        assert db.session.get(Trip, world["trip"]).driver_link_generation == 0


@pytest.mark.parametrize("role", ["viewer", "developer"])
def test_only_catalog_roles_see_or_handle_the_link(app, world, role):  # noqa: F811
    owner = signed_in(app, "owner")
    issue(owner, world["trip"])
    client = signed_in(app, role)
    html = trip_html(client, world["trip"])
    assert "driver-link-h" not in html and "/d/" not in html
    token = csrf(client, "/admin/")
    for tail in ("", "/revoke", "/email"):
        path = f"/admin/trips/{world['trip']}/driver_link{tail}"
        assert client.post(path, data={"csrf_token": token}).status_code == 403, path


def test_the_manifest_and_its_csv_carry_boarding_codes(app, world):  # noqa: F811
    dana = pledge(app, world["trip"], "Dana Rider")
    pledge(app, world["trip"], "Eve Rider")  # the second rider confirms the trip: both pay
    run_jobs(app)
    with app.app_context():
        paid = db.session.get(Pledge, dana)
        assert paid.status == "paid"
        code = boarding_code(app.config["SECRET_KEY"], paid)
    client = signed_in(app, "viewer")
    assert code in trip_html(client, world["trip"])
    exported = client.get(f"/admin/trips/{world['trip']}/manifest.csv").get_data(as_text=True)
    rows = {r["name"]: r for r in csv.DictReader(io.StringIO(exported))}
    assert rows["Dana Rider"]["boarding_code"] == code


@pytest.mark.parametrize(
    ("locale", "words"),
    [
        ("es", ["Enlace para el conductor", "Crear el enlace para el conductor"]),
        ("fr", ["Lien pour le chauffeur", "Créer le lien pour le chauffeur"]),
    ],
)
def test_the_driver_link_section_speaks_the_admins_language(app, world, locale, words):  # noqa: F811
    page = signed_in(app, "owner").get(f"/admin/trips/{world['trip']}?locale={locale}")
    html = page.get_data(as_text=True)
    assert all(word in html for word in words)


def test_the_link_shown_again_refuses_check_ins_from_before_it_was_issued(app, world):  # noqa: F811
    """The console (and the email) show the link with its issue time, as the API's first
    answer has it: a check-in dated after the trip was made but before the link was issued is
    a 422 naming `at` whichever copy the driver opened (it was accepted through the console's)."""
    trip_id = world["trip"]
    pledge_id = pledge(app, trip_id, "Ana Fan")
    with app.app_context(), db.transaction() as session:
        session.get(Trip, trip_id).created_at = utcnow() - timedelta(days=10)
    client = signed_in(app, "owner")
    issue(client, trip_id)
    shown = LINK.search(trip_html(client, trip_id)).group(1)
    path = "/" + shown.split("://", 1)[1].split("/", 1)[1]
    before = rfc3339(utcnow() - timedelta(days=2))
    answer = app.test_client().post(
        f"{path}/checkins", json={"id": str(uuid.uuid4()), "at": before, "pledge_id": pledge_id}
    )
    assert answer.status_code == 422, answer.json
    assert "before the driver link was issued" in answer.json["errors"]["at"][0]
    with app.app_context():
        link = checkin.read_driver_token(app.config["SECRET_KEY"], path.rsplit("/", 1)[1])
        assert link.issued_at is not None and link.issued_at > utcnow() - timedelta(minutes=1)


def test_the_shown_link_is_neither_cached_nor_logged(app, world):  # noqa: F811
    """The console page that shows the driver link (a secret: names, phones and boarding codes
    behind it) is `no-store`, and issuing, showing, emailing and opening it logs no token."""
    from tests.functional.test_secret_redaction import _capture_logs

    trip_id = world["trip"]
    page = f"/admin/trips/{trip_id}"
    client = signed_in(app, "owner")
    stop = _capture_logs()
    try:
        issue(client, trip_id)
        shown = client.get(page)
        assert shown.headers["Cache-Control"] == "no-store"
        assert shown.headers["Referrer-Policy"] != "unsafe-url"
        link = LINK.search(shown.get_data(as_text=True)).group(1)
        assert post(client, f"{page}/driver_link/email", page=page).status_code == 302
        run_jobs(app)
        driver = app.test_client().get("/" + link.split("://", 1)[1].split("/", 1)[1])
        assert driver.status_code == 200 and driver.headers["Referrer-Policy"] == "no-referrer"
    finally:
        log = stop()
    token = link.rsplit("/", 1)[1]
    assert "/d/[redacted]" in log  # the driver page's access line was captured
    assert token not in log
