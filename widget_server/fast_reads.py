"""Repeated public reads (the widget API's trip, trips and events JSON) answered before Flask.

Game day's hot path is thousands of widgets polling one trip. The body already comes from the
per-process cache (`public_cache`) for a second; what each poll still cost was Flask's
dispatch and every hook around it, several times the body's own cost. So the first answer
Flask gives for such a URL is kept whole (status, headers, body) in the same cache, for as long
as its body stays there, and until then every repeat of that request is answered here, doing
only what Flask would have done differently for it:

- the read budget (`ratelimits.widget_read_fits`), in the same counts by the same rules: a
  plain read is counted; a revalidation is only checked, since it is a free 304. Over budget,
  or with the counts unreachable, the request goes on to Flask, which refuses or serves it as
  always (a refused hit counts nothing, so nothing is counted twice);
- a fresh `Date` and request id, and a `304 Not Modified` for the very ETag the widget sends
  back (any other `If-None-Match` goes to Flask);
- the request's latency metric and access log line, as Flask's hooks write them.

Only a GET without cookies (Flask could refresh a session on it) is answered here, keyed by
scheme, host, path and query string, and only once Flask has answered that same key with a
200 and no cookie. Everything else passes through untouched (and unbuffered). A replayed
answer is the one Flask gave, header for header (`tests/functional/test_fast_reads.py`).
"""

from __future__ import annotations

from dataclasses import dataclass
from time import perf_counter

from flask import request
from werkzeug.http import http_date, remove_entity_headers

from widget_server import ratelimits
from widget_server.observability.logs import log_access
from widget_server.observability.metrics import observe_request
from widget_server.requests_context import request_id_for

# Set by a view whose answer may be replayed: (until, route, path). See `may_replay`.
_REPLAYABLE = "ridepledge.replayable"
_PER_REQUEST = {"date", "x-request-id"}
NOT_MODIFIED = "304 NOT MODIFIED"


def may_replay(until: float) -> None:
    """Called by a view: this request's answer, if a plain 200, may be replayed until `until`
    (the public cache's expiry of its body)."""
    rule = request.url_rule.rule if request.url_rule else None
    request.environ[_REPLAYABLE] = (until, rule, request.path)


@dataclass(frozen=True)
class Answer:
    """A 200 as Flask sent it, and the 304 Flask would send for its ETag."""

    headers: list[tuple[str, str]]  # Date and X-Request-Id are replaced per request
    not_modified_headers: list[tuple[str, str]]
    body: bytes
    etag: str  # the ETag header as sent, quotes included
    route: str | None
    path: str


class FastReads:
    """The WSGI layer; wraps `app.wsgi_app` inside ProxyFix (it needs the real client)."""

    def __init__(self, app, wsgi_app):
        self.app = app
        self.wsgi_app = wsgi_app
        self.cache = app.extensions["ridepledge.public_cache"]

    def __call__(self, environ, start_response):
        if environ["REQUEST_METHOD"] != "GET" or "HTTP_COOKIE" in environ:
            return self.wsgi_app(environ, start_response)
        started = perf_counter()
        key = (
            "answer",
            environ["wsgi.url_scheme"],
            environ.get("HTTP_HOST", ""),
            environ.get("PATH_INFO", ""),
            environ.get("QUERY_STRING", ""),
        )
        answer = self.cache.get(key)
        if answer is not None:
            replayed = self._replay(answer, environ, start_response, started)
            if replayed is not None:
                return replayed
        return self._through_flask(key, environ, start_response)

    def _replay(self, answer: Answer, environ, start_response, started: float):
        """The answer for this request, or None when Flask must decide."""
        revalidating = environ.get("HTTP_IF_NONE_MATCH")
        if revalidating is not None and revalidating != answer.etag:
            return None  # weak, listed or stale ETags: Flask's comparison decides
        fits = ratelimits.widget_read_fits(
            self.app, environ.get("REMOTE_ADDR"), count=revalidating is None
        )
        if not fits:
            return None
        request_id = request_id_for(environ.get("HTTP_X_REQUEST_ID", ""))
        if revalidating is None:
            status, status_code, headers, body = "200 OK", 200, answer.headers, [answer.body]
        else:
            status, status_code, headers, body = NOT_MODIFIED, 304, answer.not_modified_headers, []
        start_response(status, _per_request(headers, request_id))
        observe_request("GET", answer.route or "(unmatched)", status_code, started)
        log_access(
            "GET",
            answer.path,
            answer.route,
            status_code,
            started,
            environ.get("REMOTE_ADDR"),
            request_id,
        )
        return body

    def _through_flask(self, key: tuple, environ, start_response):
        sent = {}

        def recording(status, headers, exc_info=None):
            sent["status"], sent["headers"] = status, headers
            return start_response(status, headers, exc_info)

        body = self.wsgi_app(environ, recording)
        replayable = environ.get(_REPLAYABLE)
        headers = sent.get("headers") or []
        if (
            replayable is None
            or sent.get("status") != "200 OK"
            or any(name.lower() == "set-cookie" for name, _ in headers)
        ):
            return body
        try:
            data = b"".join(body)
        finally:
            if hasattr(body, "close"):
                body.close()
        until, route, path = replayable
        etag = next((value for name, value in headers if name.lower() == "etag"), None)
        if etag is not None:
            self.cache.put(key, _answer(headers, data, etag, route, path), until)
        return [data]


def _answer(headers, body: bytes, etag: str, route: str | None, path: str) -> Answer:
    not_modified = list(headers)
    remove_entity_headers(not_modified)
    return Answer(list(headers), not_modified, body, etag, route, path)


def _per_request(headers: list[tuple[str, str]], request_id: str) -> list[tuple[str, str]]:
    fresh = {"date": http_date(), "x-request-id": request_id}
    return [
        (name, fresh[name.lower()]) if name.lower() in _PER_REQUEST else (name, value)
        for name, value in headers
    ]


def init_app(app) -> None:
    """Put the layer in front of the app (before ProxyFix wraps it)."""
    app.wsgi_app = FastReads(app, app.wsgi_app)
