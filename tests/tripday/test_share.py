"""Share and group: a fan's share link brings friends to the same trip and stop, and their
pledges record who brought them (`referred_by`), visible to the partner per fan and per trip."""

import csv
import io
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import select

from tests.api_helpers import ApiSession, issue_token
from tests.factories import make_partner, make_trip
from tests.forgery import tampered
from tests.widget_helpers import form_fields, submit_form
from widget_server.domain.referrals import (
    ForgedReferral,
    referral_code,
    referring_pledge_id,
    share_url,
)
from widget_server.extensions import db
from widget_server.ids import new_id
from widget_server.models import Partner, Pledge, WebhookMessage
from widget_server.webhooks import endpoints

SECRET = "a-secret-for-referral-codes"


@pytest.fixture
def world(app, client):
    """kc-chiefs with two open trips (two stops each), another partner with one, an API session."""
    with app.app_context(), db.transaction() as session:
        partner = make_partner(session, "kc-chiefs", allowed_origins=["https://www.chiefs.example"])
        other = make_partner(session, "stl-blues")
        trip = make_trip(session, partner, capacity=10, min_riders=5)
        second = make_trip(session, partner, capacity=10, min_riders=5)
        foreign = make_trip(session, other, capacity=10, min_riders=5)
        ids = {
            "partner": partner.id,
            "trip": trip.id,
            "stops": [stop.id for stop in trip.stops],
            "second": second.id,
            "second_stop": second.stops[0].id,
            "foreign": foreign.id,
            "foreign_stop": foreign.stops[0].id,
        }
    ids["api"] = ApiSession(client, issue_token(app, ids["partner"]))
    return ids


def pledge(client, trip_id, stop_id, email, *, slug="kc-chiefs", ref=None, seats=1):
    body = {
        "stop_id": stop_id,
        "seats": seats,
        "name": email.split("@")[0].title() + " Fan",
        "email": email,
        "payment_method": "pm_card_visa",
    }
    if ref is not None:
        body["ref"] = ref
    return client.post(f"/w/{slug}/api/trips/{trip_id}/pledges", json=body)


def ref_of(url: str) -> str:
    query = parse_qs(urlsplit(url).query)
    return (query.get("ref") or query["rp_ref"])[0]


def referred_by(app, pledge_id):
    with app.app_context():
        return db.session.get(Pledge, pledge_id).referred_by


# ---- the code ------------------------------------------------------------------------------


def test_a_code_names_its_pledge_and_nothing_forged_passes():
    pledge_id = new_id("plg")
    code = referral_code(SECRET, pledge_id)
    assert len(code) == 34 and pledge_id.removeprefix("plg_") in code
    assert code == referral_code(SECRET, pledge_id)  # the same link every time
    assert referring_pledge_id(SECRET, code) == pledge_id
    assert referring_pledge_id(SECRET, f"  {code.upper()} ") == pledge_id  # typed or shouted
    other = new_id("plg")
    swapped = other.removeprefix("plg_") + code[26:]  # another pledge under this MAC
    flipped = tampered(code)
    for forged in (
        swapped,
        flipped,
        code[:-1],
        code + "0",
        referral_code("another-secret", pledge_id),
        "",
        "x" * 34,
        "plg_" + code,
        "\x00" * 34,
        "ü" * 34,
        None,
        34,
    ):
        with pytest.raises(ForgedReferral) as caught:
            referring_pledge_id(SECRET, forged)
        assert caught.value.errors == {"ref": [caught.value.errors["ref"][0]]}


