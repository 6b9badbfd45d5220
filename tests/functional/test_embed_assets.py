"""The embed loader and the iframe's assets: size budget, caching, versioned URLs."""

import gzip
import re

from widget_server.fan.assets import EMBED_DIR, assets_version

LOADER_BUDGET = 3 * 1024  # bytes, gzipped (contract: "budget: 3 KB gzipped")


def test_the_loader_fits_its_budget_gzipped():
    size = len(gzip.compress((EMBED_DIR / "embed.js").read_bytes(), 9))
    print(f"\nembed.js: {size} bytes gzipped (budget {LOADER_BUDGET})")
    assert size <= LOADER_BUDGET


def test_the_loader_is_cached_briefly_and_revalidated(client):
    response = client.get("/embed.js")
    assert response.status_code == 200
    assert response.mimetype == "text/javascript"
    assert response.headers["Cache-Control"] == "public, max-age=300, must-revalidate"
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert "Set-Cookie" not in response.headers
    assert response.get_data() == (EMBED_DIR / "embed.js").read_bytes()
    again = client.get("/embed.js", headers={"If-None-Match": response.headers["ETag"]})
    assert again.status_code == 304


def test_the_loader_is_sent_gzipped_to_browsers_that_ask(client):
    response = client.get("/embed.js", headers={"Accept-Encoding": "gzip, br"})
    assert response.headers["Content-Encoding"] == "gzip"
    assert "Accept-Encoding" in response.headers["Vary"]
    assert len(response.get_data()) <= LOADER_BUDGET
    assert gzip.decompress(response.get_data()) == (EMBED_DIR / "embed.js").read_bytes()


def test_iframe_assets_have_versioned_urls_cached_for_a_year(app, client):
    with app.app_context(), app.test_request_context():
        version = assets_version()
    for name, mimetype in (("widget.js", "text/javascript"), ("widget.css", "text/css")):
        response = client.get(f"/w/static/{version}/{name}")
        assert response.status_code == 200 and response.mimetype == mimetype
        assert response.headers["Cache-Control"] == "public, max-age=31536000, immutable"
        stale = client.get(f"/w/static/0000/{name}")
        assert stale.status_code == 200 and stale.headers["Cache-Control"] == "no-cache"
    assert client.get(f"/w/static/{version}/embed.js").status_code == 404
    assert client.get(f"/w/static/{version}/..%2Fpyproject.toml").status_code == 404


def test_widget_pages_link_the_current_version(app, client):
    from tests.factories import make_partner
    from widget_server.extensions import db

    with app.app_context(), db.transaction() as session:
        make_partner(session, "kc-chiefs")
    html = client.get("/w/kc-chiefs/").get_data(as_text=True)
    versions = set(re.findall(r"/w/static/(\w+)/widget\.(?:js|css)", html))
    with app.app_context():
        assert versions == {assets_version()}
