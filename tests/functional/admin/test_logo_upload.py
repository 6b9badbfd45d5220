"""Logo upload in the console: only real PNG, JPEG or WebP images get in, re-encoded with no
metadata; every bad file is refused on the form naming the field (the other fields kept); the
logo is served from a content-hashed, immutable URL; viewers cannot upload; partners are walled
off from each other's logos."""

from __future__ import annotations

import hashlib
import html
import io
import re
import struct
import zlib

import pytest
from PIL import Image, PngImagePlugin
from sqlalchemy import select
from werkzeug.datastructures import FileStorage
from werkzeug.test import encode_multipart

from tests.admin_helpers import PASSWORD, csrf, make_admin, sign_in
from tests.factories import make_event, make_partner
from tests.functional.admin.test_branding import FORM as BRANDING_FORM
from widget_server.extensions import db
from widget_server.models import AuditLogEntry, Partner, PartnerLogo

# The branding form as test_branding fills it, with some wording (kept when a file is refused).
FORM = {**BRANDING_FORM, "wording.es.headline": "¡Al estadio en bus!"}
LOGO_IN_PAGE = re.compile(r'<img class="rp-logo" src="(/w/kc-chiefs/logo/([0-9a-f]{16})\.(\w+))"')


def image(fmt: str = "PNG", size=(200, 100), mode: str = "RGBA", **save) -> bytes:
    out = io.BytesIO()
    color = (200, 16, 46, 255) if mode == "RGBA" else (200, 16, 46)
    Image.new(mode, size, color).save(out, fmt, **save)
    return out.getvalue()


