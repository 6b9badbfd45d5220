"""Two-step sign-in (TOTP): setting it up, signing in with a code or a recovery code, replays,
the lockout, turning it off, new recovery codes, and a team that requires it."""

from __future__ import annotations

import re
from datetime import timedelta

import pyotp
from sqlalchemy import func, select

from tests.admin_helpers import PASSWORD, csrf, post, sign_in, team
from widget_server.domain.accounts import admin_sessions, two_step
from widget_server.extensions import db
from widget_server.models import (
    AdminRecoveryCode,
    AdminSignInAttempt,
    AdminUser,
    AuditLogEntry,
    Partner,
)
from widget_server.models.types import utcnow

_SECRET = re.compile(r'<code class="secret" id="totp-secret">([A-Z2-7 ]+)</code>')
_CODES = re.compile(r"\b[2-9A-HJ-NP-Z]{4}-[2-9A-HJ-NP-Z]{4}-[2-9A-HJ-NP-Z]{4}\b")


def code_at(secret: str, seconds_from_now: int = 0) -> str:
    return pyotp.TOTP(secret).at(utcnow() + timedelta(seconds=seconds_from_now))


def set_up(client) -> tuple[str, list[str]]:
    """Turn two-step sign-in on from the account pages, as a person would; returns the secret
    (read from the page, as typed by hand) and the recovery codes shown."""
    here = "/admin/account/two-step"
    assert post(client, "/admin/account/two-step/start", page=here).status_code == 302
    page = client.get(here).get_data(as_text=True)
    assert "<svg" in page and 'class="qr"' in page  # the QR code is drawn in the page
    secret = _SECRET.search(page).group(1).replace(" ", "")
    shown = post(client, "/admin/account/two-step/confirm", {"code": code_at(secret)}, page=here)
    assert shown.status_code == 200
    codes = _CODES.findall(shown.get_data(as_text=True))
    return secret, list(dict.fromkeys(codes))


def second_step(client, code: str, **kwargs):
    return post(client, "/admin/login/code", {"code": code}, page="/admin/login/code", **kwargs)


def signed_in(client) -> bool:
    return client.get("/admin/").status_code == 200


def admin_row(app, email: str) -> AdminUser:
    with app.app_context():
        admin = db.session.scalar(select(AdminUser).where(AdminUser.email == email))
        db.session.expunge(admin)
        return admin


def test_set_up_refuses_a_wrong_code_then_turns_on_with_ten_codes(app, client):
    people = team(app)
    sign_in(client, people["owner"])
    post(client, "/admin/account/two-step/start")
    page = client.get("/admin/account/two-step").get_data(as_text=True)
    secret = _SECRET.search(page).group(1).replace(" ", "")
    wrong = f"{(int(code_at(secret)) + 1) % 1_000_000:06d}"
    refused = post(client, "/admin/account/two-step/confirm", {"code": wrong})
    assert refused.status_code == 422
    assert "This is not the code your app shows now" in refused.get_data(as_text=True)
    assert not admin_row(app, people["owner"]).two_step_on

    shown = post(client, "/admin/account/two-step/confirm", {"code": code_at(secret)})
    assert shown.status_code == 200
    codes = list(dict.fromkeys(_CODES.findall(shown.get_data(as_text=True))))
    assert len(codes) == 10
    assert shown.headers["Cache-Control"] == "no-store"
    admin = admin_row(app, people["owner"])
    assert admin.two_step_on
    # Stored encrypted; the recovery codes only as HMACs.
    assert secret not in admin.totp_secret
    with app.app_context():
        hashes = db.session.scalars(
            select(AdminRecoveryCode.code_hash).where(AdminRecoveryCode.admin_id == admin.id)
        ).all()
        actions = db.session.scalars(select(AuditLogEntry.action)).all()
    assert len(hashes) == 10 and not set(hashes) & {c.replace("-", "") for c in codes}
    assert "admin.two_step_enabled" in actions
    # The codes are shown once: the page afterwards does not have them.
    later = client.get("/admin/account/two-step").get_data(as_text=True)
    assert not set(codes) & set(_CODES.findall(later))
    assert "10 unused recovery codes" in later


def test_sign_in_needs_the_code_after_the_password(app, client):
    people = team(app)
    sign_in(client, people["owner"])
    secret, _codes = set_up(client)
    post(client, "/admin/logout")

    first = client.post(
        "/admin/login?next=/admin/team",
        data={"email": people["owner"], "password": PASSWORD, "csrf_token": csrf(client)},
    )
    assert first.status_code == 302
    assert first.headers["Location"] == "/admin/login/code"
    assert not signed_in(client)  # the password alone establishes no session
    with client.session_transaction("/admin/") as state:
        assert "_user_id" not in state
    page = client.get("/admin/login/code").get_data(as_text=True)
    assert 'autocomplete="one-time-code"' in page

    wrong = second_step(client, "000000" if code_at(secret, 30) != "000000" else "111111")
    assert wrong.status_code == 401
    assert "That code does not work" in wrong.get_data(as_text=True)
    done = second_step(client, code_at(secret, 30))
    assert done.status_code == 302
    assert done.headers["Location"] == "/admin/team"
    assert signed_in(client)


