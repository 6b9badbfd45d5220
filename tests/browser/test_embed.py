"""The widget embedded in a partner's page on another origin, in real Chromium: the loader,
events, sizing, branding, keyboard use, languages and the browser's own refusals."""

from __future__ import annotations

import json
import re
from urllib.parse import quote

import requests
from sqlalchemy import select

from tests.browser.conftest import save_docs_screenshot
from tests.browser.helpers import (
    after_messages_from,
    api_pledge,
    heard,
    inner_overflow,
    listen_for_marker,
    open_host,
    settled_height,
    tab_to,
    wait_for_marker,
    wait_heard,
    wait_page,
    widget_frame,
)
from widget_server.extensions import db
from widget_server.models import DemandSignal, Pledge

PLEDGE_CREATED_KEYS = {"pledge_id", "trip_id", "seats", "amount", "currency", "status"}


def declarative(world, partner: str = "demo", event_key: str = "event", element_id="rides"):
    event = world.ids[event_key]
    return (
        f'<div id="{element_id}" data-ridepledge data-partner="{partner}" data-event="{event}">'
        f'<a href="{world.widget}/w/{partner}/events/{event}">Book a seat on the bus</a></div>'
    )


def queued(world, options: dict, element_id: str = "rides") -> str:
    return (
        f'<div id="{element_id}"></div><script>RidePledge("mount", "#{element_id}", '
        f"{json.dumps(options)});</script>"
    )


def frame_path(world, path: str, **query) -> str:
    query = {"host": world.site.origin, **query}
    return f"{world.widget}{path}?" + "&".join(f"{k}={v}" for k, v in query.items())


def test_a_page_on_another_origin_mounts_the_widget_and_hears_ready(world, page):
    open_host(world, page, declarative(world))
    ready = wait_heard(page, "ready")
    assert ready == [
        {"name": "ready", "detail": {"partner": "demo", "locale": "en"}, "container": "rides"}
    ]
    assert heard(page, "ready", dom=True)[0]["container"] == "rides"
    assert world.site.origin != world.widget  # really cross-origin
    frame = widget_frame(page, world)
    assert frame.url.startswith(f"{world.widget}/w/demo/events/{world.ids['event']}?host=")
    iframe = page.locator("#rides iframe")
    assert iframe.get_attribute("title") == "Rides to the game"
    assert page.locator("#rides a").is_hidden()  # the no-JavaScript link gives way
    assert frame.locator("h1").inner_text() == "Demo City FC vs. Riverside United"


