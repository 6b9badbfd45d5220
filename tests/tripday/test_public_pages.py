"""Public trip pages: server-rendered, JSON-LD that a JSON-LD processor (pyld) expands into a
BusTrip about a SportsEvent, OpenGraph, hreflang, canonical, sitemap and robots.txt."""

import json
import re
import xml.etree.ElementTree as ET
from datetime import timedelta

import pytest
from pyld import jsonld

from tests.factories import make_event, make_partner, make_trip
from widget_server.domain.pledges import trip_outcomes
from widget_server.extensions import db
from widget_server.models import Trip
from widget_server.models.types import utcnow

S = "http://schema.org/"
# A local stand-in for https://schema.org's context: the test must not fetch it. Like the real
# one, it maps every term into the schema.org vocabulary and marks ids and dates.
SCHEMA_CONTEXT = {
    "@context": {
        "@vocab": S,
        "schema": S,
        "url": {"@id": "schema:url", "@type": "@id"},
        "availability": {"@id": "schema:availability", "@type": "@id"},
        "eventStatus": {"@id": "schema:eventStatus", "@type": "@id"},
        "departureTime": {"@id": "schema:departureTime", "@type": "schema:DateTime"},
        "arrivalTime": {"@id": "schema:arrivalTime", "@type": "schema:DateTime"},
        "startDate": {"@id": "schema:startDate", "@type": "schema:DateTime"},
        "validThrough": {"@id": "schema:validThrough", "@type": "schema:DateTime"},
    }
}
NETWORK_CALLS = []


def local_loader(url, options=None):
    NETWORK_CALLS.append(url)
    if url.rstrip("/") in ("https://schema.org", "http://schema.org"):
        return {
            "contentType": "application/ld+json",
            "contextUrl": None,
            "documentUrl": url,
            "document": SCHEMA_CONTEXT,
        }
    raise AssertionError(f"the test would have fetched {url}")


@pytest.fixture
def site(app):
    with app.app_context(), db.transaction() as session:
        partner = make_partner(
            session, "kc-chiefs", branding={"primary_color": "#c8102e"}, locale="en"
        )
        game = make_event(session, partner, title="Chiefs vs. Raiders", venue="Arrowhead")
        ids = {"partner_id": partner.id, "event": game.id}
        ids["live"] = make_trip(session, partner, game, unit_amount=3550, capacity=40).id
        ids["sold_out"] = make_trip(session, partner, game, capacity=1, min_riders=1).id
        ids["draft"] = make_trip(session, partner, game, status="draft").id
        failed = make_trip(session, partner, game)
        canceled = make_trip(session, partner, game)
        closed = make_trip(session, partner, game)
        ids.update(failed=failed.id, canceled=canceled.id, closed=closed.id)
        trip_outcomes.cancel_trip(session, canceled, actor="test")
        failed.pledge_deadline = utcnow() - timedelta(minutes=5)
        session.flush()
        trip_outcomes.fail_trip_if_overdue(session, failed.id)
        closed.pledge_deadline = utcnow() - timedelta(minutes=5)  # awaiting the sweep
        sold = session.get(Trip, ids["sold_out"])
        sold.seats_pledged = 1
        sold.status = "confirmed"
        other = make_partner(session, "other-team")
        ids["other"] = make_trip(session, other).id
    return ids


def json_ld_of(html: str) -> dict:
    found = re.findall(r'<script type="application/ld\+json"[^>]*>(.*?)</script>', html, re.S)
    assert len(found) == 1
    return json.loads(found[0])


def nodes_of_type(expanded: list, type_name: str) -> list[dict]:
    return [node for node in expanded if S + type_name in node.get("@type", [])]


def value(node: dict, prop: str):
    (item,) = node[S + prop]
    return item.get("@value", item.get("@id", item))


def test_trip_page_json_ld_expands_into_bus_trip_about_a_sports_event(client, site):
    page = client.get(f"/t/kc-chiefs/{site['live']}")
    assert page.status_code == 200 and page.mimetype == "text/html"
    html = page.get_data(as_text=True)
    assert "<script src" not in html  # readable without JavaScript
    document = json_ld_of(html)
    NETWORK_CALLS.clear()
    expanded = jsonld.expand(document, {"documentLoader": local_loader})
    assert NETWORK_CALLS == ["https://schema.org"]
    flat = jsonld.flatten(expanded, None, {"documentLoader": local_loader})
    (trip,) = nodes_of_type(flat, "BusTrip")
    (game,) = nodes_of_type(flat, "SportsEvent")
    by_id = {node["@id"]: node for node in flat}

    departure = by_id[value(trip, "departureBusStop")]
    assert S + "BusStop" in departure["@type"] and value(departure, "name") == "Stop 1"
    arrival = by_id[value(trip, "arrivalBusStop")]
    assert value(arrival, "name") == "Arrowhead"
    with client.application.app_context():
        row = db.session.get(Trip, site["live"])
        first_stop = row.stops[0].departs_at.strftime("%Y-%m-%dT%H:%M:%SZ")
        deadline = row.pledge_deadline.strftime("%Y-%m-%dT%H:%M:%SZ")
        starts = row.event.starts_at.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert value(trip, "departureTime") == first_stop
    assert value(trip, "arrivalTime") == starts
    provider = by_id[value(trip, "provider")]
    assert value(provider, "name") == "Coach Co"
    offer = by_id[value(trip, "offers")]
    assert S + "Offer" in offer["@type"]
    assert value(offer, "price") == "35.50" and value(offer, "priceCurrency") == "USD"
    assert value(offer, "availability") == "https://schema.org/InStock"
    assert value(offer, "validThrough") == deadline
    assert value(trip, "about") == game["@id"]
    assert value(game, "name") == "Chiefs vs. Raiders" and value(game, "startDate") == starts
    assert value(by_id[value(game, "location")], "name") == "Arrowhead"


