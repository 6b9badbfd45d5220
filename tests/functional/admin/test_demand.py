"""The demand page: requests per origin for each event, most asked first, as an SVG chart and
a table with the same numbers; "start a draft trip from here" for editors only; other
partners' events are 404."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import pytest

from tests.admin_helpers import sign_in, team
from tests.factories import make_demand, make_event, make_partner, make_trip
from widget_server.extensions import db
from widget_server.models import Partner


@pytest.fixture
def demand(app):
    people = team(app, roles=("owner", "editor", "developer", "viewer"))
    with app.app_context(), db.transaction() as session:
        partner = session.get(Partner, people["partner_id"])
        game = make_event(session, partner, title="Chiefs vs. Raiders")
        other = make_event(session, partner, title="Chiefs vs. Broncos")
        make_demand(session, partner, game, "Springfield", 3)
        make_demand(session, partner, game, "Topeka", 5)
        make_demand(session, partner, game, "St. Joseph", 1)
        make_demand(session, partner, other, "Lawrence", 2)
        make_trip(session, partner, game, origin={"name": "Topeka", "region": "KS"})
        theirs = make_partner(session, "team-b")
        their_event = make_event(session, theirs, title="Their Game")
        make_demand(session, theirs, their_event, "Secret Town", 4)
        ids = {"game": game.id, "other": other.id, "theirs": their_event.id}
    return {**people, **ids}


def _svg(page: str) -> ET.Element:
    found = re.search(r'<svg class="demand-chart".*?</svg>', page, re.S)
    assert found, "no chart"
    return ET.fromstring(found.group(0))  # noqa: S314  # our own page


def test_requests_per_origin_most_asked_first_with_a_chart_and_a_table(app, client, demand):
    sign_in(client, demand["owner"])
    page = client.get(f"/admin/demand?event={demand['game']}").get_data(as_text=True)
    assert "Chiefs vs. Broncos</h2>" not in page  # filtered to one event
    rows = re.findall(r'<th scope="row">([^<]+)</th>\s*<td>(\d+)</td>', page)
    assert rows == [("Topeka", "5"), ("Springfield", "3"), ("St. Joseph", "1")]
    svg = _svg(page)
    ns = {"s": "http://www.w3.org/2000/svg"}
    assert svg.get("role") == "img"
    title, desc = svg.find("s:title", ns), svg.find("s:desc", ns)
    assert svg.get("aria-labelledby") == f"{title.get('id')} {desc.get('id')}"
    assert "Topeka 5, Springfield 3, St. Joseph 1." in desc.text
    labels = [text.text for text in svg.findall("s:text", ns)]
    assert labels == ["Topeka: 5", "Springfield: 3", "St. Joseph: 1"]
    widths = [float(rect.get("width").rstrip("%")) for rect in svg.findall("s:rect", ns)]
    assert widths == [100.0, 60.0, 20.0]
    served = [rect.get("class") for rect in svg.findall("s:rect", ns)]
    assert served == ["bar served", "bar", "bar"]  # Topeka has a trip
    assert "has a trip" in page


def test_every_event_with_requests_is_listed_without_a_filter(app, client, demand):
    sign_in(client, demand["viewer"])
    page = client.get("/admin/demand").get_data(as_text=True)
    assert "Chiefs vs. Raiders</h2>" in page and "Chiefs vs. Broncos</h2>" in page
    assert page.count('class="demand-chart"') == 2
    assert "Secret Town" not in page and "Their Game" not in page
    assert 'href="/admin/demand"' in page  # in the navigation


@pytest.mark.parametrize("role", ["owner", "editor"])
def test_start_a_draft_trip_from_an_origin(app, client, demand, role):
    sign_in(client, demand[role])
    page = client.get(f"/admin/demand?event={demand['game']}").get_data(as_text=True)
    link = re.search(r'href="([^"]+origin=Springfield)"', page).group(1)
    assert link == f"/admin/events/{demand['game']}/trips/new?origin=Springfield"
    form = client.get(link.replace("&amp;", "&"))
    assert form.status_code == 200
    html = form.get_data(as_text=True)
    assert 'id="f-origin-name" name="origin.name" type="text" value="Springfield"' in html
    assert 'id="f-stops-0-name" name="stops.0.name" type="text" value="Springfield"' in html


def test_an_unreadable_origin_is_named_not_prefilled(app, client, demand):
    sign_in(client, demand["editor"])
    answer = client.get(f"/admin/events/{demand['game']}/trips/new?origin=" + "x" * 201)
    assert answer.status_code == 422
    assert "At most 200 characters." in answer.get_data(as_text=True)


@pytest.mark.parametrize("role", ["viewer", "developer"])
def test_viewers_and_developers_see_demand_but_cannot_start_a_trip(app, client, demand, role):
    sign_in(client, demand[role])
    page = client.get("/admin/demand")
    assert page.status_code == 200
    assert "Start a draft trip from here" not in page.get_data(as_text=True)
    refused = client.get(f"/admin/events/{demand['game']}/trips/new?origin=Springfield")
    assert refused.status_code == 403


def test_another_partners_event_is_404(app, client, demand):
    sign_in(client, demand["owner"])
    assert client.get(f"/admin/demand?event={demand['theirs']}").status_code == 404
    assert client.get("/admin/demand?event=evt_nothing").status_code == 404
    theirs = client.get(f"/admin/events/{demand['theirs']}/trips/new?origin=Secret+Town")
    assert theirs.status_code == 404


def test_no_requests_yet(app, client):
    people = team(app)
    sign_in(client, people["owner"])
    page = client.get("/admin/demand").get_data(as_text=True)
    assert "No fan has asked for a trip yet." in page
