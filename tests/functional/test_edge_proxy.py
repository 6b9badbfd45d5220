"""The shipped edge proxy (`ridepledge proxy-config`): real nginx with the printed configuration
in front of app hosts on loopback (each its own process, `edge_upstream.py`, so one can be
killed), checked from the fan's side and from what the app saw."""

from __future__ import annotations

import base64
import hashlib
import http.client
import json
import math
import os
import re
import signal
import socket
import subprocess
import sys
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner

from tests.api_helpers import pledge_body
from tests.factories import make_partner, make_trip
from tests.services import nginx_path, require
from tests.waiting import wait_for
from widget_server.cli import cli
from widget_server.edge_proxy import CACHED_READS
from widget_server.extensions import db
from widget_server.fan.render import SHARED_PAGE_CACHE
from widget_server.wsgi_server import gunicorn_options

ROOT = Path(__file__).resolve().parents[2]
# What a repeat served from the cached entry may say (HIT, or the stale copy while one request
# refreshes it: the trip JSON lives one second, which a slow machine can pass between requests).
FROM_CACHE = {"HIT", "UPDATING", "STALE"}


@dataclass
class Answer:
    status: int
    headers: http.client.HTTPMessage
    body: bytes

    def json(self):
        return json.loads(self.body)


class AppHost:
    """`edge_upstream.py` in a child process: an app host the test can kill."""

    def __init__(self, database_url: str, instance: Path):
        self.process = subprocess.Popen(  # noqa: S603  # nosec B603: our own module
            [sys.executable, "-m", "tests.functional.edge_upstream", database_url, str(instance)],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            text=True,
        )
        self.port = 0

    def wait_ready(self) -> AppHost:
        self.port = int(self.process.stdout.readline())
        self.address = f"127.0.0.1:{self.port}"
        return self

    def seen(self) -> list[dict]:
        return request("GET", self.port, "/_edge_test/seen").json()

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)
        self.process.stdout.close()


class Edge:
    """nginx with the configuration `ridepledge proxy-config` prints, under its own prefix."""

    def __init__(self, prefix: Path, hosts: list[AppHost], *options: str):
        self.hosts = hosts
        self.port = free_port()
        arguments = ["proxy-config", "--listen", str(self.port), "--workers", "1", *options]
        if os.geteuid() == 0:  # the workers must reach the test's private temporary folder
            arguments += ["--user", "root"]
        for host in hosts:
            arguments += ["--upstream", host.address]
        printed = CliRunner().invoke(cli, arguments)
        assert printed.exit_code == 0, printed.output
        prefix.mkdir()
        (prefix / "nginx.conf").write_text(printed.output)
        self.prefix = prefix
        self.process = subprocess.Popen(  # noqa: S603  # nosec B603: nginx, our configuration
            [nginx_path(), "-p", str(prefix), "-c", "nginx.conf", "-g", "daemon off;"]
        )
        wait_for(self._listening, what="nginx to listen")

    def _listening(self) -> bool:
        assert self.process.poll() is None, (self.prefix / "error.log").read_text()
        with socket.socket() as probe:
            return probe.connect_ex(("127.0.0.1", self.port)) == 0

    def get(self, path: str, **kwargs) -> Answer:
        return request("GET", self.port, path, **kwargs)

    def stop(self) -> None:
        self.process.send_signal(signal.SIGQUIT)
        self.process.wait(timeout=10)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def request(
    method: str,
    port: int,
    path: str,
    *,
    source: str = "127.0.0.1",
    headers: dict | None = None,
    body: dict | None = None,
    connection: http.client.HTTPConnection | None = None,
) -> Answer:
    """One request from the loopback address `source` (a fan of its own)."""
    conn = connection or http.client.HTTPConnection(
        "127.0.0.1", port, timeout=20, source_address=(source, 0)
    )
    headers = dict(headers or {})
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
    conn.request(method, path, body=data, headers=headers)
    response = conn.getresponse()
    answer = Answer(response.status, response.headers, response.read())
    if connection is None:
        conn.close()
    return answer


def start_hosts(count: int, database_url: str, tmp_path: Path) -> list[AppHost]:
    """`count` app hosts, started side by side."""
    hosts = [AppHost(database_url, tmp_path / f"host{index}") for index in range(count)]
    return [host.wait_ready() for host in hosts]