def test_the_share_link_goes_to_the_partners_page_when_it_has_one():
    pledge_id = new_id("plg")
    partner = Partner(slug="kc-chiefs", site_url=None)
    pledge = Pledge(id=pledge_id, trip_id="trp_x", stop_id="stp_y")
    public = share_url("https://rides.example", partner, pledge, SECRET)
    assert public.startswith("https://rides.example/t/kc-chiefs/trp_x?")
    assert parse_qs(urlsplit(public).query) == {
        "stop": ["stp_y"],
        "ref": [referral_code(SECRET, pledge_id)],
    }
    partner.site_url = "https://www.chiefs.example/rides?season=2030#widget"
    on_site = urlsplit(share_url("https://rides.example", partner, pledge, SECRET))
    assert (on_site.netloc, on_site.path, on_site.fragment) == (
        "www.chiefs.example",
        "/rides",
        "widget",
    )
    assert parse_qs(on_site.query) == {
        "season": ["2030"],
        "rp": ["kc-chiefs"],
        "rp_trip": ["trp_x"],
        "rp_stop": ["stp_y"],
        "rp_ref": [referral_code(SECRET, pledge_id)],
    }


# ---- pledging by a share link --------------------------------------------------------------


def test_a_friend_pledging_by_the_share_link_is_recorded_and_counted(app, client, world):
    first = pledge(client, world["trip"], world["stops"][1], "ana@example.com")
    assert first.status_code == 201
    ana = first.json["pledge"]["id"]
    link = first.json["share_url"]
    assert urlsplit(link).path == f"/t/kc-chiefs/{world['trip']}"
    assert parse_qs(urlsplit(link).query)["stop"] == [world["stops"][1]]
    assert "ana" not in link.lower() and first.json["manage_url"].split("/")[-1] not in link

    friend = pledge(client, world["trip"], world["stops"][1], "bo@example.com", ref=ref_of(link))
    assert friend.status_code == 201, friend.json
    bo = friend.json["pledge"]["id"]
    assert referred_by(app, bo) == ana
    pledge(client, world["trip"], world["stops"][0], "cy@example.com", ref=ref_of(link), seats=2)

    api = world["api"]
    assert api.get(f"/v1/pledges/{bo}").json["referred_by"] == ana
    shown = api.get(f"/v1/pledges/{ana}").json
    assert (shown["referred_by"], shown["referrals"]) == (None, 2)
    listed = {p["id"]: p for p in api.get(f"/v1/pledges?trip_id={world['trip']}").json["data"]}
    assert listed[ana]["referrals"] == 2 and listed[bo]["referrals"] == 0
    assert listed[bo]["referred_by"] == ana

    manifest = api.get(f"/v1/trips/{world['trip']}/manifest").json
    assert (manifest["referred_pledges"], manifest["referred_seats"]) == (2, 3)
    riders = {r["pledge_id"]: r for stop in manifest["stops"] for r in stop["riders"]}
    assert (riders[ana]["referrals"], riders[ana]["referred_by"]) == (2, None)
    assert (riders[bo]["referrals"], riders[bo]["referred_by"]) == (0, ana)

    csv_text = api.get(
        f"/v1/trips/{world['trip']}/manifest", headers={"Accept": "text/csv"}
    ).get_data(as_text=True)
    rows = {row["pledge_id"]: row for row in csv.DictReader(io.StringIO(csv_text))}
    assert (rows[ana]["referrals"], rows[ana]["referred_by"]) == ("2", "")
    assert (rows[bo]["referrals"], rows[bo]["referred_by"]) == ("0", ana)

    # A friend who withdraws no longer counts as brought.
    with app.app_context(), db.transaction() as session:
        from widget_server.domain.pledges.fan_changes import withdraw_pledge

        withdraw_pledge(session, session.get(Pledge, bo))
    assert api.get(f"/v1/pledges/{ana}").json["referrals"] == 1