def test_keyboard_only_pledge_reaches_the_host_page_with_the_contract_payload(world, page):
    options = {
        "partner": "demo",
        "event": world.ids["event"],
        "prefill": {"email": "fan@example.com", "name": "Sam Fan"},
    }
    open_host(
        world, page, queued(world, options), query="?utm_source=newsletter&utm_campaign=derby"
    )
    wait_heard(page, "ready")
    frame = widget_frame(page, world)
    wait_page(frame)
    trip_link = f'a[href*="/trips/{world.ids["open"]}?"]'
    tab_to(page, frame, trip_link)
    outline = frame.evaluate(
        "() => { const s = getComputedStyle(document.activeElement); "
        "return [s.outlineStyle, parseFloat(s.outlineWidth)]; }"
    )
    assert outline[0] != "none" and outline[1] >= 2  # visible focus
    page.keyboard.press("Enter")
    viewed = wait_heard(page, "trip.viewed")
    assert viewed[0]["detail"] == {"trip_id": world.ids["open"], "event_id": world.ids["event"]}
    wait_page(frame, "text=Bus from Springfield")
    tab_to(page, frame, 'a[href*="/pledge"]')
    page.keyboard.press("Enter")
    wait_page(frame, "form[data-pledge-form]")
    frame.wait_for_function("() => document.getElementById('email').value === 'fan@example.com'")
    assert frame.input_value("#name") == "Sam Fan"  # prefilled by the host page

    tab_to(page, frame, "input[name=stop_id]")
    page.keyboard.press("ArrowDown")  # second stop
    tab_to(page, frame, "#seats")
    page.keyboard.press("Control+A")
    page.keyboard.type("2")
    # The server prices the pledge (the price quote): the total follows a moment later.
    frame.wait_for_function(
        "() => document.querySelector('[data-total]').innerText.trim() === 'Total: $70.00'"
    )
    tab_to(page, frame, "#card_number")
    page.keyboard.type("4242 4242 4242 4242")
    tab_to(page, frame, "button[data-submit]")
    page.keyboard.press("Enter")

    created = wait_heard(page, "pledge.created")[0]
    assert set(created["detail"]) == PLEDGE_CREATED_KEYS
    with world.app.app_context():
        pledge = db.session.scalar(select(Pledge).where(Pledge.email == "fan@example.com"))
        assert created["detail"] == {
            "pledge_id": pledge.id,
            "trip_id": world.ids["open"],
            "seats": 2,
            "amount": 7000,
            "currency": "USD",
            "status": "pledged",
        }
        assert pledge.stop_id == pledge.trip.stops[1].id and pledge.name == "Sam Fan"
        assert pledge.attribution == {"utm_source": "newsletter", "utm_campaign": "derby"}
    assert heard(page, "pledge.created", dom=True)[0]["detail"] == created["detail"]
    wait_page(frame, "text=Pledge received. Thank you, Sam Fan!")

    tab_to(page, frame, 'a[href*="/manage/"]')
    page.keyboard.press("Enter")
    wait_page(frame, "a[data-withdraw-start]")
    tab_to(page, frame, "a[data-withdraw-start]")
    page.keyboard.press("Enter")  # the question first
    wait_page(frame, "form[data-withdraw-form]")
    tab_to(page, frame, "form[data-withdraw-form] button")
    page.keyboard.press("Enter")
    canceled = wait_heard(page, "pledge.canceled")[0]["detail"]
    assert canceled == {**created["detail"], "status": "canceled"}
    wait_page(frame, "text=Your pledge was withdrawn. Nothing was charged.")


def test_keyboard_only_seat_change_in_the_iframe_shows_the_new_total_first(world, page):
    trip_id = world.ids["open"]
    trip = requests.get(f"{world.widget}/w/demo/api/trips/{trip_id}", timeout=10).json()
    token = api_pledge(world, "demo", trip_id, trip["stops"][0]["id"], email="s@example.com")
    open_host(world, page, declarative(world))
    wait_heard(page, "ready")
    frame = widget_frame(page, world)
    frame.goto(frame_path(world, f"/w/demo/manage/{token}"))
    wait_page(frame, "#change-seats")
    tab_to(page, frame, "#change-seats")
    page.keyboard.press("Control+A")
    page.keyboard.type("2")
    page.keyboard.press("Enter")  # the new total first, nothing changed yet
    wait_page(frame, "[data-new-price]")
    assert frame.locator("[data-new-total]").inner_text() == "Your new total: $70.00 (was $35.00)"
    assert frame.url.startswith(f"{world.widget}/w/demo/manage/{token}/seats?")
    assert f"host={quote(world.site.origin, safe='')}" in frame.url  # still embedded
    tab_to(page, frame, "button[data-confirm-yes]")
    page.keyboard.press("Enter")
    wait_page(frame, "text=Your seats were changed.")
    assert frame.locator("[data-amount]").inner_text() == "$70.00"
    with world.app.app_context():
        pledge = db.session.scalar(select(Pledge).where(Pledge.email == "s@example.com"))
        assert (pledge.seats, pledge.amount) == (2, 7000)


