"""Every navigation inside the widget keeps its embedding context (`?host=` and `?locale=`):
links, GET forms (whose action's query the browser drops), POST form actions and the
redirects after them. A page that loses `host` no longer talks to the host page: no resizing,
no `trip.viewed`, `pledge.created` or `demand.requested` (the browser test is
tests/browser/test_embed_navigation.py)."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest

from tests.factories import make_event, make_partner, make_trip
from widget_server.domain.pledges import planning, recording
from widget_server.extensions import db

HOST = "https://www.chiefs.example"
BASE = "/w/kc-chiefs"
CONTEXT = {"host": HOST, "locale": "es"}


class _Navigation(HTMLParser):
    """Each link (href) and each form (method, action, hidden fields) of a page."""

    def __init__(self):
        super().__init__()
        self.links: list[str] = []
        self.forms: list[dict] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "a" and attrs.get("href"):
            self.links.append(attrs["href"])
        elif tag == "form":
            method = (attrs.get("method") or "get").lower()
            self.forms.append({"method": method, "action": attrs.get("action", ""), "hidden": {}})
        elif tag == "input" and attrs.get("type") == "hidden" and self.forms:
            self.forms[-1]["hidden"][attrs.get("name")] = attrs.get("value") or ""


def navigation(html: str) -> _Navigation:
    parser = _Navigation()
    parser.feed(html)
    return parser


def query(url: str) -> dict[str, str]:
    return {key: values[0] for key, values in parse_qs(urlsplit(url).query).items()}


def host_origin(html: str) -> str | None:
    found = re.search(r'<script type="application/json" id="rp-data">(.*?)</script>', html, re.S)
    return json.loads(found.group(1))["host_origin"]


@pytest.fixture
def team(app):
    """A partner embedding from HOST: a game with an open trip and a sold-out one."""
    with app.app_context(), db.transaction() as session:
        partner = make_partner(session, "kc-chiefs", allowed_origins=[HOST])
        event = make_event(session, partner)
        trip = make_trip(session, partner, event, stops=2)
        full = make_trip(
            session, partner, event, origin={"name": "Topeka"}, capacity=2, min_riders=2
        )
        request = planning.PledgeRequest(
            stop_id=full.stops[0].id,
            seats=2,
            name="Early Bird",
            email="early@example.com",
            payment_method="pm_card_visa",
        )
        recording.create_pledge(
            session, app.extensions["ridepledge.payments"], partner, full.id, request
        )
        return {
            "event": event.id,
            "trip": trip.id,
            "stop": trip.stops[0].id,
            "full": full.id,
            "full_stop": full.stops[0].id,
        }


def _in_widget(url: str) -> bool:
    path = urlsplit(url).path
    return path.startswith(BASE + "/") and "/api/" not in path


def _check_page(url: str, html: str) -> list[str]:
    """What on the page would lose the embedding context; its widget links to follow."""
    problems, follow = [], []
    found = navigation(html)
    for link in filter(_in_widget, found.links):
        if query(link).get("host") != HOST or "locale" not in query(link):
            problems.append(f"{url}: link {link}")
        follow.append(link)
    for form in found.forms:
        if form["method"] == "get":
            kept = {key: form["hidden"].get(key) for key in CONTEXT}
        else:
            kept = {key: query(form["action"]).get(key) for key in CONTEXT}
        if kept != CONTEXT:
            problems.append(f"{url}: {form['method']} form {form['action']} keeps {kept}")
    return problems, follow


def test_every_link_and_form_of_every_widget_page_keeps_the_embedding_context(client, team):
    start = f"{BASE}/?{urlencode(CONTEXT)}"
    seen, queue, problems = set(), [start], []
    while queue:
        url = queue.pop()
        if urlsplit(url).path + "?" + urlsplit(url).query in seen:
            continue
        seen.add(urlsplit(url).path + "?" + urlsplit(url).query)
        response = client.get(url)
        assert response.status_code == 200, url
        html = response.get_data(as_text=True)
        assert host_origin(html) == HOST, url
        page_problems, follow = _check_page(url, html)
        problems += page_problems
        queue += [link for link in follow if query(link).get("locale") == "es"]
    paths = {urlsplit(url).path for url in seen}
    assert f"{BASE}/events/{team['event']}" in paths
    assert f"{BASE}/trips/{team['full']}" in paths  # the waitlist form's page
    assert f"{BASE}/trips/{team['trip']}/pledge" in paths
    assert problems == []


def test_the_city_search_keeps_the_host_page(client, team):
    """The bug: "Show nearest first" reloaded the iframe without `host` and `locale`."""
    html = client.get(f"{BASE}/events/{team['event']}?{urlencode(CONTEXT)}").get_data(as_text=True)
    search = next(form for form in navigation(html).forms if form["method"] == "get")
    # What a browser does with a GET form: the action's path, the form's fields as the query.
    fields = {**search["hidden"], "near": "Wichita"}
    response = client.get(urlsplit(search["action"]).path + "?" + urlencode(fields))
    result = response.get_data(as_text=True)
    assert response.status_code == 200
    assert host_origin(result) == HOST
    assert '<html lang="es"' in result
    assert 'value="Wichita"' in result


def test_redirects_after_posts_keep_the_embedding_context(client, team):
    """A pledge and a waitlist join without JavaScript land on pages still tied to the host."""
    from tests.widget_helpers import form_fields

    context = urlencode(CONTEXT)
    page = client.get(f"{BASE}/trips/{team['trip']}/pledge?{context}").get_data(as_text=True)
    action, hidden = form_fields(page, "/pledge")
    fan = {"stop_id": team["stop"], "seats": "1", "name": "Pat", "email": "pat@example.com"}
    pledged = client.post(action, data={**hidden, **fan, "card_number": "4242424242424242"})
    assert pledged.status_code == 303
    assert query(pledged.headers["Location"]) == CONTEXT
    confirmation = client.get(pledged.headers["Location"]).get_data(as_text=True)
    manage_link = next(link for link in navigation(confirmation).links if "/manage/" in link)
    manage = client.get(manage_link).get_data(as_text=True)
    assert host_origin(manage) == HOST
    problems, _ = _check_page(manage_link, manage)
    assert problems == []

    page = client.get(f"{BASE}/trips/{team['full']}?{context}").get_data(as_text=True)
    action, hidden = form_fields(page, "/waitlist")
    refused = client.post(action, data={**hidden, **fan, "seats": "0"})
    assert refused.status_code == 422  # the trip page again, with the field to fix: embedded
    assert host_origin(refused.get_data(as_text=True)) == HOST
    joined = client.post(action, data={**hidden, **fan, "stop_id": team["full_stop"]})
    assert joined.status_code == 303
    assert query(joined.headers["Location"]) == CONTEXT
    assert host_origin(client.get(joined.headers["Location"]).get_data(as_text=True)) == HOST