def test_a_forged_code_is_a_422_naming_ref_and_nothing_is_taken(app, client, world):
    ana = pledge(client, world["trip"], world["stops"][0], "ana@example.com")
    code = ref_of(ana.json["share_url"])
    forgeries = (tampered(code), "nonsense", "é" * 30, "a" * 64)
    for n, forged in enumerate(forgeries):
        answer = pledge(client, world["trip"], world["stops"][0], f"bo{n}@example.com", ref=forged)
        assert answer.status_code == 422, answer.json
        assert list(answer.json["errors"]) == ["ref"]
    too_long = pledge(client, world["trip"], world["stops"][0], "dee@example.com", ref="a" * 65)
    assert too_long.status_code == 422 and list(too_long.json["errors"]) == ["ref"]
    not_text = pledge(client, world["trip"], world["stops"][0], "eve@example.com", ref=["x"])
    assert not_text.status_code == 422 and list(not_text.json["errors"]) == ["ref"]
    with app.app_context():
        emails = db.session.scalars(select(Pledge.email).where(Pledge.trip_id == world["trip"]))
        assert list(emails) == ["ana@example.com"]
    # null and "" mean no code at all.
    body = {
        "stop_id": world["stops"][0],
        "seats": 1,
        "name": "Bo Fan",
        "email": "bo@example.com",
        "payment_method": "pm_card_visa",
        "ref": None,
    }
    null = client.post(f"/w/kc-chiefs/api/trips/{world['trip']}/pledges", json=body)
    assert null.status_code == 201 and referred_by(app, null.json["pledge"]["id"]) is None
    empty = pledge(client, world["trip"], world["stops"][0], "cy@example.com", ref="")
    assert empty.status_code == 201 and referred_by(app, empty.json["pledge"]["id"]) is None


def test_codes_of_another_trip_partner_or_the_same_fan_are_ignored(app, client, world):
    ana = pledge(client, world["trip"], world["stops"][0], "ana@example.com").json
    code = ref_of(ana["share_url"])
    other_trip = pledge(client, world["second"], world["second_stop"], "bo@example.com", ref=code)
    assert other_trip.status_code == 201
    assert referred_by(app, other_trip.json["pledge"]["id"]) is None
    foreign = pledge(
        client,
        world["foreign"],
        world["foreign_stop"],
        "bo@example.com",
        slug="stl-blues",
        ref=code,
    )
    assert foreign.status_code == 201  # nothing said about kc-chiefs' pledge either way
    assert referred_by(app, foreign.json["pledge"]["id"]) is None
    # Ana pledging again by her own link, even with her address written differently.
    herself = pledge(client, world["trip"], world["stops"][1], "ANA@Example.com", ref=code)
    assert herself.status_code == 201
    assert referred_by(app, herself.json["pledge"]["id"]) is None
    assert world["api"].get(f"/v1/pledges/{ana['pledge']['id']}").json["referrals"] == 0


def test_pledge_created_webhook_names_the_referrer(app, client, world):
    with app.app_context(), db.transaction() as session:
        endpoints.create_endpoint(
            session,
            session.get(Partner, world["partner"]),
            url=endpoints.CheckedUrl("http://127.0.0.1:9/ridepledge"),
            events=["pledge.created"],
            description="tests",
            settings=app.config["SETTINGS"],
            actor="test",
        )
    ana = pledge(client, world["trip"], world["stops"][0], "ana@example.com").json
    bo = pledge(
        client, world["trip"], world["stops"][0], "bo@example.com", ref=ref_of(ana["share_url"])
    )
    with app.app_context():
        payloads = {
            m.payload["data"]["id"]: m.payload["data"]
            for m in db.session.scalars(
                select(WebhookMessage).where(WebhookMessage.type == "pledge.created")
            )
        }
    assert payloads[bo.json["pledge"]["id"]]["referred_by"] == ana["pledge"]["id"]
    assert payloads[ana["pledge"]["id"]]["referred_by"] is None


# ---- pages: the public trip page, the pledge form, confirmation and manage pages ------------


