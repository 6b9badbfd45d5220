"""Tokens in URLs never reach a log line, a metric label or a referrer: decided by route, for
every rule of the URL map (`widget_server/path_secrets.py`)."""

from __future__ import annotations

import io
import logging
import re
import secrets

import requests

from tests.admin_helpers import make_admin
from tests.api_helpers import ApiSession, issue_token
from tests.tripday.helpers import confirmed_trip
from widget_server.domain.accounts import password_links
from widget_server.domain.preview import preview_token
from widget_server.extensions import db
from widget_server.ids import new_id
from widget_server.models import AdminUser, Partner
from widget_server.observability.logs import JsonFormatter, log_access, redact
from widget_server.path_ids import is_id_variable
from widget_server.path_secrets import (
    PUBLIC_VARIABLES,
    is_secret_variable,
    secret_variables,
)

_VARIABLE = re.compile(r"<(?:[^:>]+:)?([^>]+)>")


def _fill(rule: str, values: dict) -> str:
    """The rule's path with `values`; an id variable not in them gets a well-formed unknown id
    (`/d/<token>/stops/<stop_id>/call`: the token is what is checked here)."""

    def value(match) -> str:
        name = match.group(1)
        return values[name] if name in values or not is_id_variable(name) else new_id("obj")

    return _VARIABLE.sub(value, rule)


def test_every_route_variable_is_classified_and_no_token_bearing_rule_is_logged(app):
    """A new route variable must be an id, a token or a known public value; every route that
    holds a token has it removed from the access line, werkzeug's line and any message."""
    token_rules = []
    for rule in app.url_map.iter_rules():
        for name in rule.arguments:
            assert is_id_variable(name) or is_secret_variable(name) or name in PUBLIC_VARIABLES, (
                f"{rule.rule}: is <{name}> a secret? name it `token`/`*_token` or list it in "
                "path_secrets.PUBLIC_VARIABLES"
            )
        if not secret_variables(rule):
            continue
        token_rules.append(rule.rule)
        token = secrets.token_urlsafe(24)
        values = {name: "x" + secrets.token_hex(4) for name in rule.arguments}
        values.update({name: token for name in secret_variables(rule)})
        path = _fill(rule.rule, values)
        lines = [
            f'127.0.0.1 - - "POST {path}?host=x HTTP/1.1" 303 -',
            f"unhandled error on GET https://rides.example{path}",
            f"Traceback: KeyError('{path}')",
        ]
        for line in lines:
            assert token not in redact(line), (rule.rule, redact(line))
    assert len(token_rules) >= 10  # manage (pages + API), pledged, waitlist, driver, password


def test_the_old_redaction_missed_these_paths():
    """The driver, confirmation, waitlist and console password paths (regression)."""
    token = "InRva2VuIg.abcdefghijklmnopqrstuvwx"
    for path in (
        f"/d/{token}/manifest",
        f"/w/kc/pledged/{token}",
        f"/w/kc/waitlist/{token}/claim",
        f"/admin/password/reset/{token}",
        f"/w/kc/api/manage/{token}",
    ):
        assert token not in redact(f"GET {path} 200"), path


def _capture_logs():
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    saved = root.level, logging.getLogger("werkzeug").level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    logging.getLogger("werkzeug").setLevel(logging.INFO)

    def stop() -> str:
        root.removeHandler(handler)
        root.setLevel(saved[0])
        logging.getLogger("werkzeug").setLevel(saved[1])
        return stream.getvalue()

    return stop


def _tokens(app) -> dict[str, str]:
    """One real token of every kind."""
    ids = confirmed_trip(app, "kc-chiefs", names=("Ana Paid",))
    api = ApiSession(app.test_client(), issue_token(app, ids["partner_id"]))
    driver_url = api.post(f"/v1/trips/{ids['trip']}/driver_link").json["url"]
    with app.test_request_context(), db.transaction() as session:
        from widget_server.fan.links import manage_token, waitlist_token

        partner = session.get(Partner, ids["partner_id"])
        admin = make_admin(session, partner, "owner@kc.example", password=None)
        session.flush()
        secret = app.config["SECRET_KEY"]
        return {
            "manage": manage_token(ids["pledges"][0]),
            "driver": driver_url.rsplit("/d/", 1)[1],
            "waitlist": waitlist_token("wle_" + "0" * 26),
            "reset": password_links.password_token(
                secret, session.get(AdminUser, admin.id), "reset"
            ),
            "invite": password_links.password_token(
                secret, session.get(AdminUser, admin.id), "invite"
            ),
            "set": password_links.password_token(secret, session.get(AdminUser, admin.id), "set"),
            "preview": preview_token(secret, "kc-chiefs", {"primary_color": "#112233"}),
        }


def test_a_session_opening_every_token_page_logs_no_token(app, live_server):
    """Done test of issue 19: every token-bearing page (and its POSTs) over real HTTP, the
    captured JSON log (app access lines, werkzeug's lines, errors) and /metrics grepped for
    each token; every such page says `Referrer-Policy: no-referrer`."""
    tokens = _tokens(app)
    base = f"{live_server.url}"
    token_for = {
        "/d/": tokens["driver"],
        "/manage/": tokens["manage"],
        "/pledged/": tokens["manage"],
        "/waitlist/": tokens["waitlist"],
    }
    stop = _capture_logs()
    try:
        for rule in app.url_map.iter_rules():
            if not secret_variables(rule):
                continue
            if rule.rule.startswith(("/admin/password/", "/operator/password/")):
                paths = [
                    _fill(rule.rule, {"purpose": purpose, "token": tokens[purpose]})
                    for purpose in ("reset", "invite", "set")
                ]
            else:
                token = next(v for k, v in token_for.items() if k in rule.rule)
                paths = [_fill(rule.rule, {"partner_slug": "kc-chiefs", "token": token})]
            for path in paths:
                for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
                    answer = requests.request(
                        method, base + path, allow_redirects=False, timeout=10, data={"x": "1"}
                    )
                    assert answer.status_code < 500, (method, path, answer.status_code)
                    if method == "GET":
                        assert answer.headers["Referrer-Policy"] == "no-referrer", path
        preview = requests.get(
            f"{base}/w/kc-chiefs/", params={"preview": tokens["preview"]}, timeout=10
        )
        assert preview.status_code == 200
        assert preview.headers["Referrer-Policy"] == "no-referrer"
        metrics = requests.get(f"{base}/metrics", timeout=10).text
    finally:
        log = stop()
    assert '"path": "/d/[redacted]' in log  # the access lines were captured
    assert "GET /d/[redacted] HTTP/1.1" in log  # and werkzeug's
    for kind, token in tokens.items():
        assert token not in log, kind
        assert token not in metrics, kind
    # An ordinary page keeps the ordinary policy.
    assert requests.get(f"{base}/", timeout=10).headers["Referrer-Policy"] != "no-referrer"


def test_access_line_without_a_request(capsys):
    """A line written outside a request still has the path redacted by route."""
    stop = _capture_logs()
    try:
        log_access(
            "GET",
            "/w/kc/manage/abcdefghijklmnop.qrs",
            "/w/<partner_slug>/manage/<token>",
            200,
            None,
            "127.0.0.1",
        )
    finally:
        log = stop()
    assert "abcdefghijklmnop" not in log