def test_request_a_trip_tells_the_host_page(world, page):
    open_host(world, page, declarative(world))
    wait_heard(page, "ready")
    frame = widget_frame(page, world)
    frame.goto(frame_path(world, f"/w/demo/events/{world.ids['event']}/request"))
    wait_page(frame, "form[data-request-form]")
    frame.click("button[data-submit]")  # empty: the fan is told, nothing is sent
    assert frame.locator("[data-error-for=origin]").inner_text() == (
        "⚠ Enter a city, region or postal code."
    )
    assert frame.evaluate("document.activeElement.id") == "origin"
    frame.fill("#origin", "Peoria")
    frame.fill("#email", "peoria@example.com")
    frame.click("button[data-submit]")
    requested = wait_heard(page, "demand.requested")[0]["detail"]
    assert requested == {"event_id": world.ids["event"], "origin": "Peoria", "count": 1}
    wait_page(frame, "text=1 fan has asked for a bus from Peoria.")
    with world.app.app_context():
        assert db.session.scalar(select(DemandSignal.email)) == "peoria@example.com"


def _resizes_after_settling(page) -> int:
    page.evaluate(
        """() => { window.__resizes = 0; new MutationObserver(() => window.__resizes++)
            .observe(document.querySelector('iframe'), {attributes: true,
                                                         attributeFilter: ['style']}); }"""
    )
    page.wait_for_timeout(600)
    return page.evaluate("window.__resizes")


def test_the_iframe_fits_its_content_without_a_scrollbar_at_360_and_1280(world, page):
    ids = world.ids
    pages = [
        f"/w/demo/events/{ids['event']}",
        f"/w/demo/trips/{ids['open']}",
        f"/w/demo/trips/{ids['open']}/pledge",
        f"/w/demo/trips/{ids['sold_out']}",
        f"/w/demo/events/{ids['event']}/request",
        "/w/demo/",
    ]
    for width in (360, 1280):
        page.set_viewport_size({"width": width, "height": 800})
        open_host(world, page, declarative(world))
        wait_heard(page, "ready")
        frame = widget_frame(page, world)
        for path in pages:
            frame.goto(frame_path(world, path))
            wait_page(frame)
            height = settled_height(page)
            content = frame.evaluate(
                "Math.ceil(document.documentElement.getBoundingClientRect().height)"
            )
            assert abs(height - content) <= 1, (width, path, height, content)
            assert inner_overflow(frame) == {"vertical": 0, "horizontal": 0}, (width, path)
            assert _resizes_after_settling(page) == 0, (width, path)  # no resize loop
        # The form's errors make the page taller: the iframe follows.
        frame.goto(frame_path(world, f"/w/demo/trips/{ids['open']}/pledge"))
        wait_page(frame, "form[data-pledge-form]")
        before = settled_height(page)
        frame.click("button[data-submit]")
        frame.wait_for_selector("[data-form-problem]:not([hidden])")
        assert settled_height(page) > before
        assert inner_overflow(frame) == {"vertical": 0, "horizontal": 0}


def _styles(frame) -> dict:
    return frame.evaluate(
        """() => {
            const body = getComputedStyle(document.body);
            const button = getComputedStyle(document.querySelector('.rp-button-link'));
            return {background: body.backgroundColor, text: body.color, font: body.fontFamily,
                    button: button.backgroundColor, label: button.color,
                    radius: button.borderTopLeftRadius, scheme: body.colorScheme};
        }"""
    )


def test_partner_branding_shows_in_computed_styles(world, page, tmp_path):
    body = declarative(world) + declarative(world, "demo-away", "away_event", "away")
    open_host(world, page, body)
    wait_heard(page, "ready", count=2)
    home = _styles(widget_frame(page, world, 0))
    assert home["background"] == "rgb(255, 255, 255)" and home["text"] == "rgb(20, 33, 61)"
    assert home["button"] == "rgb(11, 92, 173)" and home["label"] == "rgb(255, 255, 255)"
    assert home["radius"] == "10px" and home["font"].startswith("system-ui")
    away = _styles(widget_frame(page, world, 1))
    assert away["background"] == "rgb(18, 18, 18)" and away["text"] == "rgb(241, 241, 241)"
    assert away["button"] == "rgb(230, 57, 70)" and away["label"] == "rgb(0, 0, 0)"
    assert away["radius"] == "0px" and away["font"].startswith("Georgia")
    assert away["scheme"] == "dark"
    logo = widget_frame(page, world, 0).locator(".rp-logo")
    assert logo.is_visible() and logo.evaluate("img => img.naturalWidth") > 0


