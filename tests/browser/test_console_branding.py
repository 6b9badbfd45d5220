"""Branding and embedding in the console, in real Chromium: the preview follows the form before
anything is saved, an unreadable theme is refused naming the pair, the copied snippet mounts the
previewed widget on a partner page, axe on the pages and on both preview themes."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from tests.admin_helpers import PASSWORD
from tests.browser.conftest import save_docs_screenshot
from tests.browser.helpers import open_host, wait_page, widget_frame
from tests.browser.test_console import sign_in, violations
from widget_server.domain.accounts.admins import create_admin
from widget_server.extensions import db
from widget_server.models import Partner

PREVIEW_PRIMARY = """() => {
  const frame = document.getElementById('preview-phone');
  const root = frame.contentDocument && frame.contentDocument.documentElement;
  return root ? getComputedStyle(root).getPropertyValue('--rp-primary').trim() : '';
}"""


@pytest.fixture(scope="module")
def owner(world):
    with world.app.app_context(), db.transaction() as session:
        partner = session.scalar(select(Partner).where(Partner.slug == "demo"))
        create_admin(
            session, partner, email="brand@demo-console.example", password=PASSWORD, actor="test"
        )
    return "brand@demo-console.example"


def saved_branding(world) -> dict:
    with world.app.app_context():
        return dict(db.session.scalar(select(Partner).where(Partner.slug == "demo")).branding)


def test_the_preview_changes_before_saving_and_an_unreadable_theme_is_refused(
    world, owner, page, tmp_path
):
    sign_in(world, page, owner)
    page.goto(f"{world.widget}/admin/branding")
    page.wait_for_function(f"() => ({PREVIEW_PRIMARY})() !== ''")
    before = saved_branding(world)["primary_color"]
    assert page.evaluate(PREVIEW_PRIMARY) == before
    page.fill("#f-branding-primary_color", "#7a1f5c")
    page.wait_for_function(f"() => ({PREVIEW_PRIMARY})() === '#7a1f5c'", timeout=10_000)
    assert saved_branding(world)["primary_color"] == before  # not saved: only previewed
    assert violations(page) == []
    save_docs_screenshot(page, "admin-branding-1280", tmp_path)
    page.set_viewport_size({"width": 360, "height": 800})
    save_docs_screenshot(page, "admin-branding-360", tmp_path)
    page.set_viewport_size({"width": 1280, "height": 900})

    page.fill("#f-branding-text_color", "#aaaaaa")
    bad = page.locator("#contrast-list li.bad")
    bad.wait_for()
    assert "Text on Background: 2.32:1, needs 4.5:1 (2.18 short)" in bad.inner_text()
    page.click("text=Save the branding")
    page.wait_for_selector("#f-branding-text_color-error")
    error = page.locator("#f-branding-text_color-error").inner_text()
    assert "Text on Background has contrast 2.32:1" in error
    assert saved_branding(world)["text_color"] != "#aaaaaa"
    assert violations(page) == []
    save_docs_screenshot(page, "admin-branding-refused", tmp_path)

    page.fill("#f-branding-text_color", "#1b1f24")
    page.click("text=Save the branding")
    page.wait_for_selector("text=Branding saved.")
    assert saved_branding(world)["primary_color"] == "#7a1f5c"


def test_axe_on_both_preview_themes(world, owner, page):
    sign_in(world, page, owner)
    page.goto(f"{world.widget}/admin/branding")
    page.wait_for_selector("#preview-phone")
    dark = {
        "#f-branding-background_color": "#101418",
        "#f-branding-text_color": "#f3f5f7",
        "#f-branding-primary_color": "#8ab4f8",
    }
    for selector, value in dark.items():
        page.fill(selector, value)
    page.select_option("#f-branding-color_scheme", "dark")
    page.wait_for_function(f"() => ({PREVIEW_PRIMARY})() === '#8ab4f8'", timeout=10_000)
    previews = {
        "light": f"{world.widget}/w/demo/events/{world.ids['event']}",
        "dark": page.evaluate("document.getElementById('preview-phone').src"),
    }
    for theme, url in previews.items():
        preview = page.context.new_page()
        preview.goto(url)
        preview.wait_for_selector("h1")
        assert violations(preview) == [], theme
        preview.close()


def test_the_copied_snippet_mounts_the_previewed_widget(world, owner, context, tmp_path):
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=world.widget)
    page = context.new_page()
    sign_in(world, page, owner)
    page.goto(f"{world.widget}/admin/embed")
    page.select_option("#e-event", world.ids["event"])
    page.select_option("#e-locale", "es")
    page.wait_for_function(
        "() => document.getElementById('snippet').textContent.includes('data-locale=\"es\"')"
    )
    snippet = page.locator("#snippet").inner_text()
    preview_src = page.evaluate("document.getElementById('embed-preview').src")
    page.click("#copy")
    page.wait_for_selector("text=Copied")
    assert page.evaluate("navigator.clipboard.readText()") == snippet
    assert violations(page) == []
    save_docs_screenshot(page, "admin-embed", tmp_path)

    host = context.new_page()
    open_host(world, host, snippet, path="/embedded")
    host.wait_for_selector("iframe")
    frame = widget_frame(host, world)
    wait_page(frame)
    mounted = frame.url
    assert mounted.split("?")[0] == preview_src.split("?")[0]
    assert "locale=es" in mounted and "locale=es" in preview_src
    look = (
        "() => getComputedStyle(document.documentElement).getPropertyValue('--rp-primary').trim()"
    )
    embedded_look = PREVIEW_PRIMARY.replace("preview-phone", "embed-preview")
    page.wait_for_function(f"() => ({embedded_look})() !== ''")
    previewed = page.evaluate(embedded_look)
    assert frame.evaluate(look) == previewed
    assert frame.evaluate("document.documentElement.lang") == "es"


def _logo_png() -> bytes:
    from io import BytesIO

    from PIL import Image, ImageDraw

    image = Image.new("RGBA", (120, 60), (0, 0, 0, 0))
    ImageDraw.Draw(image).ellipse((4, 4, 116, 56), fill=(11, 92, 173, 255))
    out = BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


LOADED_LOGO = """(root) => {
  const img = root.querySelector('img.rp-logo');
  return img && img.complete && img.naturalWidth > 0 ? img.getAttribute('src') : null;
}"""


def test_an_uploaded_logo_shows_in_the_widget_and_axe_passes_at_both_widths(
    world, owner, page, tmp_path
):
    sign_in(world, page, owner)
    page.goto(f"{world.widget}/admin/branding")
    page.set_input_files(
        "#f-logo", files=[{"name": "club.png", "mimeType": "image/png", "buffer": _logo_png()}]
    )
    # Before saving, the preview shows the chosen file (checked and re-encoded by the server).
    unsaved = page.wait_for_function(
        f"() => {{ const d = document.getElementById('preview-phone').contentDocument;"
        f" const src = d && ({LOADED_LOGO})(d);"
        f" return src && src.startsWith('/admin/branding/logo_preview/') ? src : null; }}",
        timeout=10_000,
    ).json_value()
    assert unsaved.endswith(".png")
    assert page.locator("#preview-h").inner_text() == "Preview (not saved yet)"
    assert violations(page) == []
    page.screenshot(path=str(tmp_path / "branding-logo-unsaved-1280.png"), full_page=True)
    page.click("text=Save the branding")
    page.wait_for_selector("text=Branding saved.")
    assert page.locator("#preview-h").inner_text() == "Preview"
    page.wait_for_function(
        "() => { const img = document.getElementById('logo-now');"
        " return img && img.complete && img.naturalWidth === 120; }"
    )

    # The widget (inside a partner's page and on its own) shows it, loaded from its hashed URL.
    widget = page.context.new_page()
    widget.goto(f"{world.widget}/w/demo/")
    src = widget.wait_for_function(f"() => ({LOADED_LOGO})(document)", timeout=10_000).json_value()
    assert src.startswith("/w/demo/logo/") and src.endswith(".png")
    widget.close()
    # ... and so does the console's preview of it.
    page.wait_for_function(
        f"() => {{ const d = document.getElementById('preview-phone').contentDocument;"
        f" return d && ({LOADED_LOGO})(d) === {src!r}; }}"
    )

    assert violations(page) == []
    save_docs_screenshot(page, "admin-branding-logo", tmp_path)
    page.set_viewport_size({"width": 360, "height": 800})
    assert violations(page) == []
    page.set_viewport_size({"width": 1280, "height": 900})

    # A file that is not an image is refused on the form, naming the field.
    page.set_input_files(
        "#f-logo", files=[{"name": "logo.png", "mimeType": "image/png", "buffer": b"<svg/>"}]
    )
    page.click("text=Save the branding")
    error = page.locator("#f-logo-error")
    error.wait_for()
    assert "PNG, JPEG or WebP" in error.inner_text()
    assert violations(page) == []
    save_docs_screenshot(
        page.locator("fieldset:has(#f-logo)"), "admin-branding-logo-refused", tmp_path
    )


PREVIEW_HEADLINE = """() => {
  const frame = document.getElementById('preview-phone');
  const doc = frame.contentDocument;
  const h1 = doc && doc.querySelector('h1.rp-title');
  return h1 ? [doc.documentElement.lang, h1.textContent.trim()] : null;
}"""


def test_typing_a_headline_changes_the_preview_before_saving(world, owner, page):
    sign_in(world, page, owner)
    page.goto(f"{world.widget}/admin/branding")
    page.wait_for_function(f"() => ({PREVIEW_HEADLINE})() !== null")
    page.fill("#f-wording-es-headline", "¡Todos al estadio <en bus>!")
    page.wait_for_function(
        f"() => JSON.stringify(({PREVIEW_HEADLINE})()) === "
        "JSON.stringify(['es', '¡Todos al estadio <en bus>!'])",
        timeout=10_000,
    )
    with world.app.app_context():
        partner = db.session.scalar(select(Partner).where(Partner.slug == "demo"))
        assert (partner.wording or {}).get("es", {}).get("headline") is None  # only previewed
    page.fill("#f-wording-fr-intro", "Départ à 17 h, retour après le match.")
    page.wait_for_function(
        "() => { const d = document.getElementById('preview-phone').contentDocument;"
        " const p = d && d.querySelector('.rp-intro');"
        " return d && d.documentElement && d.documentElement.lang === 'fr' && p"
        " && p.textContent.includes('Départ à 17 h'); }",
        timeout=10_000,
    )


def test_a_preview_opened_at_top_level_says_so_and_sends_nothing(world, page):
    """Issue 19: a preview link (any wording, any logo) opened as a page of its own shows the
    preview banner, and its pledge form cannot be sent: no request leaves the page."""
    from widget_server.domain.preview import preview_token

    token = preview_token(
        world.app.config["SECRET_KEY"],
        "demo",
        {"primary_color": "#7a1f5c"},
        wording={"en": {"headline": "Confirm your card to keep your seat"}},
    )
    writes = []
    page.on("request", lambda r: writes.append(r.url) if r.method == "POST" else None)
    page.goto(f"{world.widget}/w/demo/trips/{world.ids['open']}/pledge?preview={token}")
    banner = page.locator(".rp-preview")
    assert banner.is_visible() and "nothing can be sent" in banner.inner_text()
    submit = page.locator("form button[type=submit]").first
    assert submit.is_disabled()
    page.fill("input[name=name]", "Sam Fan", force=True)
    page.evaluate("() => document.querySelector('form[method=post]').requestSubmit()")
    page.wait_for_timeout(500)
    assert writes == []
    assert "preview=" in page.url and "/pledge" in page.url