@pytest.fixture(scope="module")
def edge(database_url, migrated_engine, tmp_path_factory):
    """One app host behind the proxy, for the whole module (starting them takes a second)."""
    require("nginx", nginx_path() is not None, "apt-get install nginx-light")
    tmp = tmp_path_factory.mktemp("edge")
    hosts = start_hosts(1, database_url, tmp)
    proxy = Edge(tmp / "nginx", hosts)
    yield proxy
    proxy.stop()
    for host in hosts:
        host.kill()


@pytest.fixture
def trip(app):
    """An open trip of a partner of its own (so no other test's cache entry is in the way)."""
    slug = f"edge-{uuid.uuid4().hex[:8]}"
    with app.app_context(), db.transaction() as session:
        trip = make_trip(session, make_partner(session, slug))
        return {"slug": slug, "id": trip.id, "stop": trip.stops[0].id}


def seen_paths(edge: Edge, path: str) -> list[dict]:
    """What the app saw of the requests for `path` (with any query string)."""
    return [
        entry
        for entry in edge.hosts[0].seen()
        if entry["path"] == path or entry["path"].startswith(path + "?")
    ]


def test_the_app_sees_the_fans_address_and_never_what_the_client_wrote(edge):
    probe = f"/livez?probe={uuid.uuid4().hex}"
    spoofed = {"X-Forwarded-For": "203.0.113.7", "X-Forwarded-Proto": "https"}
    assert edge.get(probe, source="127.0.0.2", headers=spoofed).status == 200
    (seen,) = seen_paths(edge, probe)
    assert seen["client"] == "127.0.0.2"
    # Replaced, not appended to: the app's one trusted hop is the proxy's own entry.
    assert seen["x_forwarded_for"] == "127.0.0.2"
    assert seen["x_forwarded_proto"] == "http"


def test_behind_a_named_load_balancer_the_fans_address_is_the_one_it_forwarded(edge, tmp_path):
    """`--real-ip-from`: a load balancer or CDN in front (here every loopback address) is
    believed, and the proxy still sends the app exactly one address, the fan's."""
    behind = Edge(tmp_path / "nginx", edge.hosts, "--real-ip-from", "127.0.0.0/8")
    try:
        probe = f"/livez?probe={uuid.uuid4().hex}"
        forwarded = {"X-Forwarded-For": "203.0.113.50, 198.51.100.7"}
        assert behind.get(probe, source="127.0.0.4", headers=forwarded).status == 200
    finally:
        behind.stop()
    (seen,) = seen_paths(edge, probe)
    # The right-most address the trusted hops did not add; what the fan wrote before it is not.
    assert seen["client"] == seen["x_forwarded_for"] == "198.51.100.7"


def test_a_public_read_is_served_from_the_cache_whatever_the_cache_busters(edge, trip):
    path = f"/w/{trip['slug']}/api/trips/{trip['id']}"
    started = time.monotonic()
    first = edge.get(path)
    assert first.status == 200 and first.headers["X-Cache-Status"] == "MISS"
    assert first.json()["id"] == trip["id"]
    assert first.headers["Cache-Control"] == "public, max-age=1, stale-while-revalidate=5"
    for buster in ("", "?_=123", "?_=456&utm_source=mail", "?v=2"):
        again = edge.get(path + buster, headers={"X-Request-Id": "fan-poll-1"})
        assert again.headers["X-Cache-Status"] in FROM_CACHE, buster
        assert again.body == first.body
        assert again.headers["X-Request-Id"] == "fan-poll-1"  # this request's id, not the first's
    # At most one origin request per second the entry lived (a refresh), plus the first.
    refreshes = math.ceil(time.monotonic() - started) + 1
    assert 1 <= len(seen_paths(edge, path)) <= refreshes
    # The widget's conditional poll is answered at the edge too.
    revalidated = edge.get(path + "?_=789", headers={"If-None-Match": first.headers["ETag"]})
    assert revalidated.status == 304 and revalidated.body == b""


def test_an_asset_is_kept_as_long_as_the_app_says(edge):
    # A query parameter the loader's view does not read is not part of the key.
    first = edge.get(f"/embed.js?cachebust={uuid.uuid4().hex}")
    again = edge.get("/embed.js")
    assert first.status == again.status == 200
    assert again.headers["X-Cache-Status"] == "HIT"
    assert again.headers["Cache-Control"] == "public, max-age=300, must-revalidate"


