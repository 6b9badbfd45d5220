"""The team: invites by signed email link (72 h, once), roles, removal, never the last owner;
and the audit log of console, API and CLI changes, filterable."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from tests.admin_helpers import csrf, make_admin, post, sign_in
from tests.conftest import run_jobs
from tests.factories import make_event, make_partner
from tests.unit.email_helpers import outbox_file, parse, parts
from widget_server.domain import audit
from widget_server.extensions import db
from widget_server.models import AdminUser, OutboundEmail


@pytest.fixture
def world(app):
    with app.app_context(), db.transaction() as session:
        partner = make_partner(session, "kc-chiefs")
        ids = {
            role: make_admin(session, partner, f"{role}@chiefs.example", role).id
            for role in ("owner", "editor", "viewer")
        }
        make_event(session, partner, title="Logged Game")
        ids["partner"] = partner.id
    return ids


def client_of(app, role: str):
    client = app.test_client()
    assert sign_in(client, f"{role}@chiefs.example").status_code == 302
    return client


def test_an_owner_invites_a_teammate_who_joins_from_the_email(app, settings, world):
    owner = client_of(app, "owner")
    sent = post(
        owner,
        "/admin/team/invite",
        {"email": "New@Chiefs.example", "role": "editor"},
        page="/admin/team",
    )
    assert sent.status_code == 302
    run_jobs(app)  # the invitation job creates the account and queues the email
    with app.app_context():
        email_id = db.session.scalar(
            select(OutboundEmail.id).where(OutboundEmail.kind == "admin_invite")
        )
    subject, text, _html = parts(parse(outbox_file(settings, email_id).read_bytes()))
    assert "You are invited to the Kc Chiefs console" in subject
    assert "owner@chiefs.example invited you" in text
    path = re.search(r"http://\S+(/admin/password/invite/\S+)", text).group(1)
    newcomer = app.test_client()
    password = "welcome aboard friend"
    answer = newcomer.post(
        path, data={"password": password, "confirm": password, "csrf_token": csrf(newcomer, path)}
    )
    assert answer.status_code == 302
    assert sign_in(newcomer, "new@chiefs.example", password).status_code == 302
    assert app.test_client().get(path).status_code == 404  # single use
    assert "invited, no password yet" not in owner.get("/admin/team").get_data(as_text=True)


def test_roles_change_and_the_last_owner_stays(app, world):
    owner = client_of(app, "owner")
    assert (
        post(
            owner, f"/admin/team/{world['editor']}/role", {"role": "viewer"}, page="/admin/team"
        ).status_code
        == 302
    )
    last = post(owner, f"/admin/team/{world['owner']}/role", {"role": "viewer"}, page="/admin/team")
    assert last.status_code == 302
    assert "This is the last owner" in owner.get("/admin/team").get_data(as_text=True)
    assert (
        post(owner, f"/admin/team/{world['owner']}/remove", page="/admin/team").status_code == 302
    )
    with app.app_context():
        assert db.session.get(AdminUser, world["owner"]).role == "owner"
        assert db.session.get(AdminUser, world["editor"]).role == "viewer"
    bad = post(owner, f"/admin/team/{world['viewer']}/role", {"role": "god"}, page="/admin/team")
    assert bad.status_code == 302
    with app.app_context():
        assert db.session.get(AdminUser, world["viewer"]).role == "viewer"


def test_removing_a_teammate_ends_their_sessions(app, world):
    editor = client_of(app, "editor")
    owner = client_of(app, "owner")
    assert (
        post(owner, f"/admin/team/{world['editor']}/remove", page="/admin/team").status_code == 302
    )
    assert editor.get("/admin/").status_code == 302
    with app.app_context():
        assert db.session.get(AdminUser, world["editor"]) is None


def test_only_owners_manage_the_team(app, world):
    editor = client_of(app, "editor")
    assert "Send the invitation" not in editor.get("/admin/team").get_data(as_text=True)
    token = csrf(editor, "/admin/team")
    for path, data in [
        ("/admin/team/invite", {"email": "x@chiefs.example", "role": "owner"}),
        (f"/admin/team/{world['viewer']}/role", {"role": "owner"}),
        (f"/admin/team/{world['owner']}/remove", {}),
    ]:
        assert editor.post(path, data={**data, "csrf_token": token}).status_code == 403


def test_an_invite_answers_the_same_whoever_has_an_account(app, world):
    """Issue 19: inviting an address that has a console account (here or with another
    partner) answers as any invite does; the job finds the account and invites nobody."""
    with app.app_context(), db.transaction() as session:
        other = make_partner(session, "other-club")
        make_admin(session, other, "theirs@other.example", "owner")
        other_id = other.id
    owner = client_of(app, "owner")
    answers = []
    for email in ("editor@chiefs.example", "theirs@other.example", "fresh@chiefs.example"):
        answer = post(
            owner, "/admin/team/invite", {"email": email, "role": "viewer"}, page="/admin/team"
        )
        answers.append((answer.status_code, answer.headers.get("Location")))
        page = owner.get("/admin/team").get_data(as_text=True)
        assert "already has" not in page and f"Invitation sent to {email}" in page
    assert len(set(answers)) == 1 and answers[0][0] == 302
    run_jobs(app)
    with app.app_context():
        invited = db.session.scalars(
            select(OutboundEmail.to_address).where(OutboundEmail.kind == "admin_invite")
        ).all()
        theirs = db.session.scalar(
            select(AdminUser).where(AdminUser.email == "theirs@other.example")
        )
        assert invited == ["fresh@chiefs.example"]
        assert theirs.partner_id == other_id and theirs.role == "owner"


def test_the_audit_log_shows_who_did_what_and_filters(app, world):
    owner = client_of(app, "owner")
    post(owner, f"/admin/team/{world['editor']}/role", {"role": "viewer"}, page="/admin/team")
    with app.app_context(), db.transaction() as session:
        audit.record(session, world["partner"], "client:cli_123", "trip.opened", "trip", "trp_x")
    page = owner.get("/admin/audit").get_data(as_text=True)
    assert "admin:owner@chiefs.example" in page and "admin.role_changed" in page
    assert "client:cli_123" in page and "event.created" in page
    only_trips = owner.get("/admin/audit?action=trip.").get_data(as_text=True)
    assert "trip.opened" in only_trips and "admin.role_changed" not in only_trips
    by_client = owner.get("/admin/audit?actor=CLI_123").get_data(as_text=True)
    assert "trip.opened" in by_client and "event.created" not in by_client
    by_object = owner.get(f"/admin/audit?object_id={world['editor']}").get_data(as_text=True)
    assert "admin.role_changed" in by_object and "trip.opened" not in by_object
