"""Rate limits that stop abuse without turning away a crowd behind one address (issue 13):
every test client here is one address (127.0.0.1), like a stadium's Wi-Fi."""

from __future__ import annotations

import secrets

import pytest

from tests.api_helpers import ApiSession
from tests.factories import make_partner, make_trip
from tests.functional.test_widget_pages import fan_input
from tests.widget_helpers import submit_form
from widget_server.domain.clients import create_client
from widget_server.extensions import db
from widget_server.models import Pledge, Trip

GRANT = {"grant_type": "client_credentials"}


@pytest.fixture
def stadium(app):
    """A big open trip, as on game day."""
    with app.app_context(), db.transaction() as session:
        partner = make_partner(session, "kc-chiefs")
        trip = make_trip(session, partner, capacity=400, min_riders=399)
        return {"trip": trip.id, "stops": [s.id for s in trip.stops], "partner": partner.id}


def pledge_body(stadium, email, payment_method="pm_card_visa", seats=1):
    return {
        "stop_id": stadium["stops"][0],
        "seats": seats,
        "name": "A Fan",
        "email": email,
        "payment_method": payment_method,
    }


def pledge(client, stadium, email, **kwargs):
    url = f"/w/kc-chiefs/api/trips/{stadium['trip']}/pledges"
    return client.post(url, json=pledge_body(stadium, email, **kwargs))


def test_300_fans_behind_one_address_all_get_their_seats(app, client, stadium):
    # No wall-clock budget here (a loaded machine stretches it): the 300 requests take a few
    # seconds, well inside the one-minute window whose budget (600) they must all fit in.
    codes = [pledge(client, stadium, f"fan{index}@example.com").status_code for index in range(280)]
    form = f"/w/kc-chiefs/trips/{stadium['trip']}/pledge"
    team = {"stops": stadium["stops"] * 2}
    for index in range(20):  # some without JavaScript: the same budget, no trouble
        data = fan_input(team, email=f"form{index}@example.com", seats="1")
        codes.append(submit_form(client, form, "/pledge", data).status_code)
    assert codes == [201] * 280 + [303] * 20
    with app.app_context():
        assert db.session.get(Trip, stadium["trip"]).seats_pledged == 300
        assert db.session.query(Pledge).count() == 300


def test_a_thousand_widgets_polling_one_trip_keep_working(app, client, stadium):
    app.config["RATELIMIT_WIDGET_READ"] = "100 per minute"  # far below a thousand
    url = f"/w/kc-chiefs/api/trips/{stadium['trip']}"
    first = client.get(url)
    etag = first.headers["ETag"]
    polls = [client.get(url, headers={"If-None-Match": etag}).status_code for _ in range(1000)]
    assert polls == [304] * 1000  # an unchanged trip costs no read budget
    assert pledge(client, stadium, "new@example.com").status_code == 201
    changed = client.get(url, headers={"If-None-Match": etag})
    assert changed.status_code == 200 and changed.json["seats_pledged"] == 1


def test_reads_that_return_data_are_still_budgeted_per_address(app, client, stadium):
    app.config["RATELIMIT_WIDGET_READ"] = "3 per minute"
    url = f"/w/kc-chiefs/api/trips/{stadium['trip']}"
    assert [client.get(url).status_code for _ in range(3)] == [200] * 3
    limited = client.get("/w/kc-chiefs/api/events")  # one budget over every read
    assert limited.status_code == 429 and int(limited.headers["Retry-After"]) > 0


def test_revalidations_that_return_data_share_the_read_budget(app, client, stadium):
    """A poll with an ETag is checked against the same budget as a plain read and counted
    only when it returns data (the trip changed), whichever way the budget is consumed."""
    app.config["RATELIMIT_WIDGET_READ"] = "3 per minute"
    url = f"/w/kc-chiefs/api/trips/{stadium['trip']}"
    etag = client.get(url).headers["ETag"]  # 1 of 3
    for _ in range(20):  # free
        assert client.get(url, headers={"If-None-Match": etag}).status_code == 304
    assert pledge(client, stadium, "changes-it@example.com").status_code == 201
    changed = client.get(url, headers={"If-None-Match": etag})  # 2 of 3: data again
    assert changed.status_code == 200
    assert client.get(url).status_code == 200  # 3 of 3
    over = client.get(url, headers={"If-None-Match": changed.headers["ETag"]})
    assert over.status_code == 429 and int(over.headers["Retry-After"]) > 0
    assert "X-RateLimit-Limit" in over.headers