def test_posts_are_never_cached_and_keep_their_idempotency_key(edge, trip):
    pledges = f"/w/{trip['slug']}/api/trips/{trip['id']}/pledges"
    key = uuid.uuid4().hex
    headers = {"Idempotency-Key": key, "Sec-Fetch-Site": "same-origin"}
    first = request("POST", edge.port, pledges, headers=headers, body=pledge_body(trip["stop"]))
    again = request("POST", edge.port, pledges, headers=headers, body=pledge_body(trip["stop"]))
    assert first.status == again.status == 201
    assert again.headers["Idempotent-Replayed"] == "true"
    assert "X-Cache-Status" not in again.headers
    assert [entry["idempotency_key"] for entry in seen_paths(edge, pledges)] == [key, key]
    # A POST to a cached read's address goes through too, every time.
    read = f"/w/{trip['slug']}/api/trips/{trip['id']}"
    for _ in range(2):
        assert request("POST", edge.port, read, body={}).status == 405
    assert [entry["method"] for entry in seen_paths(edge, read)] == ["POST", "POST"]


def test_answers_setting_a_cookie_and_private_requests_are_never_cached(edge, trip):
    events = f"/w/{trip['slug']}/api/events"
    for _ in range(2):
        answer = edge.get(events + "?set_cookie=1")
        assert answer.headers["Set-Cookie"].startswith("edge_test=1")
        assert answer.headers["X-Cache-Status"] == "MISS"
    assert len(seen_paths(edge, events)) == 2
    for private in ({"Cookie": "ridepledge_console=abc"}, {"Authorization": "Bearer x"}):
        assert edge.get(events, headers=private).headers["X-Cache-Status"] == "BYPASS"
    assert len(seen_paths(edge, events)) == 4


def test_the_edge_limits_each_addresss_reads(edge, trip):
    path = f"/w/{trip['slug']}/api/trips/{trip['id']}"
    connection = http.client.HTTPConnection(
        "127.0.0.1", edge.port, timeout=20, source_address=("127.0.0.9", 0)
    )
    answers = [request("GET", edge.port, path, connection=connection) for _ in range(600)]
    connection.close()
    refused = [answer for answer in answers if answer.status == 429]
    assert refused and answers[0].status == 200
    assert refused[0].headers["Content-Type"] == "application/problem+json"
    assert refused[0].json()["status"] == 429 and refused[0].headers["Retry-After"] == "1"
    # Another address is not affected.
    assert edge.get(path, source="127.0.0.10").status == 200


def test_reads_move_to_the_other_host_when_one_is_killed(database_url, migrated_engine, tmp_path):
    require("nginx", nginx_path() is not None, "apt-get install nginx-light")
    hosts = start_hosts(2, database_url, tmp_path)
    proxy = Edge(tmp_path / "nginx", hosts)
    try:
        assert {proxy.get(f"/livez?n={n}").status for n in range(4)} == {200}
        assert all(host.seen() for host in hosts)  # both took reads
        hosts[0].kill()
        started = time.monotonic()
        for n in range(10):
            answer = proxy.get(f"/livez?after={n}")
            assert answer.status == 200
        assert time.monotonic() - started < 5
        assert len([e for e in hosts[1].seen() if e["path"].startswith("/livez?after")]) == 10
    finally:
        proxy.stop()
        hosts[1].kill()


def test_the_cached_routes_exist_and_the_config_runs_anywhere(app, tmp_path):
    """Every cached location matches a route of the app, and nginx accepts the configuration
    under a prefix of its own, with no `user` to switch to."""

    require("nginx", nginx_path() is not None, "apt-get install nginx-light")
    rules = [rule.rule for rule in app.url_map.iter_rules()]
    paths = [re.sub(r"<[^>]+>", "trp_x", rule) for rule in rules]  # every variable filled in
    for read in CACHED_READS:
        assert any(re.match(read.path, path) for path in paths), read.name
    printed = CliRunner().invoke(
        cli, ["proxy-config", "--listen", "8080", "--upstream", "[::1]:8000"]
    )
    (tmp_path / "nginx.conf").write_text(printed.output)
    checked = subprocess.run(  # noqa: S603  # nosec B603
        [nginx_path(), "-t", "-p", str(tmp_path), "-c", "nginx.conf"],
        capture_output=True,
        text=True,
        env={**os.environ, "PATH": "/usr/sbin:/usr/bin"},
    )
    assert checked.returncode == 0, checked.stderr
    assert not re.search(r"^\s*user\s", printed.output, re.MULTILINE)
    # The proxy drops an idle upstream connection before the app host's gunicorn does.
    upstream_idle = int(re.search(r"keepalive_timeout (\d+)s;\n    }", printed.output).group(1))
    served = gunicorn_options(app.config["SETTINGS"], "127.0.0.1", 8000)
    assert upstream_idle < served["keepalive"]


