"""The operator portal: sign-in walls both ways with the console, roles, the profile with its
compliance, fleet and drivers with hostile input (a 422 naming the field), the team, the tenant
wall (another operator's ids are 404) and the audit log of every change."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from tests.admin_helpers import PASSWORD, sign_in, team
from tests.conftest import run_jobs
from tests.functional.operators.portal_helpers import crew, portal_post, portal_sign_in
from widget_server.extensions import db
from widget_server.models import AdminUser, AuditLogEntry, Operator, OperatorDriver, Vehicle


def _signed_in(app, role: str = "owner", slug: str = "prairie-coach"):
    people = crew(app, slug)
    client = app.test_client()
    assert portal_sign_in(client, people[role]).status_code == 302
    return client, people


def _add_vehicle(client, **fields):
    data = {"name": "Coach 12", "kind": "coach", "seats": "55", "plate": "KS 123", **fields}
    return portal_post(client, "/operator/fleet", data, page="/operator/fleet")


def _add_driver(client, **fields):
    data = {"name": "Dana Driver", "phone": "+1 312 555 0100", "email": "dana@x.example"}
    return portal_post(client, "/operator/drivers", {**data, **fields}, page="/operator/drivers")


def test_sign_in_opens_the_portal_and_the_pages(app):
    client, _ = _signed_in(app)
    for path in ("/operator/", "/operator/profile", "/operator/fleet", "/operator/drivers"):
        page = client.get(path)
        assert page.status_code == 200, path
        assert "Prairie Coach" in page.get_data(as_text=True)
    assert client.get("/operator/team").status_code == 200
    assert portal_post(client, "/operator/logout").status_code == 302
    assert client.get("/operator/").status_code == 302  # to the sign-in page


def test_signed_out_pages_redirect_and_posts_are_refused(client, app):
    crew(app)
    assert client.get("/operator/fleet").headers["Location"].startswith("/operator/login")
    refused = client.post("/operator/fleet", data={"name": "x"})
    assert refused.status_code == 400  # no CSRF token
    assert client.get("/operator/login").status_code == 200


def test_the_console_and_the_portal_each_refuse_the_other_sides_people(app):
    people = crew(app)
    partner = team(app)
    portal = app.test_client()
    refused = portal_sign_in(portal, partner["owner"])
    assert refused.status_code == 401
    console = app.test_client()
    assert sign_in(console, people["owner"]).status_code == 401
    assert sign_in(console, partner["owner"]).status_code == 302
    # A partner's session cookie is the console's: the portal never sees it as signed in.
    assert console.get("/operator/").status_code == 302
    assert portal_sign_in(portal, people["owner"]).status_code == 302
    assert portal.get("/admin/").status_code == 302
    cookies = {cookie.key: cookie.path for cookie in portal._cookies.values()}
    assert cookies.get("ridepledge_operator") == "/operator"


def test_a_console_session_token_does_not_open_the_portal(app):
    """Even replayed under the portal's cookie name, a partner's session opens nothing."""
    people = crew(app)
    partner = team(app)
    console = app.test_client()
    sign_in(console, partner["owner"])
    console_cookie = console.get_cookie("ridepledge_console", path="/admin")
    portal = app.test_client()
    portal.set_cookie("ridepledge_operator", console_cookie.value, path="/operator")
    assert portal.get("/operator/").status_code == 302
    assert people  # the operator exists, with its own people


def test_profile_changes_show_compliance_in_plain_words_and_are_audited(app):
    client, people = _signed_in(app)
    saved = portal_post(
        client,
        "/operator/profile",
        {
            "name": "Prairie Coach",
            "legal_name": "Prairie Coach Lines LLC",
            "usdot_number": "",
            "insurance_expires_on": "2020-01-31",
            "regions": "ks, ne",
            "contact_email": "Ops@Prairie.example",
            "contact_phone": "(312) 555-0100",
        },
        page="/operator/profile",
    )
    assert saved.status_code == 302, saved.get_data(as_text=True)
    page = client.get("/operator/profile").get_data(as_text=True)
    assert "USDOT number is missing" in page
    assert "insurance expired on January 31, 2020" in page
    with app.app_context():
        operator = db.session.get(Operator, people["operator_id"])
        assert operator.regions == ["KS", "NE"]
        assert operator.contact_phone == "+13125550100"
        assert operator.usdot_number is None
        entry = db.session.query(AuditLogEntry).filter_by(action="operator.updated").one()
        assert entry.operator_id == operator.id and entry.actor == f"admin:{people['owner']}"
    spanish = client.get("/operator/profile?locale=es").get_data(as_text=True)
    assert "USDOT" in spanish and "Falta" in spanish


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("usdot_number", "12a"),
        ("insurance_expires_on", "31/01/2027"),
        ("insurance_expires_on", "9999-12-31"),
        ("regions", "Kansas"),
        ("contact_email", "not-an-email"),
        ("contact_phone", "555"),
        ("name", "bad\x00name"),
        ("legal_name", "Prairie\u202eLines"),
        ("name", "x" * 5000),
        ("name", ""),
    ],
)
def test_a_bad_profile_field_is_a_422_naming_it(app, field, value):
    client, _ = _signed_in(app)
    data = {"name": "Prairie Coach", field: value}
    answer = portal_post(client, "/operator/profile", data, page="/operator/profile")
    assert answer.status_code == 422
    assert f'id="f-{field}-error"' in answer.get_data(as_text=True)


def test_fleet_add_edit_deactivate_and_hostile_input(app):
    client, people = _signed_in(app, "dispatcher")
    assert _add_vehicle(client).status_code == 302
    with app.app_context():
        vehicle = db.session.query(Vehicle).one()
        vehicle_id = vehicle.id
        assert (vehicle.seats, vehicle.kind, vehicle.plate) == (55, "coach", "KS 123")
    for field, value in [
        ("seats", "0"),
        ("seats", "101"),
        ("seats", "5.5"),
        ("seats", "99999999999999999999"),
        ("seats", "٣"),
        ("kind", "spaceship"),
        ("name", ""),
        ("plate", "x" * 21),
        ("name", "Coach\u202e21"),
    ]:
        answer = _add_vehicle(client, **{field: value})
        assert answer.status_code == 422, (field, value)
        assert f'id="f-{field}-error"' in answer.get_data(as_text=True), (field, value)
    edited = portal_post(
        client,
        f"/operator/fleet/{vehicle_id}",
        {"name": "Coach 14", "kind": "minibus", "seats": "24", "plate": ""},
        page=f"/operator/fleet/{vehicle_id}",
    )
    assert edited.status_code == 302
    off = portal_post(client, f"/operator/fleet/{vehicle_id}/active", {"active": "0"})
    assert off.status_code == 302
    with app.app_context():
        vehicle = db.session.get(Vehicle, vehicle_id)
        assert (vehicle.name, vehicle.kind, vehicle.seats, vehicle.plate) == (
            "Coach 14",
            "minibus",
            24,
            None,
        )
        assert vehicle.active is False
        actions = {
            e.action
            for e in db.session.query(AuditLogEntry).filter_by(operator_id=people["operator_id"])
        }
        assert {"vehicle.created", "vehicle.updated", "vehicle.deactivated"} <= actions


def test_drivers_add_edit_remove_and_hostile_input(app):
    client, _ = _signed_in(app)
    assert _add_driver(client).status_code == 302
    with app.app_context():
        driver = db.session.query(OperatorDriver).one()
        driver_id = driver.id
        assert driver.phone == "+13125550100"
    for field, value in [
        ("phone", "12"),
        ("phone", "+1 312 555 0100 ext\x07"),
        ("email", "dana@"),
        ("name", ""),
    ]:
        answer = _add_driver(client, **{field: value})
        assert answer.status_code == 422, (field, value)
        assert f'id="f-{field}-error"' in answer.get_data(as_text=True)
    unreachable = _add_driver(client, phone="", email="")
    assert unreachable.status_code == 422
    assert 'id="f-phone-error"' in unreachable.get_data(as_text=True)
    page = f"/operator/drivers/{driver_id}"
    edited = portal_post(
        client, page, {"name": "Dana D.", "phone": "", "email": "d@x.example"}, page=page
    )
    assert edited.status_code == 302
    assert portal_post(client, f"{page}/remove").status_code == 302
    with app.app_context():
        assert db.session.query(OperatorDriver).count() == 0


def test_another_operators_vehicles_drivers_and_people_are_404(app):
    theirs, their_people = _signed_in(app, slug="other-lines")
    _add_vehicle(theirs)
    _add_driver(theirs)
    with app.app_context():
        vehicle_id = db.session.query(Vehicle.id).scalar()
        driver_id = db.session.query(OperatorDriver.id).scalar()
        their_viewer = (
            db.session.query(AdminUser.id).filter_by(email=their_people["viewer"]).scalar()
        )
    ours, _ = _signed_in(app)
    assert ours.get(f"/operator/fleet/{vehicle_id}").status_code == 404
    assert ours.get(f"/operator/drivers/{driver_id}").status_code == 404
    assert ours.get("/operator/fleet/veh_nonsense").status_code == 404
    for path in (
        f"/operator/fleet/{vehicle_id}",
        f"/operator/fleet/{vehicle_id}/active",
        f"/operator/drivers/{driver_id}",
        f"/operator/drivers/{driver_id}/remove",
        f"/operator/team/{their_viewer}/role",
        f"/operator/team/{their_viewer}/remove",
    ):
        answer = portal_post(ours, path, {"name": "Mine now", "kind": "van", "seats": "9"})
        assert answer.status_code == 404, path
    with app.app_context():
        assert db.session.query(Vehicle).one().name == "Coach 12"
        assert db.session.query(OperatorDriver).count() == 1
        assert db.session.query(AdminUser).filter_by(email=their_people["viewer"]).count() == 1


def test_roles_viewers_read_dispatchers_run_the_fleet_owners_run_the_rest(app):
    viewer, people = _signed_in(app, "viewer")
    assert viewer.get("/operator/fleet").status_code == 200
    assert _add_vehicle(viewer).status_code == 403
    assert _add_driver(viewer).status_code == 403
    assert portal_post(viewer, "/operator/profile", {"name": "Mine"}).status_code == 403
    dispatcher = app.test_client()
    portal_sign_in(dispatcher, people["dispatcher"])
    assert portal_post(dispatcher, "/operator/profile", {"name": "Mine"}).status_code == 403
    invite = {"email": "new@prairie.example", "role": "viewer"}
    assert portal_post(dispatcher, "/operator/team/invite", invite).status_code == 403
    nav = viewer.get("/operator/").get_data(as_text=True)
    assert "/operator/fleet" in nav and "Add the vehicle" not in viewer.get(
        "/operator/fleet"
    ).get_data(as_text=True)


def test_the_owner_invites_changes_roles_and_removes_never_the_last_owner(app, outbox=None):
    client, people = _signed_in(app)
    bad = portal_post(client, "/operator/team/invite", {"email": "x@y", "role": "viewer"})
    assert bad.status_code == 422 and 'id="f-email-error"' in bad.get_data(as_text=True)
    console_role = portal_post(
        client, "/operator/team/invite", {"email": "e@prairie.example", "role": "editor"}
    )
    assert console_role.status_code == 422
    invited = portal_post(
        client, "/operator/team/invite", {"email": "New@Prairie.example", "role": "dispatcher"}
    )
    assert invited.status_code == 302
    run_jobs(app)
    with app.app_context():
        new = db.session.query(AdminUser).filter_by(email_key="new@prairie.example").one()
        assert (new.operator_id, new.partner_id, new.role) == (
            people["operator_id"],
            None,
            "dispatcher",
        )
        owner_id = db.session.query(AdminUser.id).filter_by(email=people["owner"]).scalar()
        viewer_id = db.session.query(AdminUser.id).filter_by(email=people["viewer"]).scalar()
    last = portal_post(client, f"/operator/team/{owner_id}/role", {"role": "viewer"})
    assert last.status_code == 302
    assert portal_post(client, f"/operator/team/{viewer_id}/role", {"role": "owner"})
    assert portal_post(client, f"/operator/team/{viewer_id}/remove").status_code == 302
    with app.app_context():
        owner = db.session.get(AdminUser, owner_id)
        assert owner.role == "owner"  # the last owner stayed an owner
        assert db.session.get(AdminUser, viewer_id) is None
        actions = [
            e.action
            for e in db.session.query(AuditLogEntry).filter_by(operator_id=people["operator_id"])
        ]
        assert "admin.role_changed" in actions and "admin.removed" in actions


def test_an_invited_teammate_sets_a_password_from_the_portal_link(app):
    client, people = _signed_in(app)
    portal_post(
        client, "/operator/team/invite", {"email": "joiner@prairie.example", "role": "viewer"}
    )
    run_jobs(app)
    from widget_server.models import OutboundEmail
    from widget_server.notifications.admin_emails import render_admin_email

    with app.app_context(), app.test_request_context():
        email = db.session.query(OutboundEmail).filter_by(kind="admin_invite").one()
        assert email.operator_id == people["operator_id"] and email.partner_id is None
        joiner = db.session.query(AdminUser).filter_by(email="joiner@prairie.example").one()
        rendered = render_admin_email(email, joiner)
    assert "operator portal" in rendered.subject
    link = next(word for word in rendered.text.split() if "/operator/password/invite/" in word)
    path = link[link.index("/operator/") :]
    browser = app.test_client()
    assert browser.get(path).status_code == 303
    form = "/operator/password/invite"
    chosen = portal_post(
        browser,
        form,
        {"password": "a brand new password", "confirm": "a brand new password"},
        page=form,
    )
    assert chosen.status_code == 302
    assert (
        portal_sign_in(browser, "joiner@prairie.example", "a brand new password").status_code == 302
    )
    assert PASSWORD


def test_two_step_sign_in_set_up_and_used_on_the_portal(app):
    from tests.functional.admin.test_two_step import _CODES, _SECRET, code_at

    client, people = _signed_in(app, "viewer")
    here = "/operator/account/two-step"
    assert portal_post(client, f"{here}/start", page=here).status_code == 302
    page = client.get(here).get_data(as_text=True)
    secret = _SECRET.search(page).group(1).replace(" ", "")
    shown = portal_post(client, f"{here}/confirm", {"code": code_at(secret)}, page=here)
    assert shown.status_code == 200
    codes = _CODES.findall(shown.get_data(as_text=True))
    assert len(set(codes)) == 10
    portal_post(client, "/operator/logout")
    again = app.test_client()
    first = portal_sign_in(again, people["viewer"])
    assert first.status_code == 302 and first.headers["Location"] == "/operator/login/code"
    assert again.get("/operator/").status_code == 302  # not signed in before the code
    wrong = portal_post(
        again, "/operator/login/code", {"code": "000000"}, page=first.headers["Location"]
    )
    assert wrong.status_code == 401
    right = portal_post(
        again, "/operator/login/code", {"code": codes[0]}, page="/operator/login/code"
    )
    assert right.status_code == 302
    assert again.get("/operator/").status_code == 200
    with app.app_context():
        actions = {
            e.action
            for e in db.session.query(AuditLogEntry).filter_by(operator_id=people["operator_id"])
        }
        assert {"admin.two_step_enabled", "admin.recovery_code_used"} <= actions


def test_ones_own_account_on_the_portal_password_language_and_sessions(app):
    """The console's account page, on the portal: the menu's email leads there; a password
    change needs the current one and signs out; the language is kept; sign out everywhere
    ends the other browsers' sessions too."""
    client, people = _signed_in(app, "dispatcher")
    home = client.get("/operator/").get_data(as_text=True)
    assert 'href="/operator/account"' in home
    page = client.get("/operator/account").get_data(as_text=True)
    assert people["dispatcher"] in page and "Prairie Coach" in page
    assert "Language of the portal" in page and 'action="/operator/account/language"' in page
    new = PASSWORD + " and more"
    fields = {"current": "not it at all", "password": new, "confirm": new}
    wrong = portal_post(client, "/operator/account", fields, page="/operator/account")
    assert wrong.status_code == 422
    assert "This is not your current password." in wrong.get_data(as_text=True)

    saved = portal_post(client, "/operator/account/language", {"locale": "es"})
    assert saved.status_code == 302 and saved.headers["Location"] == "/operator/account"
    spanish = client.get("/operator/account", headers={"Accept-Language": "en"})
    assert "El idioma del portal está guardado." in spanish.get_data(as_text=True)
    refused = portal_post(client, "/operator/account/language", {"locale": "de"})
    assert refused.status_code == 422

    other_browser = app.test_client()
    assert portal_sign_in(other_browser, people["dispatcher"]).status_code == 302
    fields = {"current": PASSWORD, "password": new, "confirm": new}
    changed = portal_post(client, "/operator/account", fields, page="/operator/account")
    assert changed.status_code == 302 and changed.headers["Location"] == "/operator/login"
    assert client.get("/operator/").status_code == 302
    assert other_browser.get("/operator/").status_code == 302  # every session ended
    assert portal_sign_in(client, people["dispatcher"], new).status_code == 302
    ended = portal_post(client, "/operator/account/sign-out-everywhere")
    assert ended.status_code == 302 and client.get("/operator/").status_code == 302
    with app.app_context():
        actions = set(
            db.session.scalars(
                select(AuditLogEntry.action).where(
                    AuditLogEntry.operator_id == people["operator_id"]
                )
            )
        )
    assert {"admin.password_set", "admin.language_set"} <= actions, actions