def test_one_email_posting_a_burst_is_limited(app, client, stadium):
    codes = [pledge(client, stadium, "bot@example.com").status_code for _ in range(8)]
    assert codes[:5] == [201] * 5 and codes[5:] == [429] * 3
    limited = pledge(client, stadium, "BOT@Example.com")  # the same fan, however written
    assert limited.status_code == 429
    assert limited.mimetype == "application/problem+json"
    assert int(limited.headers["Retry-After"]) > 0
    # The fan budget is shared with "request a trip", and other fans are not affected.
    demand = {"event_id": _event_id(app, stadium), "origin": "Topeka", "email": "bot@example.com"}
    assert client.post("/w/kc-chiefs/api/demand", json=demand).status_code == 429
    assert pledge(client, stadium, "someone-else@example.com").status_code == 201


def test_plus_addressing_does_not_get_around_the_fan_budget(app, client, stadium):
    """Issue 19: bot+1@, bot+2@... are one fan to the per-fan limit."""
    codes = [pledge(client, stadium, f"bot+{n}@example.com").status_code for n in range(7)]
    assert codes[:5] == [201] * 5 and codes[5:] == [429] * 2
    assert pledge(client, stadium, "bot@example.com").status_code == 429


def test_one_card_posting_a_burst_is_limited(app, client, stadium):
    # A made-up PaymentMethod id, as a card tester would send: declined, then limited.
    card = "pm_1" + secrets.token_hex(8)
    codes = [
        pledge(client, stadium, f"tester{index}@example.com", payment_method=card).status_code
        for index in range(7)
    ]
    assert codes == [422] * 5 + [429] * 2
    # Stripe's shared test cards are not one card: fans using them are not limited together.
    assert all(
        pledge(client, stadium, f"visa{index}@example.com").status_code == 201 for index in range(8)
    )


def test_the_html_form_and_the_json_api_share_one_write_budget(app, client, stadium):
    app.config["RATELIMIT_WIDGET_WRITE"] = "4 per minute"
    form = f"/w/kc-chiefs/trips/{stadium['trip']}/pledge"
    team = {"stops": stadium["stops"] * 2}
    codes = [pledge(client, stadium, f"j{index}@example.com").status_code for index in range(2)]
    for index in range(2):
        data = fan_input(team, email=f"f{index}@example.com", seats="1")
        codes.append(submit_form(client, form, "/pledge", data).status_code)
    assert codes == [201, 201, 303, 303]
    assert pledge(client, stadium, "late@example.com").status_code == 429
    data = fan_input(team, email="later@example.com", seats="1")
    assert submit_form(client, form, "/pledge", data).status_code == 429


def _event_id(app, stadium) -> str:
    with app.app_context():
        return db.session.get(Trip, stadium["trip"]).event_id


def _client(app, partner_id: str) -> tuple[str, str]:
    from widget_server.models import Partner

    with app.app_context(), db.transaction() as session:
        client, secret = create_client(
            session, session.get(Partner, partner_id), "events:read", "t", actor="test"
        )
        return client.id, secret


def _token(client, credentials) -> str:
    response = client.post("/oauth/token", data=GRANT, auth=credentials)
    assert response.status_code == 200, response.json
    return response.json["access_token"]


def test_v1_limits_count_per_client_not_per_token(app, client, stadium):
    app.config["RATELIMIT_API"] = "3 per minute"
    credentials = _client(app, stadium["partner"])
    first = ApiSession(client, _token(client, credentials))
    second = ApiSession(client, _token(client, credentials))  # another token, same client
    assert [first.get("/v1/events").status_code for _ in range(2)] == [200, 200]
    assert second.get("/v1/events").status_code == 200
    limited = second.get("/v1/events")
    assert limited.status_code == 429 and int(limited.headers["Retry-After"]) > 0
    other = ApiSession(client, _token(client, _client(app, stadium["partner"])))
    assert other.get("/v1/events").status_code == 200