def test_a_host_origin_the_partner_does_not_allow_is_refused_by_the_browser(world, page):
    console = []
    page.on("console", lambda message: console.append(message.text))
    world.site.pages["/refused"] = world.site.pages.get("/refused") or ""
    open_host(
        world,
        page,
        queued(world, {"partner": "demo", "event": world.ids["event"], "timeout": 2500}),
        path="/refused",
    )
    page.goto(world.site.other_origin + "/refused")  # same page, an origin not allowed
    failed = wait_heard(page, "error")
    assert failed[0]["detail"]["code"] == "load_failed" and heard(page, "ready") == []
    assert any("frame-ancestors" in line for line in console), console
    assert not [frame for frame in page.frames if frame.url.startswith(world.widget)]


def test_spanish_and_french_pages_are_translated(world, page):
    ids = world.ids
    options = {"partner": "demo", "event": ids["event"], "locale": "es"}
    open_host(world, page, queued(world, options))
    assert wait_heard(page, "ready")[0]["detail"]["locale"] == "es"
    frame = widget_frame(page, world)
    wait_page(frame)
    assert frame.evaluate("document.documentElement.lang") == "es"
    # Other tests of this module may have pledged on the shared trip first (random order).
    assert re.search(r"\d+ de 40 asientos reservados", frame.locator("main").inner_text())
    assert page.locator("iframe").get_attribute("title") == "Viajes al partido"
    frame.goto(frame_path(world, f"/w/demo/trips/{ids['open']}/pledge", locale="es"))
    wait_page(frame, "form[data-pledge-form]")
    assert frame.locator("label[for=name]").inner_text() == "Tu nombre"
    assert "35,00" in frame.locator("[data-total]").inner_text()

    # No option: the host page's own language (here French) decides.
    open_host(world, page, declarative(world), path="/fr", lang="fr")
    wait_heard(page, "ready")
    frame = widget_frame(page, world)
    wait_page(frame)
    text = frame.locator("main").inner_text()
    assert frame.evaluate("document.documentElement.lang") == "fr"
    assert re.search(r"\d+ places? réservées? sur 40", text) and "Tous les matchs" in text


def test_destroy_and_remount_leave_no_duplicate_listeners(world, page):
    counting = """<script>
      window.messageListeners = 0;
      const add = window.addEventListener, remove = window.removeEventListener;
      window.addEventListener = function (type, fn, options) {
        if (type === 'message') window.messageListeners++;
        return add.call(this, type, fn, options); };
      window.removeEventListener = function (type, fn, options) {
        if (type === 'message') window.messageListeners--;
        return remove.call(this, type, fn, options); };
    </script>"""
    open_host(world, page, counting + declarative(world))
    wait_heard(page, "ready")
    options = json.dumps({"partner": "demo", "event": world.ids["event"]})
    page.evaluate(
        f"RidePledge('mount', '#rides', {options}); RidePledge('mount', '#rides', {options})"
    )
    wait_heard(page, "ready", count=2)  # the second mount replaced the first one
    after_messages_from(widget_frame(page, world), page)  # nothing else is on its way
    assert len(heard(page, "ready")) == 2
    assert page.locator("#rides iframe").count() == 1
    assert page.evaluate("window.messageListeners") == 1
    page.evaluate("RidePledge('destroy', '#rides')")
    assert page.locator("iframe").count() == 0 and page.evaluate("window.messageListeners") == 0
    assert page.locator("#rides a").is_visible()  # the fallback link is back
    # Registering the same handler again (a remounted component) does not double it.
    page.evaluate(
        f"RidePledge('on', 'trip.viewed', window['on_trip.viewed']); "
        f"RidePledge('mount', '#rides', {options})"
    )
    wait_heard(page, "ready", count=3)
    assert page.evaluate("window.messageListeners") == 1
    frame = widget_frame(page, world)
    frame.goto(frame_path(world, f"/w/demo/trips/{world.ids['open']}"))
    wait_heard(page, "trip.viewed")
    after_messages_from(frame, page)
    assert len(heard(page, "trip.viewed")) == 1
    assert len(heard(page, "trip.viewed", dom=True)) == 1
    # 'off' stops a handler; the DOM event still fires.
    page.evaluate("RidePledge('off', 'trip.viewed', window['on_trip.viewed'])")
    frame.goto(frame_path(world, f"/w/demo/trips/{world.ids['sold_out']}"))
    page.wait_for_function("() => window.heardDom.filter(e => e.name === 'trip.viewed').length > 1")
    assert len(heard(page, "trip.viewed")) == 1
    page.evaluate("RidePledge('destroy')")  # everything: widgets and handlers
    assert page.locator("iframe").count() == 0 and page.evaluate("window.messageListeners") == 0