@pytest.mark.parametrize(
    ("arguments", "named"),
    [
        (["--listen", "8080", "--upstream", "app1"], "HOST:PORT"),
        (["--listen", "8080", "--upstream", "app;1:80"], "host name"),
        (["--listen", "0", "--upstream", "app1:80"], "port"),
        (["--listen", "8080", "--upstream", "a:1", "--real-ip-from", "10.0/x"], "network"),
    ],
)
def test_bad_arguments_are_refused_by_name(arguments, named):
    printed = CliRunner().invoke(cli, ["proxy-config", *arguments])
    assert printed.exit_code == 2 and named in printed.output


def style_hash(html: str) -> str:
    """The CSP source of the page's inline style, as a browser computes it."""
    css = re.search(r"<style>(.*?)</style>", html, re.DOTALL).group(1)
    return "'sha256-" + base64.b64encode(hashlib.sha256(css.encode()).digest()).decode() + "'"


def varies(answer: Answer) -> str:
    return ", ".join(answer.headers.get_all("Vary") or [])


def test_the_widget_trip_page_is_kept_for_anonymous_fans_only(edge, trip):
    page = f"/w/{trip['slug']}/trips/{trip['id']}"
    first = edge.get(page)
    assert first.status == 200 and first.headers["X-Cache-Status"] == "MISS"
    assert first.headers["Cache-Control"] == SHARED_PAGE_CACHE
    policy = first.headers["Content-Security-Policy"]
    # No nonce: the one inline style is allowed by its hash, the scripts come from 'self'.
    assert "nonce-" not in policy and "script-src 'self';" in policy
    assert style_hash(first.body.decode()) in policy
    assert "frame-ancestors 'self'" in policy  # the partner's, kept with its page
    again = edge.get(page + "?_=1700000000")
    assert again.headers["X-Cache-Status"] in FROM_CACHE and again.body == first.body
    assert "Accept-Language" in varies(first)  # the browser's language chose it
    spanish = edge.get(page + "?locale=es", headers={"Accept-Language": "fr"})
    assert spanish.headers["X-Cache-Status"] == "MISS" and b'lang="es"' in spanish.body
    assert "Accept-Language" not in varies(spanish)  # the embed's locale: one copy for all
    again = edge.get(page + "?locale=es", headers={"Accept-Language": "de"})
    assert again.headers["X-Cache-Status"] in FROM_CACHE
    # A console session or a preview (even a forged one) is never kept nor answered from the cache.
    for private in ({"Cookie": "ridepledge_console=abc"}, {}):
        url = page if private else page + "?preview=forged"
        answer = edge.get(url, headers=private)
        assert answer.headers["X-Cache-Status"] == "BYPASS"
        assert answer.headers["Cache-Control"] == "no-store"


def test_many_widgets_polling_one_trip_cost_the_app_one_request_a_second(edge, trip):
    """Live progress without a poll storm: 400 conditional polls from 40 widgets at once reach
    the app about once per second of the run (collapsed while the entry refreshes)."""
    path = f"/w/{trip['slug']}/api/trips/{trip['id']}"
    etag = edge.get(path).headers["ETag"]

    def widget(n: int) -> set[int]:
        source = f"127.0.1.{n + 1}"  # each widget its own address, as fans are
        return {
            edge.get(f"{path}?_={i}", source=source, headers={"If-None-Match": etag}).status
            for i in range(10)
        }

    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=40) as pool:
        statuses = set().union(*pool.map(widget, range(40)))
    seconds = math.ceil(time.monotonic() - started) + 1
    assert statuses == {304}
    assert len(seen_paths(edge, path)) <= 1 + seconds
