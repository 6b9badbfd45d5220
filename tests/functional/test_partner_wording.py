"""The partner's wording per language: a headline and an intro line for en/es/fr, set in the
partner file, through `PATCH /v1/partner` or in the console, shown (escaped) in the fan's
language and falling back to the product's own words where unset; the console preview shows
unsaved words before anything is saved. Also the API's view of an uploaded logo."""

from __future__ import annotations

import html
import io
import re

import pytest

from tests.admin_helpers import csrf, make_admin, sign_in
from tests.api_helpers import ApiSession, issue_token
from tests.factories import make_partner
from widget_server.domain.logos import clean_logo, set_logo
from widget_server.domain.partners import load_partner_files
from widget_server.extensions import db
from widget_server.models import Partner

DEFAULT_HEADLINE = {
    "en": "Ride the bus to the game",
    "es": "Ve al partido en autobús",
    "fr": "Allez au match en car",
}
HEADLINE = re.compile(r'<h1 class="rp-title">([^<]*)</h1>')
INTRO = re.compile(r'<p class="rp-intro">([^<]*)</p>')


@pytest.fixture
def partner_id(app):
    with app.app_context(), db.transaction() as session:
        partner = make_partner(session, "kc-chiefs")
        make_admin(session, partner, "owner@chiefs.example", "owner")
        return partner.id


@pytest.fixture
def api(app, client, partner_id):
    return ApiSession(client, issue_token(app, partner_id))


def widget_words(client, locale: str, query: str = "") -> tuple[str, str]:
    page = client.get(f"/w/kc-chiefs/?locale={locale}{query}").get_data(as_text=True)
    return html.unescape(HEADLINE.search(page).group(1)), html.unescape(INTRO.search(page).group(1))


def test_defaults_until_a_language_is_set(app, client, partner_id):
    for locale, headline in DEFAULT_HEADLINE.items():
        assert widget_words(client, locale)[0] == headline


def test_api_sets_merges_and_removes_wording_and_the_widget_follows(api, client):
    empty = api.get("/v1/partner").json["wording"]
    assert empty == {lang: {"headline": None, "intro": None} for lang in ("en", "es", "fr")}

    answer = api.patch(
        "/v1/partner",
        json={"wording": {"es": {"headline": "¡Al <b>estadio</b> en bus!", "intro": "Hola."}}},
    )
    assert answer.status_code == 200, answer.json
    assert answer.json["wording"]["es"] == {
        "headline": "¡Al <b>estadio</b> en bus!",
        "intro": "Hola.",
    }
    assert answer.json["wording"]["fr"] == {"headline": None, "intro": None}
    page = client.get("/w/kc-chiefs/?locale=es").get_data(as_text=True)
    assert "¡Al &lt;b&gt;estadio&lt;/b&gt; en bus!" in page and "<b>estadio" not in page
    assert widget_words(client, "es") == ("¡Al <b>estadio</b> en bus!", "Hola.")
    # Other languages keep ours.
    assert widget_words(client, "fr")[0] == DEFAULT_HEADLINE["fr"]
    assert widget_words(client, "en")[0] == DEFAULT_HEADLINE["en"]

    # Merged per key: the intro stays when only the headline changes; null goes back to ours.
    merged = api.patch("/v1/partner", json={"wording": {"es": {"headline": "Vamos"}}}).json
    assert merged["wording"]["es"] == {"headline": "Vamos", "intro": "Hola."}
    api.patch("/v1/partner", json={"wording": {"fr": {"intro": "Allons-y."}}})
    cleared = api.patch("/v1/partner", json={"wording": {"es": {"intro": None}}}).json
    assert cleared["wording"]["es"] == {"headline": "Vamos", "intro": None}
    assert widget_words(client, "es")[1].startswith("Elige un partido")  # the default intro
    gone = api.patch("/v1/partner", json={"wording": {"es": {"headline": None}}}).json
    assert gone["wording"]["es"] == {"headline": None, "intro": None}
    assert gone["wording"]["fr"]["intro"] == "Allons-y."
    # An empty string is "unset" too.
    assert api.patch("/v1/partner", json={"wording": {"fr": {"intro": "  "}}}).status_code == 200
    assert api.get("/v1/partner").json["wording"]["fr"]["intro"] is None