def test_head_tags_canonical_hreflang_open_graph(client, site):
    base = "http://127.0.0.1:8000"
    html = client.get(f"/t/kc-chiefs/{site['live']}").get_data(as_text=True)
    url = f"{base}/t/kc-chiefs/{site['live']}"
    assert f'<link rel="canonical" href="{url}">' in html
    for code in ("en", "es", "fr"):
        href = url if code == "en" else f"{url}?locale={code}"
        assert f'<link rel="alternate" hreflang="{code}" href="{href}">' in html
    assert f'hreflang="x-default" href="{url}"' in html
    assert f'<meta property="og:url" content="{url}">' in html
    assert '<meta property="og:title" content="Bus from Wichita to Chiefs vs. Raiders">' in html
    assert '<meta name="twitter:card" content="summary">' in html
    assert "--rp-primary: #c8102e" in html  # the partner's branding
    pledge = re.search(r'href="([^"]+)" data-pledge-link', html).group(1)
    assert pledge == f"{base}/w/kc-chiefs/trips/{site['live']}/pledge?locale=en"
    assert "noindex" not in html
    spanish = client.get(f"/t/kc-chiefs/{site['live']}?locale=es").get_data(as_text=True)
    assert '<html lang="es"' in spanish
    assert f'<link rel="canonical" href="{url}?locale=es">' in spanish
    assert "Autobús desde Wichita" in spanish
    assert json_ld_of(spanish)["@graph"][0]["inLanguage"] == "es"
    # The pledge link opens the widget's real pledge form.
    form = client.get(pledge.removeprefix(base))
    assert form.status_code == 200 and 'name="seats"' in form.get_data(as_text=True)


def test_failed_canceled_sold_out_say_so(client, site):
    for key, words, availability in (
        ("failed", "Did not run", "Discontinued"),
        ("canceled", "Canceled", "Discontinued"),
        ("sold_out", "Sold out", "SoldOut"),
    ):
        page = client.get(f"/t/kc-chiefs/{site[key]}")
        html = page.get_data(as_text=True)
        assert page.status_code == 200 and words in html, key
        offer = json_ld_of(html)["@graph"][0]["offers"]
        assert offer["availability"] == "https://schema.org/" + availability
        assert "data-pledge-link" not in html
        if key != "sold_out":
            assert '<meta name="robots" content="noindex">' in html
    for missing in (site["draft"], site["other"], "trp_nope"):
        assert client.get(f"/t/kc-chiefs/{missing}").status_code == 404
    assert client.get(f"/t/nobody/{site['live']}").status_code == 404


def test_event_page_lists_its_trips(client, site):
    html = client.get(f"/t/kc-chiefs/events/{site['event']}").get_data(as_text=True)
    assert html.count("data-trip=") == 5  # every trip but the draft
    assert f"/t/kc-chiefs/{site['live']}" in html and site["draft"] not in html
    assert client.get(f"/t/other-team/events/{site['event']}").status_code == 404


def test_sitemap_lists_exactly_the_live_trips_and_robots_names_every_sitemap(client, site):
    response = client.get("/t/kc-chiefs/sitemap.xml")
    assert response.status_code == 200 and response.mimetype == "application/xml"
    root = ET.fromstring(response.data)  # noqa: S314 (our own server's output)
    ns = {"s": "http://www.sitemaps.org/schemas/sitemap/0.9", "x": "http://www.w3.org/1999/xhtml"}
    locs = {loc.text for loc in root.findall("s:url/s:loc", ns)}
    base = "http://127.0.0.1:8000/t/kc-chiefs/"
    assert locs == {base + site["live"], base + site["sold_out"]}
    langs = {link.get("hreflang") for link in root.findall("s:url/x:link", ns)}
    assert langs == {"en", "es", "fr", "x-default"}
    assert client.get("/t/nobody/sitemap.xml").status_code == 404
    robots = client.get("/robots.txt")
    assert robots.mimetype == "text/plain"
    lines = robots.get_data(as_text=True).splitlines()
    sitemaps = [line for line in lines if line.startswith("Sitemap: ")]
    assert sitemaps == [
        "Sitemap: http://127.0.0.1:8000/t/kc-chiefs/sitemap.xml",
        "Sitemap: http://127.0.0.1:8000/t/other-team/sitemap.xml",
    ]
    assert "Disallow: /d/" in lines