def test_a_code_works_once(app):
    people = team(app)
    setup_client = app.test_client()
    sign_in(setup_client, people["owner"])
    secret, _codes = set_up(setup_client)
    code = code_at(secret, 30)

    laptop, phone = app.test_client(), app.test_client()
    sign_in(laptop, people["owner"])
    assert second_step(laptop, code).status_code == 302
    sign_in(phone, people["owner"])
    replay = second_step(phone, code)
    assert replay.status_code == 401
    assert not signed_in(phone)
    # The code of the set-up is spent too.
    other = app.test_client()
    sign_in(other, people["owner"])
    assert second_step(other, code_at(secret)).status_code == 401


def test_a_recovery_code_works_once(app):
    people = team(app)
    setup_client = app.test_client()
    sign_in(setup_client, people["owner"])
    _secret, codes = set_up(setup_client)

    first = app.test_client()
    sign_in(first, people["owner"])
    answer = second_step(first, codes[0].lower().replace("-", " "))  # as typed, loosely
    assert answer.status_code == 302
    assert "9 are left" in first.get(answer.headers["Location"]).get_data(as_text=True)
    again = app.test_client()
    sign_in(again, people["owner"])
    assert second_step(again, codes[0]).status_code == 401
    assert second_step(again, codes[1]).status_code == 302
    with app.app_context():
        actions = db.session.scalars(select(AuditLogEntry.action)).all()
    assert actions.count("admin.recovery_code_used") == 2


def test_wrong_codes_count_toward_the_lockout(app, client):
    people = team(app)
    sign_in(client, people["owner"])
    secret, _codes = set_up(client)
    post(client, "/admin/logout")
    sign_in(client, people["owner"])
    bad = "000000" if code_at(secret, 30) != "000000" else "111111"
    for _ in range(admin_sessions.ACCOUNT_LOCK_AFTER - 1):
        assert second_step(client, bad).status_code == 401
    # The right password again does not start the count over...
    assert sign_in(client, people["owner"]).headers["Location"] == "/admin/login/code"
    assert second_step(client, bad).status_code == 401
    # ...so the account is locked now: the right code is refused, and so is the password.
    locked = second_step(client, code_at(secret, 30))
    assert locked.status_code == 401
    assert "That code does not work" in locked.get_data(as_text=True)
    assert sign_in(client, people["owner"]).status_code == 401
    assert not signed_in(client)


def test_the_second_step_expires(app, client, monkeypatch):
    people = team(app)
    sign_in(client, people["owner"])
    secret, _codes = set_up(client)
    post(client, "/admin/logout")
    sign_in(client, people["owner"])
    monkeypatch.setattr(two_step, "PENDING_LIFETIME", timedelta(seconds=-1))
    late = client.get("/admin/login/code")
    assert late.status_code == 302 and late.headers["Location"] == "/admin/login"
    assert "within 5 minutes" in client.get("/admin/login").get_data(as_text=True)
    assert not signed_in(client)


def test_the_second_step_is_rate_limited_per_account(app, client):
    people = team(app)
    sign_in(client, people["owner"])
    secret, _codes = set_up(client)
    post(client, "/admin/logout")
    app.config["RATELIMIT_SIGN_IN_ACCOUNT"] = "3 per minute"
    sign_in(client, people["owner"])  # the password's try counts for the account too
    statuses = [second_step(client, "12345x").status_code for _ in range(3)]
    assert statuses == [401, 401, 429]  # with the password: three tries for the account


