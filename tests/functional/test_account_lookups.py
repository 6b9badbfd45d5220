"""Forgot-password, "email me my link" and team invites tell nobody who has an account or a
pledge (issue 19): the same answer and the same SQL in the request, the lookup in a job."""

from __future__ import annotations

import re
from contextlib import contextmanager

from sqlalchemy import event, select

from tests.admin_helpers import csrf, make_admin, sign_in, team
from tests.conftest import run_jobs
from tests.factories import make_partner, make_trip
from tests.tripday.helpers import fan_request
from widget_server.domain.pledges import recording
from widget_server.extensions import db
from widget_server.models import OutboundEmail

_LITERALS = re.compile(r"'[^']*'|\b\d+\b")


@contextmanager
def statements(app):
    """The SQL the app runs meanwhile (parameters left out: only what is queried counts)."""
    seen: list[str] = []
    engine = app.extensions["ridepledge.engine"]

    def record(_conn, _cursor, statement, _params, _context, _many):
        seen.append(_LITERALS.sub("?", statement))

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)


def _touches(sql: list[str], table: str) -> bool:
    return any(re.search(rf"\b{table}\b", statement) for statement in sql)


def test_forgot_password_does_the_same_work_for_any_email(app):
    people = team(app)
    answers, work = [], []
    for email in (people["owner"], "nobody@nowhere.example"):
        client = app.test_client()
        token = csrf(client, "/admin/password/forgot")
        with statements(app) as sql:
            answer = client.post(
                "/admin/password/forgot", data={"email": email, "csrf_token": token}
            )
        answers.append((answer.status_code, answer.get_data(as_text=True).replace(token, "")))
        work.append(sql)
    assert answers[0][0] == 200 and answers[0] == answers[1]
    assert work[0] == work[1]
    assert not _touches(work[0], "admin_users")
    run_jobs(app)
    with app.app_context():
        sent = db.session.scalars(select(OutboundEmail.to_address)).all()
    assert sent == [people["owner"]]


def test_email_me_my_link_does_the_same_work_for_any_email(app, client):
    provider = app.extensions["ridepledge.payments"]
    with app.app_context(), db.transaction() as session:
        partner = make_partner(session, "kc-chiefs")
        trip = make_trip(session, partner)
        recording.create_pledge(session, provider, partner, trip.id, fan_request(trip, "Pat Fan"))
        trip_id = trip.id
    run_jobs(app)
    with app.app_context():
        before = len(db.session.scalars(select(OutboundEmail)).all())
    url = f"/w/kc-chiefs/api/trips/{trip_id}/manage_links"
    work, answers = [], []
    for email in ("pat@example.com", "nobody@example.com"):
        with statements(app) as sql:
            answer = client.post(url, json={"email": email})
        answers.append((answer.status_code, answer.json))
        work.append(sql)
    assert answers[0] == answers[1] and answers[0][0] == 202
    assert work[0] == work[1]
    assert not _touches(work[0], "pledges")
    run_jobs(app)
    with app.app_context():
        links = db.session.scalars(
            select(OutboundEmail.to_address).where(OutboundEmail.kind == "manage_link")
        ).all()
        assert len(db.session.scalars(select(OutboundEmail)).all()) == before + 1
    assert links == ["pat@example.com"]


def test_a_team_invite_does_the_same_work_whoever_has_an_account(app):
    people = team(app, roles=("owner", "editor"))
    with app.app_context(), db.transaction() as session:
        other = make_partner(session, "other-club")
        make_admin(session, other, "theirs@other.example", "owner")
    owner = app.test_client()
    sign_in(owner, people["owner"])
    work = []
    for email in ("theirs@other.example", "fresh@kc-chiefs.example"):
        token = csrf(owner, "/admin/team")
        with statements(app) as sql:
            answer = owner.post(
                "/admin/team/invite", data={"email": email, "role": "viewer", "csrf_token": token}
            )
        assert answer.status_code == 302
        work.append(sql)
    assert work[0] == work[1]
    assert not any("admin_users.email_key" in statement for statement in work[0])
