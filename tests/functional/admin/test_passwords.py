"""Password links: reset by email, the CLI's one-time link, changing one's password."""

from __future__ import annotations

import re
from datetime import timedelta

from click.testing import CliRunner
from sqlalchemy import select

from tests.admin_helpers import PASSWORD, csrf, post, sign_in, team
from tests.conftest import run_jobs
from tests.unit.email_helpers import outbox_file, parse, parts
from widget_server.cli import cli
from widget_server.domain.accounts import password_links
from widget_server.extensions import db
from widget_server.models import AdminUser, OutboundEmail

NEW_PASSWORD = "a brand new passphrase"


def _reset_link(app, settings, email: str) -> str:
    run_jobs(app)  # the lookup job queues the email, which the next job sends
    with app.app_context():
        row = db.session.scalar(select(OutboundEmail).where(OutboundEmail.to_address == email))
        email_id = row.id
    message = parse(outbox_file(settings, email_id).read_bytes())
    subject, text, markup = parts(message)
    assert "Reset your" in subject
    link = re.search(r"http://\S+/admin/password/reset/\S+", text).group(0)
    assert link in markup
    return link.removeprefix(settings.public_base_url)


def _choose(client, path: str, password: str = NEW_PASSWORD):
    """Open the link as a browser does (to the token-less form) and send the form there."""
    form_path = client.get(path).headers["Location"]
    return client.post(
        form_path,
        data={"password": password, "confirm": password, "csrf_token": csrf(client, form_path)},
    )


def test_a_reset_link_is_emailed_and_works_once(app, settings, client):
    people = team(app)
    sent = client.post(
        "/admin/password/forgot", data={"email": people["owner"], "csrf_token": csrf(client)}
    )
    assert sent.status_code == 200
    assert "Check your email" in sent.get_data(as_text=True)
    path = _reset_link(app, settings, people["owner"])
    assert _choose(client, path).status_code == 302
    assert sign_in(client, people["owner"]).status_code == 401  # the old password is gone
    assert sign_in(client, people["owner"], NEW_PASSWORD).status_code == 302
    assert app.test_client().get(path).status_code == 404  # used once, never again


def test_a_reset_ends_every_session(app, settings):
    people = team(app)
    signed_in, other = app.test_client(), app.test_client()
    sign_in(signed_in, people["owner"])
    other.post("/admin/password/forgot", data={"email": people["owner"], "csrf_token": csrf(other)})
    assert _choose(other, _reset_link(app, settings, people["owner"])).status_code == 302
    assert signed_in.get("/admin/").status_code == 302


def test_an_unknown_email_gets_the_same_answer_and_no_email(app, client):
    team(app)
    answer = client.post(
        "/admin/password/forgot", data={"email": "nobody@x.example", "csrf_token": csrf(client)}
    )
    assert answer.status_code == 200
    assert "Check your email" in answer.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalars(select(OutboundEmail)).all() == []


def test_a_forged_or_expired_link_is_refused(app, client, monkeypatch):
    people = team(app)

    with app.app_context():
        admin = db.session.scalar(select(AdminUser).where(AdminUser.email == people["owner"]))
        token = password_links.password_token(app.config["SECRET_KEY"], admin, "reset")
    opened = client.get(f"/admin/password/reset/{token}")
    # The token is swapped for the token-less form address (kept in the session).
    assert opened.status_code == 303 and opened.headers["Location"] == "/admin/password/reset"
    assert opened.headers["Referrer-Policy"] == "no-referrer"
    form = client.get("/admin/password/reset")
    assert form.status_code == 200 and token not in form.get_data(as_text=True)
    assert app.test_client().get("/admin/password/reset").status_code == 404  # no link opened
    assert client.get("/admin/password/invite").status_code == 404  # another purpose
    assert client.get(f"/admin/password/reset/{token}x").status_code == 404
    assert client.get(f"/admin/password/invite/{token}").status_code == 404  # other purpose
    assert client.get(f"/admin/password/bogus/{token}").status_code == 404
    monkeypatch.setitem(password_links.LINK_LIFETIMES, "reset", timedelta(seconds=-1))
    assert client.get(f"/admin/password/reset/{token}").status_code == 404