def test_turning_on_and_off_ends_the_other_sessions(app):
    people = team(app)
    laptop, phone = app.test_client(), app.test_client()
    sign_in(laptop, people["owner"])
    sign_in(phone, people["owner"])
    secret, _codes = set_up(laptop)
    assert signed_in(laptop)
    assert not signed_in(phone)

    wrong = post(
        laptop,
        "/admin/account/two-step/disable",
        {"off-password": PASSWORD, "off-code": "99999"},
        page="/admin/account/two-step",
    )
    assert wrong.status_code == 422
    assert admin_row(app, people["owner"]).two_step_on
    bad_password = post(
        laptop,
        "/admin/account/two-step/disable",
        {"off-password": "not my password", "off-code": code_at(secret, 30)},
        page="/admin/account/two-step",
    )
    assert bad_password.status_code == 422
    assert "This is not your current password" in bad_password.get_data(as_text=True)
    with app.app_context():  # both count toward the lockout
        failures = db.session.scalar(
            select(func.count()).where(AdminSignInAttempt.succeeded.is_(False))
        )
    assert failures == 2

    sign_in(phone, people["owner"])
    assert second_step(phone, code_at(secret, 30)).status_code == 302
    off = post(
        laptop,
        "/admin/account/two-step/disable",
        {"off-password": PASSWORD, "off-code": code_at(secret, -30)},
        page="/admin/account/two-step",
    )
    # -30 s is older than the code the phone used: a replay, refused.
    assert off.status_code == 422
    off = post(
        laptop,
        "/admin/account/two-step/disable",
        {"off-password": PASSWORD, "off-code": _codes[0]},
        page="/admin/account/two-step",
    )
    assert off.status_code == 302
    assert not admin_row(app, people["owner"]).two_step_on
    assert signed_in(laptop)
    assert not signed_in(phone)
    assert sign_in(phone, people["owner"]).headers["Location"] == "/admin/"  # password only
    with app.app_context():
        actions = db.session.scalars(select(AuditLogEntry.action)).all()
        left = db.session.scalar(select(AdminRecoveryCode.id))
    assert "admin.two_step_disabled" in actions
    assert left is None


def test_new_recovery_codes_replace_the_old(app, client):
    people = team(app)
    sign_in(client, people["owner"])
    secret, old = set_up(client)
    shown = post(
        client,
        "/admin/account/two-step/recovery-codes",
        {"renew-password": PASSWORD, "renew-code": code_at(secret, 30)},
        page="/admin/account/two-step",
    )
    assert shown.status_code == 200
    new = list(dict.fromkeys(_CODES.findall(shown.get_data(as_text=True))))
    assert len(new) == 10 and not set(new) & set(old)
    other = app.test_client()
    sign_in(other, people["owner"])
    assert second_step(other, old[0]).status_code == 401
    assert second_step(other, new[0]).status_code == 302


def test_a_team_that_requires_it_sends_admins_to_set_it_up_first(app):
    people = team(app, roles=("owner", "editor"))
    owner, editor = app.test_client(), app.test_client()
    sign_in(owner, people["owner"])
    # The owner first: requiring it without having it is refused.
    post(owner, "/admin/team/two-step", {"required": "on"}, page="/admin/team")
    assert "for your own account first" in owner.get("/admin/team").get_data(as_text=True)
    with app.app_context():
        assert not db.session.get(Partner, people["partner_id"]).require_two_step
    set_up(owner)
    answer = post(owner, "/admin/team/two-step", {"required": "on"}, page="/admin/team")
    assert answer.status_code == 302
    with app.app_context():
        assert db.session.get(Partner, people["partner_id"]).require_two_step
        assert "partner.two_step_required" in db.session.scalars(select(AuditLogEntry.action))

    first = sign_in(editor, people["editor"])
    assert first.headers["Location"] == "/admin/"
    home = editor.get("/admin/")
    assert home.status_code == 302 and home.headers["Location"] == "/admin/account/two-step"
    for path in ("/admin/events/new", "/admin/team", "/admin/account", "/admin/demand"):
        assert editor.get(path).headers.get("Location") == "/admin/account/two-step", path
    token = csrf(editor, "/admin/account/two-step")
    blocked = editor.post("/admin/events/new", data={"csrf_token": token, "title": "x"})
    assert blocked.status_code == 403
    page = editor.get("/admin/account/two-step").get_data(as_text=True)
    assert "Your team requires two-step sign-in" in page
    set_up(editor)
    assert signed_in(editor)
    # Now required, it cannot be turned off.
    refused = post(
        editor,
        "/admin/account/two-step/disable",
        {"off-password": PASSWORD, "off-code": "123456"},
        page="/admin/account/two-step",
    )
    assert refused.status_code == 409
    assert admin_row(app, people["editor"]).two_step_on


def test_only_an_owner_may_require_it(app):
    people = team(app, roles=("owner", "editor"))
    editor = app.test_client()
    sign_in(editor, people["editor"])
    answer = post(editor, "/admin/team/two-step", {"required": "on"}, page="/admin/team")
    assert answer.status_code == 403


def test_a_secret_key_change_makes_stored_secrets_unreadable_not_a_500(app, client):
    people = team(app)
    sign_in(client, people["owner"])
    set_up(client)
    with app.app_context():
        admin = db.session.scalar(select(AdminUser).where(AdminUser.email == people["owner"]))
        assert two_step.use_code(db.session, admin, "123456", secret_key="another key") is None
