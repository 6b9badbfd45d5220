"""Posting the widget's HTML forms as a browser would: read the page, take the form's hidden
fields (its signed `form_token`), send them with the fan's input."""

from __future__ import annotations

from html.parser import HTMLParser


class _Forms(HTMLParser):
    def __init__(self):
        super().__init__()
        self.forms: list[dict] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form":
            self.forms.append({"action": attrs.get("action", ""), "hidden": {}})
        elif tag == "input" and attrs.get("type") == "hidden" and self.forms:
            self.forms[-1]["hidden"][attrs.get("name")] = attrs.get("value") or ""


def forms(html: str) -> list[dict]:
    """Every form of `html`: its action and its hidden fields."""
    parser = _Forms()
    parser.feed(html)
    return parser.forms


def form_fields(html: str, action_part: str) -> tuple[str, dict]:
    """(action, hidden fields) of the form whose action contains `action_part`."""
    for form in forms(html):
        if action_part in form["action"]:
            return form["action"], dict(form["hidden"])
    raise AssertionError(f"no form posting to *{action_part}* on the page")


def submit_form(client, page_url: str, action_part: str, data: dict | None = None, **kwargs):
    """GET `page_url`, then POST its form (hidden fields + `data`) the way a browser would."""
    page = client.get(page_url)
    assert page.status_code == 200, page.status_code
    action, hidden = form_fields(page.get_data(as_text=True), action_part)
    return client.post(action, data={**hidden, **(data or {})}, **kwargs)
