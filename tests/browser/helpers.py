"""Small steps the browser tests share: open a partner page, find the widget, wait for it."""

from __future__ import annotations

import json
import secrets

import requests

from tests.browser.host_site import host_page


def api_pledge(world, partner: str, trip_id: str, stop_id: str, **fields) -> str:
    """Pledge through the widget API over HTTP (another fan); returns the manage token."""
    body = {
        "stop_id": stop_id,
        "seats": 1,
        "name": "Other Fan",
        "email": "other@example.com",
        "payment_method": "pm_card_visa",
        **fields,
    }
    response = requests.post(
        f"{world.widget}/w/{partner}/api/trips/{trip_id}/pledges", json=body, timeout=10
    )
    assert response.status_code == 201, response.text
    return response.json()["manage_url"].rsplit("/", 1)[1]


def open_host(world, page, body: str, *, path: str = "/", query: str = "", lang: str = "en"):
    """Serve `body` as a partner page on the partner site and open it; returns the page."""
    world.site.pages[path] = host_page(world.widget, body, lang=lang)
    page.goto(world.site.url + path + query)
    return page


def heard(page, name: str | None = None, *, dom: bool = False) -> list[dict]:
    events = page.evaluate("window.heardDom" if dom else "window.heard")
    return [event for event in events if name is None or event["name"] == name]


def wait_heard(page, name: str, count: int = 1, timeout: int = 10_000) -> list[dict]:
    page.wait_for_function(
        f"() => window.heard.filter(e => e.name === {json.dumps(name)}).length >= {count}",
        timeout=timeout,
    )
    return heard(page, name)


def widget_frame(page, world, index: int = 0):
    """The widget's Frame (the n-th iframe served by the widget server)."""
    frames = [frame for frame in page.frames if frame.url.startswith(world.widget)]
    return frames[index]


def wait_page(frame, selector: str = "h1") -> None:
    """Wait until the widget page in `frame` is loaded and its script ran. The selector first:
    it tells the new page from the one being left (whose load state is already reached); then
    that page's load event, which follows its scripts, so widget.js has moved the focus
    (`data-autofocus`) before a test starts pressing Tab (a loaded CI run lost that race)."""
    frame.wait_for_selector(selector)
    frame.wait_for_load_state("load")


def settled_height(page, frame_selector: str = "iframe") -> int:
    """Wait until the iframe's height stops changing (the loader applied the page's height)."""
    page.wait_for_function(
        """(selector) => {
            const frame = document.querySelector(selector);
            if (!frame) return false;
            const h = frame.getBoundingClientRect().height;
            const stable = window.__lastH === h;
            window.__lastH = h;
            return stable;
        }""",
        arg=frame_selector,
        polling=150,
    )
    return page.evaluate(
        "(s) => document.querySelector(s).getBoundingClientRect().height", frame_selector
    )


def inner_overflow(frame) -> dict:
    """How far the widget page's content exceeds its iframe (0, 0 means no scrollbar needed)."""
    return frame.evaluate(
        """() => ({
            vertical: document.documentElement.scrollHeight - window.innerHeight,
            horizontal: document.documentElement.scrollWidth - window.innerWidth,
        })"""
    )


def tab_to(page, frame, selector: str, limit: int = 60) -> None:
    """Press Tab (keyboard only) until the element matching `selector` in `frame` has focus."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if frame.evaluate(
            "(s) => document.hasFocus() && document.activeElement.matches(s)", selector
        ):
            return
    raise AssertionError(f"Tab never reached {selector}")


def listen_for_marker(receiver) -> str:
    """Make `receiver` (a Page or Frame) note a marker message; returns the marker's token.
    Post it after the messages under test (`{rpTestMarker: token}`) and `wait_for_marker`:
    messages from one window arrive in the order they were posted, so once the marker is in,
    everything posted before it has been handled. No fixed sleep before "nothing arrived"."""
    token = secrets.token_hex(8)
    receiver.evaluate(
        # The prototype's method: a page counting its own listeners does not see this one.
        """(token) => { window.__markers = window.__markers || {};
            EventTarget.prototype.addEventListener.call(window, 'message', (event) => {
                if (event.data && event.data.rpTestMarker === token) window.__markers[token] = true;
            }); }""",
        token,
    )
    return token


def wait_for_marker(receiver, token: str) -> None:
    receiver.wait_for_function("(t) => !!(window.__markers && window.__markers[t])", arg=token)


def after_messages_from(sender, receiver, target: str = "parent") -> None:
    """Wait until `receiver` handled every message `sender` posted to it so far (`target` is
    the receiving window as the sender names it: "parent", or "window" for the page itself)."""
    token = listen_for_marker(receiver)
    sender.evaluate(f"(t) => {target}.postMessage({{rpTestMarker: t}}, '*')", token)
    wait_for_marker(receiver, token)