def test_several_widgets_on_one_page_each_keep_their_own_size_and_events(world, page):
    body = declarative(world) + declarative(world, "demo-away", "away_event", "away")
    open_host(world, page, body)
    ready = wait_heard(page, "ready", count=2)
    assert {event["container"] for event in ready} == {"rides", "away"}
    heights = [settled_height(page, "#rides iframe"), settled_height(page, "#away iframe")]
    assert heights[0] != heights[1]
    away = widget_frame(page, world, 1)
    away.goto(frame_path(world, f"/w/demo-away/trips/{world.ids['away_open']}"))
    viewed = wait_heard(page, "trip.viewed")
    assert viewed[0]["container"] == "away"
    assert viewed[0]["detail"]["trip_id"] == world.ids["away_open"]


def test_progress_updates_live_without_a_reload(world, page):
    open_host(world, page, declarative(world))
    wait_heard(page, "ready")
    frame = widget_frame(page, world)
    wait_page(frame)
    frame.evaluate("window.stillTheSamePage = true")
    card = frame.locator(f'[data-trip-card="{world.ids["open"]}"]')
    before = card.locator("[data-progress-text]").inner_text()
    trip_id = world.ids["open"]
    stops = requests.get(f"{world.widget}/w/demo/api/trips/{trip_id}", timeout=10).json()["stops"]
    api_pledge(world, "demo", trip_id, stops[0]["id"], seats=5)
    pledged = int(before.split()[0]) + 5
    # The widget polls every second (through the edge cache in production): the page and the
    # host page learn of the pledge within a couple of seconds, without being asked to look.
    frame.wait_for_function(
        "([id, start]) => document.querySelector(`[data-trip-card='${id}'] [data-progress-text]`)"
        ".textContent.startsWith(start)",
        arg=[trip_id, f"{pledged} of 40"],
        timeout=5_000,
    )
    assert frame.evaluate("window.stillTheSamePage") is True
    assert card.locator("[data-progress-text]").get_attribute("aria-live") == "polite"
    assert card.locator("[data-seats-left]").inner_text() == str(40 - pledged)
    progress = wait_heard(page, "trip.progress")[-1]["detail"]
    assert progress == {
        "trip_id": trip_id,
        "status": "open",
        "seats_pledged": pledged,
        "seats_available": 40 - pledged,
        "capacity": 40,
        "min_riders": 25,
    }


def test_without_javascript_the_host_page_links_to_the_hosted_widget_which_still_works(
    world, browser
):
    context = browser.new_context(java_script_enabled=False)
    try:
        page = context.new_page()
        open_host(world, page, declarative(world))
        link = page.locator("#rides a")
        assert link.is_visible() and page.locator("iframe").count() == 0
        link.click()
        page.wait_for_url(f"{world.widget}/w/demo/events/**")
        page.click(f'a[href*="/trips/{world.ids["open"]}"]')
        page.click('a[href*="/pledge"]')
        page.fill("#seats", "1")
        page.fill("#name", "No Script")
        page.fill("#email", "noscript@example.com")
        page.fill("#card_number", "4242424242424242")
        page.click("button[data-submit]")
        page.wait_for_url("**/pledged/**")
        assert "Pledge received. Thank you, No Script!" in page.locator("h1").inner_text()
    finally:
        context.close()


