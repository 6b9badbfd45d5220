"""The SDK's pieces on their own: JSON conversion, errors, backoff, options, packaging."""

from __future__ import annotations

import importlib.metadata
import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta, timezone
from email.utils import format_datetime

import pytest
import requests
import ridepledge
from ridepledge._http import Options, backoff_delay
from ridepledge.errors import error_from_response, parse_retry_after
from ridepledge.models import format_datetime as rfc3339
from ridepledge.models import from_api, to_api
from ridepledge.pagination import Pager


def response(status: int, body: bytes, content_type="application/json", **headers):
    made = requests.Response()
    made.status_code = status
    made._content = body
    made.headers.update({"Content-Type": content_type, **headers})
    made.reason = "Reason"
    return made


def test_datetimes_go_out_as_utc_and_naive_ones_are_refused():
    plus_two = timezone(timedelta(hours=2))
    assert rfc3339(datetime(2030, 1, 1, 14, 0, tzinfo=plus_two)) == "2030-01-01T12:00:00Z"
    assert to_api({"at": [datetime(2030, 1, 1, tzinfo=UTC)]}) == {"at": ["2030-01-01T00:00:00Z"]}
    with pytest.raises(ValueError, match="naive"):
        to_api({"at": datetime(2030, 1, 1)})


def test_results_keep_unknown_members_in_raw_and_missing_ones_are_none():
    data = {"id": "stp_1", "name": "A", "address": "B", "departs_at": "2030-01-01T10:00:00Z"}
    stop = from_api(ridepledge.Stop, {**data, "shiny_new_field": 1})
    assert stop.departs_at == datetime(2030, 1, 1, 10, tzinfo=UTC)
    assert stop.raw["shiny_new_field"] == 1
    origin = from_api(ridepledge.Origin, {"name": "Wichita"})
    assert origin.region is None


def test_problem_responses_become_typed_errors():
    problem = {
        "type": "https://docs.ridepledge.dev/problems/sold-out",
        "title": "Sold out",
        "status": 409,
        "detail": "only 1 seat left",
        "request_id": "req_1",
    }
    error = error_from_response(response(409, json.dumps(problem).encode()))
    assert isinstance(error, ridepledge.SoldOutError)
    assert isinstance(error, ridepledge.ConflictError)
    assert (error.status, error.code, error.detail, error.request_id) == (
        409,
        "sold-out",
        "only 1 seat left",
        "req_1",
    )
    assert str(error) == "409 Sold out: only 1 seat left [request req_1]"


@pytest.mark.parametrize(
    ("status", "cls"),
    [
        (400, ridepledge.BadRequestError),
        (401, ridepledge.AuthenticationError),
        (403, ridepledge.PermissionDeniedError),
        (404, ridepledge.NotFoundError),
        (409, ridepledge.ConflictError),
        (422, ridepledge.ValidationError),
        (429, ridepledge.RateLimitError),
        (500, ridepledge.ServerError),
        (502, ridepledge.ServerError),
        (418, ridepledge.RidePledgeError),
    ],
)
def test_each_status_has_its_error(status, cls):
    error = error_from_response(response(status, b"{}"))
    assert type(error) is cls and error.status == status


def test_a_non_json_error_page_keeps_its_text():
    error = error_from_response(
        response(502, b"<html>Bad gateway</html>", "text/html", **{"X-Request-Id": "req_9"})
    )
    assert isinstance(error, ridepledge.ServerError)
    assert error.detail == "<html>Bad gateway</html>" and error.request_id == "req_9"


def test_retry_after_in_seconds_or_as_a_date():
    assert parse_retry_after("3") == 3.0
    assert parse_retry_after(None) is None and parse_retry_after("soon") is None
    later = format_datetime(datetime.now(UTC) + timedelta(seconds=30), usegmt=True)
    assert 28 <= parse_retry_after(later) <= 30
    error = error_from_response(response(429, b"{}", **{"retry-after": "7"}))
    assert error.retry_after == 7.0


