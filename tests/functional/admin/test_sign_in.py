"""Console sign-in: the form, the cookie, sessions and their lifetimes, sign-out, lockout."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import update

from tests.admin_helpers import PASSWORD, csrf, post, sign_in, team
from widget_server.domain.accounts import admin_sessions
from widget_server.extensions import db
from widget_server.models import AdminSession, AdminSignInAttempt
from widget_server.models.types import utcnow


def test_the_login_form_has_the_contract_fields(client):
    page = client.get("/admin/login").get_data(as_text=True)
    for name in ("email", "password", "csrf_token"):
        assert f'name="{name}"' in page
    assert 'autocomplete="current-password"' in page


def test_console_pages_need_a_sign_in(app, client):
    answer = client.get("/admin/")
    assert answer.status_code == 302
    assert answer.headers["Location"].startswith("/admin/login?next=/admin/")
    assert client.post("/admin/account/sign-out-everywhere").status_code == 400  # no CSRF


def test_an_owner_signs_in_and_sees_sign_out(app, client):
    people = team(app)
    answer = sign_in(client, people["owner"])
    assert answer.status_code == 302
    assert answer.headers["Location"] == "/admin/"
    page = client.get("/admin/").get_data(as_text=True)
    assert "Sign out" in page
    assert people["owner"] in page


def test_the_session_cookie_is_httponly_lax_and_only_for_the_console(app, client):
    people = team(app)
    answer = sign_in(client, people["owner"])
    cookie = answer.headers["Set-Cookie"]
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie
    assert "Path=/admin" in cookie
    assert "Secure" not in cookie  # plain http here


def test_the_cookie_is_secure_over_https(app):
    people = team(app)
    client = app.test_client()
    answer = sign_in(client, people["owner"], base_url="https://localhost")
    assert answer.status_code == 302
    assert "Secure" in answer.headers["Set-Cookie"]


def test_sign_in_starts_a_new_session_id(app, client):
    people = team(app)
    csrf(client)
    with client.session_transaction("/admin/") as before:
        planted = dict(before)
    sign_in(client, people["owner"])
    with client.session_transaction("/admin/") as after:
        first = after["_user_id"]
        assert after.get("csrf_token") != planted.get("csrf_token")
    post(client, "/admin/logout")
    sign_in(client, people["owner"])
    with client.session_transaction("/admin/") as again:
        assert again["_user_id"] != first


def test_unknown_email_and_wrong_password_get_the_same_answer(app, client):
    people = team(app)
    unknown = sign_in(client, "nobody@kc-chiefs.example")
    wrong = sign_in(client, people["owner"], "not the password at all")
    assert unknown.status_code == wrong.status_code == 401
    strip = lambda r: csrf_free(r.get_data(as_text=True))  # noqa: E731
    assert strip(unknown).replace("nobody@kc-chiefs.example", "X") == strip(wrong).replace(
        people["owner"], "X"
    )


def csrf_free(html: str) -> str:
    import re

    return re.sub(r'name="csrf_token" value="[^"]+"', "", html)


def test_the_account_locks_after_five_failures_even_with_the_right_password(app, client):
    people = team(app)
    for _ in range(admin_sessions.ACCOUNT_LOCK_AFTER):
        assert sign_in(client, people["owner"], "wrong password here").status_code == 401
    locked = sign_in(client, people["owner"])
    assert locked.status_code == 401
    # An unknown email locks the same way, so the lock reveals nothing.
    for _ in range(admin_sessions.ACCOUNT_LOCK_AFTER + 1):
        last = sign_in(client, "ghost@kc-chiefs.example", "wrong password here")
    assert csrf_free(last.get_data(as_text=True)).replace("ghost@kc-chiefs.example", "X") == (
        csrf_free(locked.get_data(as_text=True)).replace(people["owner"], "X")
    )
    _age_attempts(app, admin_sessions.LOCK_WINDOW + timedelta(seconds=1))
    assert sign_in(client, people["owner"]).status_code == 302


def test_an_address_locks_after_twenty_failures_across_emails(app):
    people = team(app)
    attacker = app.test_client()
    here = {"REMOTE_ADDR": "203.0.113.9"}
    for index in range(admin_sessions.ADDRESS_LOCK_AFTER):
        sign_in(attacker, f"guess{index}@kc-chiefs.example", "wrong", environ_base=here)
    assert sign_in(attacker, people["owner"], environ_base=here).status_code == 401
    elsewhere = app.test_client()
    assert sign_in(elsewhere, people["owner"]).status_code == 302


def test_signing_in_to_ones_own_account_does_not_reset_the_address_lock(app):
    """Issue 19: an attacker with an account of their own cannot interleave successful
    sign-ins to keep guessing other accounts' passwords from one address."""
    people = team(app, roles=("owner", "viewer"))
    attacker = app.test_client()
    here = {"REMOTE_ADDR": "203.0.113.9"}
    for index in range(admin_sessions.ADDRESS_LOCK_AFTER):
        if index % 4 == 3:  # before the lock: the attacker's own account, the right password
            mine = app.test_client()
            assert sign_in(mine, people["viewer"], environ_base=here).status_code == 302
        sign_in(attacker, f"guess{index}@kc-chiefs.example", "wrong", environ_base=here)
    assert sign_in(app.test_client(), people["owner"], environ_base=here).status_code == 401
    assert sign_in(app.test_client(), people["viewer"], environ_base=here).status_code == 401