def test_screenshots_for_the_embed_guide(world, page, tmp_path):
    """The pictures in docs/embed.md (written there with RIDEPLEDGE_SCREENSHOTS=1)."""
    shots = [
        ("demo", "event", 1280, f"/w/demo/events/{world.ids['event']}"),
        ("demo", "pledge", 360, f"/w/demo/trips/{world.ids['open']}/pledge"),
        ("demo-away", "event", 360, f"/w/demo-away/events/{world.ids['away_event']}"),
        ("demo-away", "trip", 1280, f"/w/demo-away/trips/{world.ids['away_open']}"),
    ]
    for partner, name, width, path in shots:
        page.set_viewport_size({"width": width, "height": 800})
        key = "event" if partner == "demo" else "away_event"
        open_host(
            world, page, declarative(world, partner, key), lang="es" if "away" in partner else "en"
        )
        wait_heard(page, "ready")
        frame = widget_frame(page, world)
        frame.goto(frame_path(world, path, locale="es" if "away" in partner else "en"))
        wait_page(frame)
        height = settled_height(page)
        page.set_viewport_size({"width": width, "height": int(height) + 100})
        settled_height(page)
        shot = save_docs_screenshot(
            page.locator("#rides"), f"widget-{partner}-{name}-{width}", tmp_path
        )
        assert shot.stat().st_size > 5_000


def test_messages_not_from_the_widget_frame_are_ignored(world, page):
    open_host(world, page, declarative(world))
    wait_heard(page, "ready")
    forged = {"rp": 1, "type": "event", "name": "pledge.created", "detail": {"pledge_id": "x"}}
    # The host page itself (right source origin for nothing), and a frame of another origin.
    page.evaluate("(m) => window.postMessage(m, '*')", forged)
    after_messages_from(page, page, target="window")
    token = listen_for_marker(page)
    page.evaluate(
        """([m, t]) => { const f = document.createElement('iframe');
                    f.srcdoc = '<script>parent.postMessage(' + JSON.stringify(m) + ', "*");' +
                               'parent.postMessage({rpTestMarker: "' + t + '"}, "*")</' +
                               'script>';
                    document.body.append(f); }""",
        [forged, token],
    )
    wait_for_marker(page, token)  # the forged message was handled before it
    assert heard(page, "pledge.created") == [] and heard(page, "pledge.created", dom=True) == []
    # The widget takes `init` (prefill) only from its parent window at the trusted origin: a
    # frame of that same origin that is not the parent is ignored; the parent is heard.
    frame = widget_frame(page, world)
    frame.goto(frame_path(world, f"/w/demo/trips/{world.ids['open']}/pledge"))
    wait_page(frame, "form[data-pledge-form]")
    init = {"rp": 1, "type": "init", "prefill": {"email": "forged@example.com"}}
    token = listen_for_marker(frame)
    page.evaluate(
        """([m, origin, t]) => { const f = document.createElement('iframe');
              f.srcdoc = '<script>parent.frames[0].postMessage(' + JSON.stringify(m) + ', "' +
                         origin + '"); parent.frames[0].postMessage({rpTestMarker: "' + t +
                         '"}, "' + origin + '")</' + 'script>';
              document.body.append(f); }""",
        [init, world.widget, token],
    )
    wait_for_marker(frame, token)  # the forged init was handled before it
    assert frame.input_value("#email") == ""
    page.evaluate(
        "([m, origin]) => document.querySelector('#rides iframe').contentWindow"
        ".postMessage(m, origin)",
        [init, world.widget],
    )
    frame.wait_for_function("() => document.getElementById('email').value !== ''")
    assert frame.input_value("#email") == "forged@example.com"