@pytest.mark.parametrize(
    ("wording", "field"),
    [
        ({"es": {"headline": "Hola \ud800"}}, "wording.es.headline"),
        ({"es": {"headline": "Hola\x00"}}, "wording.es.headline"),
        ({"es": {"intro": "Hola\nadiós"}}, "wording.es.intro"),
        ({"fr": {"intro": "\u202eeviL"}}, "wording.fr.intro"),
        ({"es": {"headline": "x" * 121}}, "wording.es.headline"),
        ({"es": {"intro": "x" * 301}}, "wording.es.intro"),
        ({"es": {"headline": 7}}, "wording.es.headline"),
        ({"de": {"headline": "Hallo"}}, "wording.de"),
        ({"es": {"title": "Hola"}}, "wording.es.title"),
        ({"es": "Hola"}, "wording.es"),
        ({"es": None}, "wording.es"),
        ("Hola", "wording"),
    ],
)
def test_api_refuses_bad_wording_naming_the_field(api, app, partner_id, wording, field):
    answer = api.patch("/v1/partner", json={"wording": wording, "name": "Changed"})
    assert answer.status_code == 422, answer.json
    assert field in answer.json["errors"], answer.json["errors"]
    with app.app_context():
        partner = db.session.get(Partner, partner_id)
        assert partner.wording == {} and partner.name != "Changed"


def test_a_huge_string_is_refused_whole(api):
    answer = api.patch("/v1/partner", json={"wording": {"es": {"headline": "x" * 1_000_000}}})
    assert answer.status_code == 413
    assert "_body" in answer.json["errors"]


def test_the_api_shows_an_uploaded_logo(app, api, partner_id):
    import PIL.Image

    assert api.get("/v1/partner").json["logo"] is None
    out = io.BytesIO()
    PIL.Image.new("RGB", (40, 20), (1, 2, 3)).save(out, "JPEG")
    with app.app_context(), db.transaction() as session:
        set_logo(session, session.get(Partner, partner_id), clean_logo(out.getvalue()), actor="t")
    logo = api.get("/v1/partner").json["logo"]
    assert logo["content_type"] == "image/jpeg" and (logo["width"], logo["height"]) == (40, 20)
    base = app.config["SETTINGS"].public_base_url
    assert logo["url"] == f"{base}/w/kc-chiefs/logo/{logo['sha256'][:16]}.jpg"
    # A new logo address through the API replaces the upload (one logo at a time).
    url = "https://chiefs.example/logo.png"
    changed = api.patch("/v1/partner", json={"branding": {"logo_url": url}}).json
    assert changed["logo"] is None and changed["branding"]["logo_url"] == url


def test_partner_files_take_wording_and_name_bad_fields(tmp_path):
    good = tmp_path / "good" / "chiefs.toml"
    good.parent.mkdir()
    good.write_text(
        'slug = "chiefs"\nname = "Chiefs"\n'
        '[wording.es]\nheadline = "¡Al estadio!"\nintro = "Buses cada domingo."\n'
        '[wording.fr]\nheadline = "Au stade !"\n'
    )
    partners, problems = load_partner_files(good)
    assert problems == []
    assert partners[0]["wording"] == {
        "es": {"headline": "¡Al estadio!", "intro": "Buses cada domingo."},
        "fr": {"headline": "Au stade !"},
    }
    bad = tmp_path / "bad" / "bad.toml"
    bad.parent.mkdir()
    bad.write_text(
        'slug = "bad"\nname = "Bad"\n'
        '[wording.de]\nheadline = "Zum Stadion"\n'
        '[wording.es]\ntitle = "Hola"\nheadline = "' + "x" * 121 + '"\n'
        '[wording.fr]\nintro = "Bus\\u0007"\n'
    )
    _, problems = load_partner_files(bad)
    fields = {problem.field: problem.message for problem in problems}
    assert set(fields) == {
        "wording.de",
        "wording.es.title",
        "wording.es.headline",
        "wording.fr.intro",
    }
    assert "Unknown field" in fields["wording.de"]
    assert "at most 120" in fields["wording.es.headline"]
    assert "control characters" in fields["wording.fr.intro"]


