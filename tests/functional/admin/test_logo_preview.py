"""A logo file chosen on the branding page shows in the live preview before saving: the server
checks and re-encodes it as on saving, keeps it unsaved, and the preview frame shows it, to the
partner's admins only; the branding page stops saying "not saved yet" once saved; the contrast
check names colours by their labels on the form."""

from __future__ import annotations

import io
import re

from werkzeug.datastructures import FileStorage

from tests.admin_helpers import csrf
from tests.functional.admin.test_branding import FORM
from tests.functional.admin.test_logo_upload import (  # noqa: F401 (the fixture)
    animated_png,
    image,
    multipart,
    people,
    signed_in,
)
from widget_server.extensions import db
from widget_server.models import Partner

PREVIEW_LOGO = re.compile(r'<img class="rp-logo" src="(/admin/branding/logo_preview/[^"]+)"')


def choose(client, data: bytes):
    form = {
        "csrf_token": csrf(client, "/admin/branding"),
        "logo": FileStorage(io.BytesIO(data), filename="logo.png", content_type="image/png"),
    }
    return client.post("/admin/branding/logo_preview", **multipart(form))


def preview_page(client, **fields) -> str:
    answer = client.post(
        "/admin/branding/preview",
        data={**FORM, **fields, "csrf_token": csrf(client, "/admin/branding")},
    )
    return client.get(answer.get_json()["preview_url"]).get_data(as_text=True)


def test_a_chosen_logo_shows_in_the_preview_before_saving(app, people):  # noqa: F811
    client = signed_in(app)
    chosen = choose(client, image(size=(300, 120)))
    assert chosen.status_code == 200
    name = chosen.get_json()["logo_preview"]
    assert re.fullmatch(r"[0-9a-f]{16}\.png", name)
    src = PREVIEW_LOGO.search(preview_page(client, logo_preview=name)).group(1)
    served = client.get(src)
    assert served.status_code == 200 and served.mimetype == "image/png"
    assert served.data.startswith(b"\x89PNG")
    with app.app_context():
        assert db.session.get(Partner, people["partner"]).logo is None  # nothing saved
    # Removing the logo wins over a chosen file; another partner's admins never see it.
    assert PREVIEW_LOGO.search(preview_page(client, logo_preview=name, logo_remove="1")) is None
    assert signed_in(app, "owner@other.example").get(src).status_code == 404
    assert app.test_client().get(src).status_code == 302  # to sign-in


def test_a_refused_file_is_named_and_viewers_cannot_send_one(app, people):  # noqa: F811
    client = signed_in(app)
    refused = choose(client, animated_png())
    assert refused.status_code == 422
    assert refused.get_json()["error"] == "The logo must be a still image, not an animation."
    viewer = signed_in(app, "viewer@chiefs.example")
    assert choose(viewer, image()).status_code == 403


def test_after_saving_the_preview_is_not_called_unsaved(app, people):  # noqa: F811
    client = signed_in(app)
    page = client.get("/admin/branding").get_data(as_text=True)
    assert '<h2 id="preview-h" data-unsaved="Preview (not saved yet)">Preview</h2>' in page
    grey = dict(FORM, **{"branding.text_color": "#999999"})
    refused = client.post(
        "/admin/branding", data={**grey, "csrf_token": csrf(client, "/admin/branding")}
    )
    assert refused.status_code == 422
    assert ">Preview (not saved yet)</h2>" in refused.get_data(as_text=True)


def test_the_contrast_check_names_colours_by_their_labels(app, people):  # noqa: F811
    client = signed_in(app)
    answer = client.post(
        "/admin/branding/preview?locale=es",
        data={**FORM, "csrf_token": csrf(client, "/admin/branding")},
    )
    texts = [row["text"] for row in answer.get_json()["contrast"]]
    assert texts[0].startswith("Texto sobre Fondo: ")
    assert not any("_color" in text for text in texts)