def test_v1_requests_with_bogus_tokens_are_limited_per_address(app, client, stadium):
    app.config["RATELIMIT_API_UNAUTHENTICATED"] = "3 per minute"
    bogus = [
        client.get("/v1/events", headers={"Authorization": f"Bearer {secrets.token_hex(16)}"})
        for _ in range(3)
    ]
    assert [response.status_code for response in bogus] == [401] * 3
    assert client.get("/v1/events").status_code == 429  # no token at all: the same budget
    # A valid client is counted on its own budget.
    api = ApiSession(client, _token(client, _client(app, stadium["partner"])))
    assert api.get("/v1/events").status_code == 200


def test_oauth_token_is_limited_per_client_id(app, client, stadium):
    app.config["RATELIMIT_OAUTH_CLIENT"] = "3 per minute"
    client_id, secret = _client(app, stadium["partner"])
    wrong = [
        client.post("/oauth/token", data=GRANT, auth=(client_id, "wrong")).status_code
        for _ in range(3)
    ]
    assert wrong == [401] * 3
    # Limited, even with the right secret or through the form instead of HTTP Basic.
    assert client.post("/oauth/token", data=GRANT, auth=(client_id, secret)).status_code == 429
    form = {**GRANT, "client_id": client_id, "client_secret": secret}
    assert client.post("/oauth/token", data=form).status_code == 429
    assert client.post("/oauth/introspect", data=form).status_code == 429
    # Another client from the same address is not.
    assert _token(client, _client(app, stadium["partner"]))


def test_oauth_token_is_limited_per_address(app, client, stadium):
    app.config["RATELIMIT_OAUTH"] = "3 per minute"
    codes = [
        client.post("/oauth/token", data=GRANT, auth=(f"cli_{n}", "x")).status_code
        for n in range(4)
    ]
    assert codes == [401, 401, 401, 429]
    other_address = client.post(
        "/oauth/token",
        data=GRANT,
        auth=("cli_9", "x"),
        environ_base={"REMOTE_ADDR": "192.0.2.7"},
    )
    assert other_address.status_code == 401


def test_ipv6_clients_count_by_their_slash_64(app):
    from widget_server.ratelimits import client_address

    with app.test_request_context(environ_base={"REMOTE_ADDR": "2001:db8:1:2:aaaa::1"}):
        first = client_address()
    with app.test_request_context(environ_base={"REMOTE_ADDR": "2001:db8:1:2:bbbb::9"}):
        assert client_address() == first == "2001:db8:1:2::/64"
    with app.test_request_context(environ_base={"REMOTE_ADDR": "::ffff:192.0.2.1"}):
        assert client_address() == "192.0.2.1"


def test_sign_in_limits_count_per_account_and_per_address(settings, migrated_engine):
    from tests.conftest import empty_all_tables
    from widget_server import create_app
    from widget_server.ratelimits import sign_in_limits

    app = create_app(
        settings, RATELIMIT_SIGN_IN="5 per minute", RATELIMIT_SIGN_IN_ACCOUNT="2 per minute"
    )

    @sign_in_limits
    def sign_in():
        return "wrong password", 401

    app.add_url_rule("/test-sign-in", "test_sign_in", sign_in, methods=["POST"])
    try:
        client = app.test_client()
        post = lambda email: client.post("/test-sign-in", data={"email": email}).status_code  # noqa: E731
        assert [post("owner@team.example") for _ in range(3)] == [401, 401, 429]
        assert post("OWNER@team.example") == 429  # the same account
        # Five tries from one address in all (the refused ones were not counted), then none.
        assert [post(f"u{n}@team.example") for n in range(4)] == [401, 401, 401, 429]
    finally:
        app.extensions["ridepledge.engine"].dispose()
        empty_all_tables(migrated_engine)
