"""Erasing a fan reaches the trip-day data too: their place in a waitlist ends (a held offer
passes to the next in line) and their stop requests lose the person but keep the count."""

from tests.api_helpers import ApiSession, issue_token
from tests.conftest import run_jobs
from tests.tripday.helpers import add_union_station, confirmed_trip, emails_of_kind
from tests.tripday.test_stop_requests import ask
from tests.tripday.test_waitlist import entries, full_trip, join, trip_seats  # noqa: F401
from widget_server.domain.privacy import ERASED_EMAIL


def test_erasing_a_fan_with_an_offer_passes_it_on(app, client, full_trip):  # noqa: F811
    ids = full_trip
    for name in ("Ana", "Ben", "Cy"):
        assert join(client, ids, name).status_code == 201
    api = ApiSession(client, issue_token(app, ids["partner_id"]))
    api.post(f"/v1/pledges/{ids['paid'][0]}/cancel")
    run_jobs(app)
    assert [e.status for e in entries(app, ids["trip"])] == ["offered", "waiting", "waiting"]

    exported = api.get("/v1/fans/export", query_string={"email": "ANA@example.com"}).json
    assert [(e["name"], e["status"]) for e in exported["waitlist_entries"]] == [("Ana", "offered")]
    erased = api.post("/v1/fans/erase", json={"email": "ana@example.com"})
    assert erased.status_code == 200 and erased.json["waitlist_entries"] == 1
    run_jobs(app)
    ana, ben, cy = entries(app, ids["trip"])
    assert (ana.name, ana.email, ana.status) == ("[erased]", ERASED_EMAIL, "declined")
    assert ben.status == "offered"  # the held seat went to the next in line, not to a stranger
    assert trip_seats(app, ids["trip"]) == (7, 1)
    # A fan still waiting leaves the line.
    assert api.post("/v1/fans/erase", json={"email": "cy@example.com"}).status_code == 200
    assert [e.status for e in entries(app, ids["trip"])] == ["declined", "offered", "closed"]
    assert (
        api.get("/v1/fans/export", query_string={"email": "ana@example.com"}).json[
            "waitlist_entries"
        ]
        == []
    )


def test_erasing_a_fan_keeps_the_count_of_their_stop_request(app, client):
    ids = confirmed_trip(app)
    trip_id = ids["trip"]
    for fan in ("dee@example.com", "eve@example.com"):
        assert ask(client, trip_id, "Union Station", fan).status_code == 201
    api = ApiSession(client, issue_token(app, ids["partner_id"]))
    exported = api.get("/v1/fans/export", query_string={"email": "dee@example.com"}).json
    assert [r["place"] for r in exported["stop_requests"]] == ["Union Station"]
    for fan in ("dee@example.com", "eve@example.com"):
        erased = api.post("/v1/fans/erase", json={"email": fan})
        assert erased.status_code == 200 and erased.json["stop_requests"] == 1
    places = api.get(f"/v1/trips/{trip_id}/stop_requests").json["data"]
    assert [(p["place"], p["count"]) for p in places] == [("Union Station", 2)]
    again = api.get("/v1/fans/export", query_string={"email": "dee@example.com"}).json
    assert again["stop_requests"] == [] and again["waitlist_entries"] == []

    # The partner adds the stop: the erased fans are not written to.
    added = add_union_station(app, api, trip_id)
    assert added.status_code == 201, added.json
    assert emails_of_kind(app, "stop_added_asked") == []