def test_a_short_or_mismatched_password_is_refused_naming_the_field(app, settings, client):
    people = team(app)
    client.post(
        "/admin/password/forgot", data={"email": people["owner"], "csrf_token": csrf(client)}
    )
    path = _reset_link(app, settings, people["owner"])
    short = _choose(client, path, "short")
    assert short.status_code == 422
    assert 'aria-invalid="true"' in short.get_data(as_text=True)
    differ = client.post(
        path,
        data={
            "password": NEW_PASSWORD,
            "confirm": NEW_PASSWORD + "!",
            "csrf_token": csrf(client, path),
        },
    )
    assert differ.status_code == 422
    assert "The two passwords differ." in differ.get_data(as_text=True)


def test_cli_admins_create_prints_a_one_time_link(app):
    team(app, roles=())
    runner = CliRunner()
    result = runner.invoke(
        cli,
        [
            "admins",
            "create",
            "--partner",
            "kc-chiefs",
            "--email",
            "New@Chiefs.example",
            "--role",
            "editor",
        ],
        obj=_script_info(app),
    )
    assert result.exit_code == 0, result.output
    link = re.search(r"http://\S+(/admin/password/set/\S+)", result.output).group(1)
    client = app.test_client()
    assert sign_in(client, "new@chiefs.example").status_code == 401  # no password yet
    assert _choose(client, link).status_code == 302
    assert sign_in(client, "NEW@chiefs.example", NEW_PASSWORD).status_code == 302
    assert "editor" in client.get("/admin/").get_data(as_text=True)
    assert app.test_client().get(link).status_code == 404


def test_cli_admins_create_with_a_password_and_refusals(app):
    team(app, roles=())
    runner = CliRunner()
    ok = runner.invoke(
        cli,
        [
            "admins",
            "create",
            "--partner",
            "kc-chiefs",
            "--email",
            "v@chiefs.example",
            "--password",
            PASSWORD,
            "--role",
            "viewer",
        ],
        obj=_script_info(app),
    )
    assert ok.exit_code == 0, ok.output
    assert "/admin/password/" not in ok.output
    assert sign_in(app.test_client(), "v@chiefs.example").status_code == 302
    again = runner.invoke(
        cli,
        ["admins", "create", "--partner", "kc-chiefs", "--email", "V@chiefs.example"],
        obj=_script_info(app),
    )
    assert again.exit_code == 1
    assert "already has a console account" in again.output
    short = runner.invoke(
        cli,
        [
            "admins",
            "create",
            "--partner",
            "kc-chiefs",
            "--email",
            "s@chiefs.example",
            "--password",
            "short",
        ],
        obj=_script_info(app),
    )
    assert short.exit_code == 1
    assert "password" in short.output
    nobody = runner.invoke(
        cli,
        ["admins", "create", "--partner", "nope", "--email", "n@chiefs.example"],
        obj=_script_info(app),
    )
    assert nobody.exit_code == 1


def test_changing_ones_password_needs_the_current_one(app, client):
    people = team(app)
    sign_in(client, people["owner"])
    wrong = post(
        client,
        "/admin/account",
        {"current": "not it at all", "password": NEW_PASSWORD, "confirm": NEW_PASSWORD},
    )
    assert wrong.status_code == 422
    assert "This is not your current password." in wrong.get_data(as_text=True)
    right = post(
        client,
        "/admin/account",
        {"current": PASSWORD, "password": NEW_PASSWORD, "confirm": NEW_PASSWORD},
    )
    assert right.status_code == 302
    assert client.get("/admin/").status_code == 302  # signed out; sign in with the new one
    assert sign_in(client, people["owner"], NEW_PASSWORD).status_code == 302


def _script_info(app):
    from flask.cli import ScriptInfo

    return ScriptInfo(create_app=lambda *a, **k: app)