def test_an_ipv6_client_is_locked_by_its_slash_64(app):
    """Issue 19: a client with a /64 cannot pick a new address for every few guesses."""
    people = team(app)
    for index in range(admin_sessions.ADDRESS_LOCK_AFTER):
        here = {"REMOTE_ADDR": f"2001:db8:7:9::{index + 1:x}"}
        sign_in(app.test_client(), f"guess{index}@kc-chiefs.example", "wrong", environ_base=here)
    same_64 = {"REMOTE_ADDR": "2001:db8:7:9:ffff::1"}
    assert sign_in(app.test_client(), people["owner"], environ_base=same_64).status_code == 401
    other_64 = {"REMOTE_ADDR": "2001:db8:7:a::1"}
    assert sign_in(app.test_client(), people["owner"], environ_base=other_64).status_code == 302


def _age_attempts(app, by: timedelta) -> None:
    with app.app_context(), db.transaction() as session:
        session.execute(update(AdminSignInAttempt).values(created_at=utcnow() - by))


def _age_sessions(app, **values) -> None:
    with app.app_context(), db.transaction() as session:
        session.execute(update(AdminSession).values(**values))


def test_a_session_ends_after_two_idle_hours(app, client):
    people = team(app)
    sign_in(client, people["owner"])
    _age_sessions(app, last_seen_at=utcnow() - timedelta(hours=1, minutes=59))
    assert client.get("/admin/").status_code == 200
    _age_sessions(app, last_seen_at=utcnow() - timedelta(hours=2, minutes=1))
    assert client.get("/admin/").status_code == 302


def test_a_session_ends_twelve_hours_after_sign_in_however_busy(app, client):
    people = team(app)
    sign_in(client, people["owner"])
    _age_sessions(app, created_at=utcnow() - timedelta(hours=12, minutes=1))
    assert client.get("/admin/").status_code == 302


def test_signing_out_ends_the_session_on_the_server(app, client):
    people = team(app)
    sign_in(client, people["owner"])
    with client.session_transaction("/admin/") as stolen:
        copied = dict(stolen)
    assert post(client, "/admin/logout").status_code == 302
    assert client.get("/admin/").status_code == 302
    with client.session_transaction("/admin/") as replay:
        replay.update(copied)  # a copy of the old cookie does not bring the session back
    assert client.get("/admin/").status_code == 302


def test_sign_out_everywhere_ends_every_device(app):
    people = team(app)
    laptop, phone = app.test_client(), app.test_client()
    sign_in(laptop, people["owner"])
    sign_in(phone, people["owner"])
    assert post(phone, "/admin/account/sign-out-everywhere").status_code == 302
    assert laptop.get("/admin/").status_code == 302
    assert phone.get("/admin/").status_code == 302
    assert sign_in(laptop, people["owner"]).status_code == 302


def test_posts_without_the_csrf_token_are_refused(app, client):
    people = team(app)
    no_token = client.post("/admin/login", data={"email": people["owner"], "password": PASSWORD})
    assert no_token.status_code == 400
    sign_in(client, people["owner"])
    assert client.post("/admin/logout").status_code == 400
    assert client.post("/admin/logout", data={"csrf_token": "forged"}).status_code == 400
    assert client.get("/admin/").status_code == 200  # still signed in


def test_a_next_address_outside_the_console_is_ignored(app, client):
    people = team(app)
    token = csrf(client)
    answer = client.post(
        "/admin/login?next=//evil.example/",
        data={"email": people["owner"], "password": PASSWORD, "csrf_token": token},
    )
    assert answer.headers["Location"] == "/admin/"


def test_hammering_sign_in_is_limited_per_account_and_per_address(app):
    """Issue 13: /admin/login tries are rate limited per account (from any address) and per
    address (whatever emails it tries), on top of the lockout; showing the form is free."""
    people = team(app)
    app.config.update(RATELIMIT_SIGN_IN_ACCOUNT="3 per minute", RATELIMIT_SIGN_IN="6 per minute")
    tries = [
        sign_in(app.test_client(), people["owner"], "wrong", environ_base={"REMOTE_ADDR": ip})
        for ip in ("198.51.100.1", "198.51.100.2", "198.51.100.3", "198.51.100.4")
    ]
    assert [answer.status_code for answer in tries] == [401, 401, 401, 429]
    attacker = app.test_client()
    here = {"REMOTE_ADDR": "203.0.113.7"}
    statuses = [
        sign_in(attacker, f"guess{n}@kc-chiefs.example", "wrong", environ_base=here).status_code
        for n in range(7)
    ]
    assert statuses == [401] * 6 + [429]
    assert attacker.get("/admin/login", environ_base=here).status_code == 200