def test_shipped_partner_files_round_trip_their_wording(app):
    from tests.unit.test_partner_config import SHIPPED
    from widget_server.domain.partners import partner_differences, upsert_partner

    partners, problems = load_partner_files(SHIPPED)
    assert problems == []
    with app.app_context(), db.transaction() as session:
        for data in partners:
            upsert_partner(session, data, actor="test")
        for data in partners:
            assert partner_differences(session, data) == {}  # stored as the file says


def owner(app):
    client = app.test_client()
    sign_in(client, "owner@chiefs.example")
    return client


def console_form(**wording) -> dict:
    form = {
        "branding.primary_color": "#0b5cad",
        "branding.accent_color": "#e8a317",
        "branding.background_color": "#ffffff",
        "branding.text_color": "#1b1f24",
        "branding.font_family": "system-ui",
        "branding.corner_radius": "8",
        "branding.color_scheme": "light",
        "locale": "en",
        "currency": "USD",
    }
    form.update({f"wording.{key.replace('_', '.')}": value for key, value in wording.items()})
    return form


def test_the_console_saves_wording_per_language_and_blank_means_ours(app, client, partner_id):
    admin = owner(app)
    form = console_form(es_headline="¡Vamos!", es_intro="Buses al estadio.", fr_headline="Allez !")
    answer = admin.post(
        "/admin/branding", data={**form, "csrf_token": csrf(admin, "/admin/branding")}
    )
    assert answer.status_code == 302
    with app.app_context():
        wording = db.session.get(Partner, partner_id).wording
    assert wording == {
        "es": {"headline": "¡Vamos!", "intro": "Buses al estadio."},
        "fr": {"headline": "Allez !"},
    }
    assert widget_words(client, "es") == ("¡Vamos!", "Buses al estadio.")
    page = html.unescape(admin.get("/admin/branding").get_data(as_text=True))
    assert 'name="wording.es.headline" type="text" value="¡Vamos!"' in page

    cleared = console_form(es_headline="¡Vamos!")  # the intro emptied, French emptied
    admin.post("/admin/branding", data={**cleared, "csrf_token": csrf(admin, "/admin/branding")})
    with app.app_context():
        assert db.session.get(Partner, partner_id).wording == {"es": {"headline": "¡Vamos!"}}
    assert widget_words(client, "fr")[0] == DEFAULT_HEADLINE["fr"]

    bad = console_form(es_headline="x" * 121, fr_intro="Bus\x07")
    refused = admin.post(
        "/admin/branding", data={**bad, "csrf_token": csrf(admin, "/admin/branding")}
    )
    assert refused.status_code == 422
    page = refused.get_data(as_text=True)
    assert 'id="f-wording-es-headline-error"' in page and 'id="f-wording-fr-intro-error"' in page


def test_the_preview_shows_unsaved_wording_in_the_language_typed(app, client, partner_id):
    admin = owner(app)
    token = csrf(admin, "/admin/branding")
    answer = admin.post(
        "/admin/branding/preview",
        data={
            **console_form(fr_headline="Au stade <en bus> !", fr_intro="Départs à 17 h."),
            "preview_locale": "fr",
        },
        headers={"X-CSRFToken": token},
    )
    url = answer.get_json()["preview_url"]
    assert url.startswith("/w/kc-chiefs/?locale=fr&preview=")
    page = app.test_client().get(url).get_data(as_text=True)
    assert html.unescape(HEADLINE.search(page).group(1)) == "Au stade <en bus> !"
    assert "Au stade &lt;en bus&gt; !" in page
    assert widget_words(client, "fr")[0] == DEFAULT_HEADLINE["fr"]  # nothing saved
    with app.app_context():
        assert db.session.get(Partner, partner_id).wording == {}