def png_header_only(width: int, height: int) -> bytes:
    """A valid PNG header claiming width x height, with a few rows of data (a bomb's shape)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    rows = zlib.compress(b"\0" * (width + 1) * 4)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", rows) + chunk(b"IEND", b"")
    )


def webp_header_only(width: int, height: int) -> bytes:
    """A WebP (VP8X) header claiming a width x height canvas and nothing else."""
    canvas = (width - 1).to_bytes(3, "little") + (height - 1).to_bytes(3, "little")
    body = b"WEBP" + b"VP8X" + struct.pack("<I", 10) + b"\0\0\0\0" + canvas
    return b"RIFF" + struct.pack("<I", len(body)) + body


def animated_png() -> bytes:
    frames = [Image.new("RGB", (40, 40), (i * 80, 0, 0)) for i in range(3)]
    out = io.BytesIO()
    frames[0].save(out, "PNG", save_all=True, append_images=frames[1:])
    return out.getvalue()


@pytest.fixture
def people(app):
    with app.app_context(), db.transaction() as session:
        partner = make_partner(session, "kc-chiefs")
        other = make_partner(session, "other-team")
        make_admin(session, partner, "owner@chiefs.example", "owner")
        make_admin(session, partner, "editor@chiefs.example", "editor")
        make_admin(session, partner, "viewer@chiefs.example", "viewer")
        make_admin(session, other, "owner@other.example", "owner")
        event = make_event(session, partner)
        return {"partner": partner.id, "other": other.id, "event": event.id}


def signed_in(app, email: str = "owner@chiefs.example"):
    client = app.test_client()
    sign_in(client, email)
    return client


def multipart(form: dict) -> dict:
    """The request arguments of a multipart form post, encoded in memory (the test client
    would spool a large body to a temporary file it never closes)."""
    boundary, body = encode_multipart(form)
    return {"data": body, "content_type": f"multipart/form-data; boundary={boundary}"}


def upload(client, data: bytes | None, *, name="logo.png", kind="image/png", query="", **fields):
    form = {**FORM, **fields, "csrf_token": csrf(client, "/admin/branding")}
    if data is not None:
        form["logo"] = FileStorage(io.BytesIO(data), filename=name, content_type=kind)
    return client.post("/admin/branding" + query, **multipart(form))


def stored_logo(app, partner_id: str) -> PartnerLogo | None:
    with app.app_context():
        logo = db.session.get(Partner, partner_id).logo
        if logo is not None:
            _ = logo.data  # loaded before the session goes
            db.session.expunge(logo)
        return logo


def widget_logo(client) -> tuple[str, str, str] | None:
    found = LOGO_IN_PAGE.search(client.get("/w/kc-chiefs/").get_data(as_text=True))
    return found.groups() if found else None


def test_an_owner_uploads_a_logo_the_widget_and_public_pages_show_it(app, people):
    client = signed_in(app)
    info = PngImagePlugin.PngInfo()
    info.add_text("Comment", "<script>alert(1)</script>")
    original = image("PNG", (2000, 1000), pnginfo=info, icc_profile=b"icc profile" * 20)
    # The name and declared type say SVG; the content is a PNG, and the content decides.
    answer = upload(client, original, name="logo.svg", kind="image/svg+xml")
    assert answer.status_code == 302, answer.get_data(as_text=True)[:2000]

    logo = stored_logo(app, people["partner"])
    assert (logo.format, logo.width, logo.height) == ("PNG", 512, 256)  # scaled down
    assert logo.sha256 == hashlib.sha256(logo.data).hexdigest() and logo.size == len(logo.data)
    reopened = Image.open(io.BytesIO(logo.data))
    assert reopened.format == "PNG" and reopened.size == (512, 256)
    assert "icc_profile" not in reopened.info and "Comment" not in reopened.info
    assert b"script" not in logo.data and b"icc profile" not in logo.data

    path, digest, extension = widget_logo(app.test_client())
    assert (digest, extension) == (logo.sha256[:16], "png")
    served = app.test_client().get(path)
    assert served.status_code == 200
    assert served.data == logo.data
    assert served.mimetype == "image/png"
    assert served.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    assert served.headers["X-Content-Type-Options"] == "nosniff"
    again = app.test_client().get(path, headers={"If-None-Match": served.headers["ETag"]})
    assert again.status_code == 304
    # The widget's CSP lets its own logo in.
    widget = app.test_client().get("/w/kc-chiefs/")
    assert "img-src 'self'" in widget.headers["Content-Security-Policy"]

    with app.app_context():
        partner = db.session.get(Partner, people["partner"])
        assert partner.branding["primary_color"] == "#c8102e"  # the other fields saved too
        assert partner.branding.get("logo_url") is None
        entry = db.session.scalar(
            select(AuditLogEntry).where(AuditLogEntry.action == "partner.logo_set")
        )
        assert entry.actor == "admin:owner@chiefs.example"
        assert entry.data["sha256"] == logo.sha256
    # The console shows it.
    page = client.get("/admin/branding").get_data(as_text=True)
    assert path in page and "512 × 256 px" in page
    # Public event page: the logo, and an absolute address for link previews.
    public = app.test_client().get(f"/t/kc-chiefs/events/{people['event']}")
    assert public.status_code == 200
    body = public.get_data(as_text=True)
    assert f'src="{path}"' in body
    base = app.config["SETTINGS"].public_base_url
    assert f'<meta property="og:image" content="{base}{path}">' in body


@pytest.mark.parametrize(
    ("fmt", "extension", "content_type"),
    [("JPEG", "jpg", "image/jpeg"), ("WEBP", "webp", "image/webp")],
)
def test_jpeg_and_webp_keep_their_format(app, people, fmt, extension, content_type):
    client = signed_in(app)
    mode = "RGB" if fmt == "JPEG" else "RGBA"
    exif = Image.Exif()
    exif[0x010F] = "SecretCam GPS 39.0997,-94.5786"
    exif[0x0112] = 6  # taken rotated: shown upright, then the EXIF is gone
    source = image(fmt, (300, 100), mode, exif=exif.tobytes())
    assert upload(client, source, name=f"logo.{extension}", kind=content_type).status_code == 302
    logo = stored_logo(app, people["partner"])
    assert (logo.width, logo.height) == (100, 300)
    assert b"SecretCam" not in logo.data
    assert "exif" not in Image.open(io.BytesIO(logo.data)).info
    path, _digest, served_extension = widget_logo(app.test_client())
    assert served_extension == extension
    assert app.test_client().get(path).mimetype == content_type


BAD_FILES = {
    "svg": (
        b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>',
        "logo.png",
        "image/png",
        "The logo must be a PNG, JPEG or WebP image",
    ),
    "gif": (image("GIF", mode="RGB"), "logo.png", "image/png", "must be a PNG, JPEG or WebP"),
    "html": (b"<html><script>alert(1)</script></html>", "logo.webp", "image/webp", "PNG, JPEG"),
    "too big": (
        b"\x89PNG\r\n\x1a\n" + b"\0" * (520 * 1024),
        "logo.png",
        "image/png",
        "The logo file is larger than 512 KB.",
    ),
    "corrupt": (image("PNG", (300, 300))[:200], "logo.png", "image/png", "is damaged"),
    "bomb": (png_header_only(30_000, 30_000), "logo.png", "image/png", "too many pixels"),
    "too wide": (png_header_only(9000, 4), "logo.png", "image/png", "too many pixels"),
    # Refused before Pillow's WebP decoder would allocate the canvas (576 MB here).
    "webp bomb": (webp_header_only(12_000, 12_000), "logo.webp", "image/webp", "too many"),
    "animated": (animated_png(), "logo.png", "image/png", "still image"),
    "empty": (b"", "logo.png", "image/png", "The logo file is empty."),
}


@pytest.mark.parametrize("case", sorted(BAD_FILES))
def test_bad_files_are_refused_on_the_form_keeping_the_other_fields(app, people, case):
    data, name, kind, message = BAD_FILES[case]
    client = signed_in(app)
    answer = upload(client, data, name=name, kind=kind, **{"branding.primary_color": "#7a1f5c"})
    assert answer.status_code == 422
    page = html.unescape(answer.get_data(as_text=True))
    error = re.search(r'<p class="error" id="f-logo-error">([^<]*)</p>', page)
    assert error and message in error.group(1), page[:3000]
    assert 'id="f-logo" name="logo" type="file"' in page and 'aria-invalid="true"' in page
    assert 'value="#7a1f5c"' in page  # what was typed is still in the form
    assert 'value="¡Al estadio en bus!"' in page
    assert stored_logo(app, people["partner"]) is None
    with app.app_context():
        assert db.session.get(Partner, people["partner"]).branding["primary_color"] != "#7a1f5c"


@pytest.mark.parametrize(
    ("locale", "message"),
    [
        ("es", "El logotipo debe ser una imagen PNG, JPEG o WebP"),
        ("fr", "Le logo doit être une image PNG, JPEG ou WebP"),
    ],
)
def test_refusals_are_worded_in_the_admins_language(app, people, locale, message):
    client = signed_in(app)
    answer = upload(client, b"GIF89a not a logo", query=f"?locale={locale}")
    assert answer.status_code == 422
    assert message in html.unescape(answer.get_data(as_text=True))


def test_a_logo_with_other_invalid_fields_is_asked_for_again(app, people):
    client = signed_in(app)
    answer = upload(client, image(), **{"currency": "XQQ"})
    assert answer.status_code == 422
    page = html.unescape(answer.get_data(as_text=True))
    assert 'id="f-currency-error"' in page
    assert "choose the logo file again" in page
    assert stored_logo(app, people["partner"]) is None


def test_a_50_mb_upload_is_a_clean_413_naming_the_logo(app, people):
    client = signed_in(app)
    answer = upload(client, b"\0" * (50 * 1024 * 1024))
    assert answer.status_code == 413
    page = html.unescape(answer.get_data(as_text=True))
    assert 'id="f-logo-error">The logo file is larger than 512 KB.' in page
    assert stored_logo(app, people["partner"]) is None


def test_viewers_cannot_upload_the_server_refuses(app, people):
    client = signed_in(app, "viewer@chiefs.example")
    page = client.get("/admin/branding").get_data(as_text=True)
    assert "Save the branding" not in page
    assert upload(client, image()).status_code == 403
    assert stored_logo(app, people["partner"]) is None
    editor = signed_in(app, "editor@chiefs.example")
    assert upload(editor, image()).status_code == 302  # editors may


def test_remove_the_logo_and_a_logo_address_replaces_an_upload(app, people):
    client = signed_in(app)
    assert upload(client, image()).status_code == 302
    old_path = widget_logo(app.test_client())[0]
    # A new upload is a new URL; the old one is gone (404), so caches never mix them up.
    assert upload(client, image(size=(64, 64))).status_code == 302
    new_path = widget_logo(app.test_client())[0]
    assert new_path != old_path
    assert app.test_client().get(old_path).status_code == 404

    # Choosing a file and "remove" together is refused, naming the logo.
    both = upload(client, image(), logo_remove="1")
    assert both.status_code == 422 and "not both" in html.unescape(both.get_data(as_text=True))

    assert upload(client, None, logo_remove="1").status_code == 302
    assert stored_logo(app, people["partner"]) is None
    assert widget_logo(app.test_client()) is None
    assert app.test_client().get(new_path).status_code == 404
    with app.app_context():
        actions = db.session.scalars(
            select(AuditLogEntry.action).where(AuditLogEntry.action.like("partner.logo%"))
        ).all()
        assert sorted(actions) == ["partner.logo_removed", "partner.logo_set", "partner.logo_set"]

    # A logo address still works, and an upload then replaces it (one logo at a time).
    address = "https://chiefs.example/logo.png"
    assert upload(client, None, **{"branding.logo_url": address}).status_code == 302
    assert f'src="{address}"' in app.test_client().get("/w/kc-chiefs/").get_data(as_text=True)
    assert upload(client, image(), **{"branding.logo_url": address}).status_code == 302
    with app.app_context():
        assert db.session.get(Partner, people["partner"]).branding["logo_url"] is None
    assert widget_logo(app.test_client()) is not None
    # ... and typing a new address replaces the upload.
    other = "https://chiefs.example/new-logo.png"
    assert upload(client, None, **{"branding.logo_url": other}).status_code == 302
    assert stored_logo(app, people["partner"]) is None
    assert f'src="{other}"' in app.test_client().get("/w/kc-chiefs/").get_data(as_text=True)


def test_wrong_hashes_and_other_partners_are_404(app, people):
    client = signed_in(app)
    assert upload(client, image()).status_code == 302
    path, digest, _extension = widget_logo(app.test_client())
    anyone = app.test_client()
    for wrong in (
        path.replace(digest, "0" * 16),
        path.replace(digest, digest[:15]),
        path[: -len(".png")] + ".jpg",
        path[: -len(".png")],
        path.replace("/w/kc-chiefs/", "/w/other-team/"),
        path.replace("/w/kc-chiefs/", "/w/nobody/"),
    ):
        answer = anyone.get(wrong)
        assert answer.status_code == 404, wrong
        assert answer.headers["X-Content-Type-Options"] == "nosniff"

    # The other partner's owner uploads their own: kc-chiefs' logo is untouched, and neither
    # logo is served under the other's name.
    other = signed_in(app, "owner@other.example")
    form = {**FORM, "csrf_token": csrf(other, "/admin/branding")}
    form["logo"] = FileStorage(io.BytesIO(image(size=(50, 50))), filename="logo.png")
    assert other.post("/admin/branding", **multipart(form)).status_code == 302
    mine, theirs = stored_logo(app, people["partner"]), stored_logo(app, people["other"])
    assert mine.sha256 != theirs.sha256 and mine.width == 200
    their_name = f"{theirs.sha256[:16]}.png"
    assert anyone.get(f"/w/kc-chiefs/logo/{their_name}").status_code == 404
    assert anyone.get(f"/w/other-team/logo/{their_name}").status_code == 200
    assert their_name not in client.get("/admin/branding").get_data(as_text=True)


def test_a_50_mb_upload_over_real_http_is_answered_413(app, people, live_server):
    """Over a real socket too: the server answers 413 without reading the body into memory,
    and a viewer gets the plain refusal page, not the branding form."""
    import requests

    for email, shows_form in (("owner@chiefs.example", True), ("viewer@chiefs.example", False)):
        session = requests.Session()
        login = session.get(f"{live_server.url}/admin/login")
        token = re.search(r'name="csrf_token" value="([^"]+)"', login.text).group(1)
        session.post(
            f"{live_server.url}/admin/login",
            data={"email": email, "password": PASSWORD, "csrf_token": token},
        )
        page = session.get(f"{live_server.url}/admin/branding").text
        token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
        answer = session.post(
            f"{live_server.url}/admin/branding",
            data={**FORM, "csrf_token": token},
            files={"logo": ("logo.png", b"\0" * (50 * 1024 * 1024), "image/png")},
            timeout=60,
        )
        assert answer.status_code == 413
        assert ('id="f-logo-error">The logo file is larger' in answer.text) is shows_form
        session.close()
    assert stored_logo(app, people["partner"]) is None


def test_a_too_large_upload_shows_no_branding_to_an_admin_who_must_set_up_two_step(app, people):
    """The 413 answer is made before the console's own checks run: it must not show the
    branding page to an editor whose team requires two-step sign-in they have not set up."""
    with app.app_context(), db.transaction() as session:
        session.get(Partner, people["partner"]).require_two_step = True
    client = signed_in(app, "editor@chiefs.example")
    assert client.get("/admin/branding").status_code == 302  # sent to set up two-step
    form = {**FORM, "csrf_token": csrf(client, "/admin/account/two-step")}
    form["logo"] = FileStorage(io.BytesIO(b"\0" * (2 * 1024 * 1024)), filename="logo.png")
    answer = client.post("/admin/branding", **multipart(form))
    assert answer.status_code == 413
    page = answer.get_data(as_text=True)
    assert "f-logo-error" not in page and "This upload is too large" in page