def test_backoff_is_exponential_capped_jittered_and_respects_retry_after():
    options = Options(backoff_initial=1.0, backoff_max=4.0)
    for retry, ceiling in [(1, 1.0), (2, 2.0), (3, 4.0), (6, 4.0)]:
        delays = {backoff_delay(options, retry, None) for _ in range(50)}
        assert all(ceiling / 2 <= delay <= ceiling for delay in delays)
        assert len(delays) > 1  # jitter
    assert backoff_delay(options, 1, 10.0) == 10.0


def test_options_are_checked():
    with pytest.raises(ValueError):
        Options(max_retries=-1)
    with pytest.raises(ValueError):
        Options(timeout=0)
    with pytest.raises(ValueError, match="base_url"):
        ridepledge.Client("cli_1", "sk_1", "api.example.com")
    with pytest.raises(ValueError):
        ridepledge.Client("", "sk_1", "https://api.example.com")


def test_a_pager_fetches_lazily_and_follows_cursors():
    calls = []
    pages = {
        None: {"data": [{"name": "a"}, {"name": "b"}], "has_more": True, "next_cursor": "c1"},
        "c1": {"data": [{"name": "c"}], "has_more": False, "next_cursor": None},
    }

    def fetch(params):
        calls.append(params)
        return pages[params["cursor"]]

    pager = Pager(fetch, ridepledge.Origin, {"limit": 2})
    assert calls == []
    assert [origin.name for origin in pager] == ["a", "b", "c"]
    assert calls == [{"limit": 2, "cursor": None}, {"limit": 2, "cursor": "c1"}]
    assert pager.first_page().has_more is True


def test_the_sdk_depends_on_requests_and_the_standard_library_only():
    requirements = importlib.metadata.requires("ridepledge")
    plain = [r.split(">")[0].strip() for r in requirements if "extra ==" not in r]
    extra = [r.split(">")[0].strip() for r in requirements if "extra ==" in r]
    assert plain == ["requests"]
    assert extra == ["httpx"] and 'extra == "async"' in requirements[-1]
    code = (
        "import sys\n"
        "before = set(sys.modules)\n"
        "import ridepledge, ridepledge.cli, ridepledge.webhooks\n"
        "loaded = {m.split('.')[0] for m in set(sys.modules) - before}\n"
        "print(sorted(loaded - set(sys.stdlib_module_names)))"
    )
    result = subprocess.run(  # noqa: S603 (our own interpreter)
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    third_party = set(json.loads(result.stdout.replace("'", '"'))) - {"ridepledge"}
    # requests and what requests imports (charset_normalizer loads Cython runtime modules)
    allowed = {"requests", "urllib3", "idna", "certifi", "charset_normalizer", "chardet"}
    assert {name for name in third_party if "cython" not in name} <= allowed
    assert "widget_server" not in third_party and "httpx" not in third_party


def test_both_console_scripts_are_installed():
    scripts = {ep.name: ep.value for ep in importlib.metadata.entry_points(group="console_scripts")}
    assert scripts["ridepledge-sdk"] == "ridepledge.cli:main"
    assert scripts["ridepledge"] == "widget_server.cli:cli"


def test_without_httpx_only_the_async_client_is_missing_and_says_how_to_get_it():
    code = (
        "import sys\n"
        "sys.modules['httpx'] = None  # as if the async extra were not installed\n"
        "import ridepledge\n"
        "from ridepledge import *\n"
        "ridepledge.Client('cli_1', 'sk_1', 'https://api.example.com').close()\n"
        "try:\n"
        "    ridepledge.AsyncClient\n"
        "except ImportError as exc:\n"
        "    print(exc)\n"
    )
    result = subprocess.run(  # noqa: S603 (our own interpreter)
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert 'pip install "ridepledge[async]"' in result.stdout


@pytest.mark.parametrize("client_class", ["Client", "AsyncClient"])
def test_a_misspelt_per_call_option_is_refused_before_sending(client_class):
    client = getattr(ridepledge, client_class)("cli_1", "sk_1", "http://127.0.0.1:9")
    with pytest.raises(TypeError, match="timeot"):
        client.trips.retrieve("trp_1", timeot=5)
    with pytest.raises(TypeError, match="retries"):
        client.trips.list(retries=1)
    with pytest.raises(TypeError):
        client.trips.retrieve()  # the trip id is required, as the signature says