def test_the_public_page_carries_the_stop_and_a_genuine_code_only(app, client, world):
    ana = pledge(client, world["trip"], world["stops"][1], "ana@example.com").json
    link = urlsplit(ana["share_url"])
    page = client.get(f"{link.path}?{link.query}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "data-shared-stop" in html
    code = ref_of(ana["share_url"])
    pledge_link = (
        f"/w/kc-chiefs/trips/{world['trip']}/pledge?locale=en"
        f"&amp;stop={world['stops'][1]}&amp;ref={code}"
    )
    assert pledge_link in html
    # The canonical URL and the JSON-LD offer stay the trip's own, without the friend's code.
    assert html.count(code) == 1

    forged = client.get(f"{link.path}?stop={world['stops'][1]}&ref={tampered(code)}")
    assert forged.status_code == 200 and "&amp;ref=" not in forged.get_data(as_text=True)
    garbage = client.get(f"{link.path}?stop=%00%ff&ref=" + "%E2%80%AE" * 40)
    assert garbage.status_code == 200 and "data-shared-stop" not in garbage.get_data(as_text=True)


def test_the_pledge_form_preselects_the_stop_and_records_the_referral(app, client, world):
    ana = pledge(client, world["trip"], world["stops"][1], "ana@example.com").json
    code = ref_of(ana["share_url"])
    url = f"/w/kc-chiefs/trips/{world['trip']}/pledge?stop={world['stops'][1]}&ref={code}"
    html = client.get(url).get_data(as_text=True)
    assert f'value="{world["stops"][1]}" required\n               checked' in html
    _action, hidden = form_fields(html, "/pledge")
    assert hidden["ref"] == code
    answer = submit_form(
        client,
        url,
        "/pledge",
        {
            "stop_id": world["stops"][1],
            "seats": "1",
            "name": "Bo Fan",
            "email": "bo@example.com",
            "card_number": "4242424242424242",
        },
    )
    assert answer.status_code == 303, answer.get_data(as_text=True)
    with app.app_context():
        bo = db.session.scalar(select(Pledge).where(Pledge.email == "bo@example.com"))
        assert bo.referred_by == ana["pledge"]["id"]
    confirmation = client.get(answer.headers["Location"]).get_data(as_text=True)
    assert (
        "data-share-link" in confirmation and f"/t/kc-chiefs/{world['trip']}?stop=" in confirmation
    )


def test_a_damaged_code_on_the_form_is_dropped_and_the_fan_still_pledges(app, client, world):
    ana = pledge(client, world["trip"], world["stops"][0], "ana@example.com").json
    code = ref_of(ana["share_url"])
    forged_url = f"/w/kc-chiefs/trips/{world['trip']}/pledge?ref={tampered(code, 2)}"
    assert 'name="ref"' not in client.get(forged_url).get_data(as_text=True)
    # A form tampered with after it was served: 422 in words, and the form sent again pledges.
    url = f"/w/kc-chiefs/trips/{world['trip']}/pledge?ref={code}"
    fields = {
        "stop_id": world["stops"][0],
        "seats": "1",
        "name": "Bo Fan",
        "email": "bo@example.com",
        "card_number": "4242424242424242",
        "ref": tampered(code, 2),
    }
    refused = submit_form(client, url, "/pledge", fields)
    assert refused.status_code == 422
    html = refused.get_data(as_text=True)
    assert "share link you came by is damaged" in html and 'name="ref"' not in html
    action, hidden = form_fields(html, "/pledge")
    fields.pop("ref")
    assert client.post(action, data={**hidden, **fields}).status_code == 303


def test_the_manage_page_shows_the_share_link_while_the_trip_sells(app, client, world):
    ana = pledge(client, world["trip"], world["stops"][0], "ana@example.com").json
    manage = urlsplit(ana["manage_url"]).path
    html = client.get(manage).get_data(as_text=True)
    assert "data-share-link" in html and ref_of(ana["share_url"]) in html
    api_view = client.get(manage.replace("/w/kc-chiefs/", "/w/kc-chiefs/api/")).json
    assert api_view["share_url"] == ana["share_url"]
    with app.app_context(), db.transaction() as session:
        from widget_server.domain.pledges.fan_changes import withdraw_pledge

        withdraw_pledge(session, session.get(Pledge, ana["pledge"]["id"]))
    assert "data-share-link" not in client.get(manage).get_data(as_text=True)
    assert (
        client.get(manage.replace("/w/kc-chiefs/", "/w/kc-chiefs/api/")).json["share_url"] is None
    )


# ---- the partner's page: site_url ----------------------------------------------------------


def test_site_url_is_a_page_of_an_allowed_origin(app, client, world):
    api = world["api"]
    assert api.get("/v1/partner").json["site_url"] is None
    for bad in (
        "https://evil.example/rides",
        "http://www.chiefs.example/rides",
        "https://www.chiefs.example/rides#top",
        "javascript:alert(1)",
        "rides",
        "https://www.chiefs.example/\x00",
        "https://" + "a" * 2000,
        12,
    ):
        answer = api.patch("/v1/partner", json={"site_url": bad})
        assert answer.status_code == 422, (bad, answer.json)
        assert "site_url" in answer.json["errors"], answer.json
    good = api.patch("/v1/partner", json={"site_url": "https://www.chiefs.example/rides"})
    assert good.status_code == 200 and good.json["site_url"] == "https://www.chiefs.example/rides"

    ana = pledge(client, world["trip"], world["stops"][1], "ana@example.com").json
    link = urlsplit(ana["share_url"])
    assert (link.scheme, link.netloc, link.path) == ("https", "www.chiefs.example", "/rides")
    query = parse_qs(link.query)
    assert query["rp"] == ["kc-chiefs"] and query["rp_trip"] == [world["trip"]]
    assert query["rp_stop"] == [world["stops"][1]]
    bo = pledge(client, world["trip"], world["stops"][1], "bo@example.com", ref=query["rp_ref"][0])
    assert referred_by(app, bo.json["pledge"]["id"]) == ana["pledge"]["id"]

    # Removing the origin the page is on is refused while site_url points there.
    dropped = api.patch("/v1/partner", json={"allowed_origins": ["https://other.example"]})
    assert dropped.status_code == 422 and "site_url" in dropped.json["errors"]
    cleared = api.patch("/v1/partner", json={"site_url": None})
    assert cleared.status_code == 200 and cleared.json["site_url"] is None


def test_partner_files_take_site_url(tmp_path):
    from widget_server.domain.partners import load_partner_files

    (tmp_path / "kc.toml").write_text(
        'slug = "kc"\nname = "KC"\nallowed_origins = ["https://kc.example"]\n'
        'site_url = "https://kc.example/rides"\n'
    )
    (tmp_path / "stl.toml").write_text(
        'slug = "stl"\nname = "STL"\nsite_url = "https://stl.example/rides"\n'
    )
    partners, problems = load_partner_files(tmp_path)
    assert [p["site_url"] for p in partners] == ["https://kc.example/rides"]
    assert [(p.path.name, p.field) for p in problems] == [("stl.toml", "site_url")]


def test_the_emails_carry_the_share_link(app, client, world):
    from tests.tripday.helpers import emails_of_kind
    from widget_server.notifications.render import render_email

    ana = pledge(client, world["trip"], world["stops"][0], "ana@example.com").json
    (email,) = emails_of_kind(app, "pledge_received")
    with app.app_context():
        rendered = render_email(email, db.session.get(Pledge, ana["pledge"]["id"]))
    assert ana["share_url"] in rendered.text
    assert ana["share_url"].replace("&", "&amp;") in rendered.html


def test_many_pledges_list_with_their_counts_in_one_query_per_page(app, client, world):
    """The list's `referrals` is a subquery of the page's query, not a query per pledge."""
    from sqlalchemy import event

    ana = pledge(client, world["trip"], world["stops"][0], "ana@example.com").json
    for n in range(4):
        pledge(
            client,
            world["trip"],
            world["stops"][0],
            f"f{n}@example.com",
            ref=ref_of(ana["share_url"]),
        )
    statements = []
    with app.app_context():
        engine = db.engine

    def count(*_args, **_kwargs):
        statements.append(1)

    event.listen(engine, "before_cursor_execute", count)
    try:
        listed = world["api"].get("/v1/pledges?limit=10").json["data"]
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert sorted(p["referrals"] for p in listed) == [0, 0, 0, 0, 4]
    assert len(statements) < 8, len(statements)
