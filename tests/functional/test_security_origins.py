"""allowed_origins through every way in (partner files, PATCH /v1/partner), and the widget's
frame-ancestors, which no stored value can widen."""

import pytest
from sqlalchemy import update

from tests.api_helpers import ApiSession, issue_token
from tests.factories import make_partner
from tests.functional.test_widget_pages import page_data
from widget_server.domain.partners import load_partner_files
from widget_server.extensions import db
from widget_server.models import Partner

PROBES = [
    "https://*",
    "https://a.example *",
    "https://a.example; script-src *",
    "https://a.example\r\nSet-Cookie: x=1",
    "https://a.example\x00",
    "https://a.example/embed",
    "http://a.example",
]


@pytest.fixture
def api(app, client):
    with app.app_context(), db.transaction() as session:
        partner_id = make_partner(session, "kc-chiefs", allowed_origins=["https://ok.example"]).id
    return ApiSession(client, issue_token(app, partner_id))


@pytest.mark.parametrize("probe", PROBES)
def test_patch_partner_refuses_anything_but_exact_origins(api, probe):
    response = api.patch("/v1/partner", json={"allowed_origins": ["https://b.example", probe]})
    assert response.status_code == 422
    assert list(response.json["errors"]) == ["allowed_origins.1"]
    assert api.get("/v1/partner").json["allowed_origins"] == ["https://ok.example"]


def test_patch_partner_stores_origins_normalised(api):
    response = api.patch(
        "/v1/partner",
        json={"allowed_origins": ["HTTPS://Www.Chiefs.com:443/", "http://127.0.0.2:8000"]},
    )
    assert response.status_code == 200
    assert response.json["allowed_origins"] == ["https://www.chiefs.com", "http://127.0.0.2:8000"]


def test_partner_files_refuse_the_probes(tmp_path):
    listed = ", ".join(
        '"'
        + p.replace("\\", "\\\\")
        .replace("\r", "\\r")
        .replace("\n", "\\n")
        .replace("\x00", "\\u0000")
        + '"'
        for p in PROBES
    )
    (tmp_path / "p.toml").write_text(f'slug = "p"\nname = "P"\nallowed_origins = [{listed}]\n')
    _, problems = load_partner_files(tmp_path)
    assert {problem.field for problem in problems} == {
        f"allowed_origins.{index}" for index in range(len(PROBES))
    }


def test_frame_ancestors_lists_only_exact_origins_even_from_old_rows(app, client):
    with app.app_context(), db.transaction() as session:
        make_partner(session, "kc-chiefs", allowed_origins=["https://ok.example"])
        # A row written before the rules (or by hand): it must not widen the policy.
        session.execute(
            update(Partner).values(
                allowed_origins=[
                    "https://ok.example",
                    "https://*",
                    "https://x.example; script-src *",
                ]
            )
        )
    policy = client.get("/w/kc-chiefs/").headers["Content-Security-Policy"]
    assert "frame-ancestors https://ok.example;" in policy + ";"
    assert "*" not in policy and "x.example" not in policy
    for host in ("https://*", "https://x.example; script-src *", "https://ok.example"):
        data = page_data(client.get("/w/kc-chiefs/", query_string={"host": host}).get_data(True))
        assert data["host_origin"] == (host if host == "https://ok.example" else None)
