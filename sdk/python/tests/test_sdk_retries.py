"""Retries, backoff and idempotency through a flaky proxy in front of the real server."""

from __future__ import annotations

import time

import pytest
import ridepledge
from sdk_helpers import new_event, new_trip
from sqlalchemy import select

from widget_server.extensions import db
from widget_server.models import Trip


def keys(seen) -> set[str | None]:
    return {request.headers.get("idempotency-key") for request in seen}


def test_a_post_survives_drops_503_and_429_with_one_key_and_one_object(proxy, make_sdk, sdk):
    client = make_sdk(proxy.url, max_retries=4)
    proxy.plan("POST", "/v1/events", "drop-after", "drop", "503", "429:0")

    event = new_event(client, title="Flaky Bowl")

    tries = proxy.requests_to("/v1/events", "POST")
    assert [t.action for t in tries] == ["drop-after", "drop", "503", "429:0", "pass"]
    (key,) = keys(tries)  # the same key on every try
    assert key and key.startswith("rp-")
    # The first try created the event (its answer was lost); the last one replayed it.
    assert [e.id for e in sdk.events.list()] == [event.id]
    assert event.title == "Flaky Bowl"


def test_actions_are_idempotent_too(proxy, make_sdk, sdk):
    client = make_sdk(proxy.url)
    trip = new_trip(sdk, new_event(sdk))
    proxy.plan("POST", f"/v1/trips/{trip.id}/open", "drop-after")

    opened = client.trips.open(trip.id)  # a second real /open would be a 409

    assert opened.status == "open"
    tries = proxy.requests_to(f"/v1/trips/{trip.id}/open")
    assert len(tries) == 2 and len(keys(tries)) == 1


def test_the_callers_idempotency_key_is_used_and_replays(proxy, make_sdk, sdk):
    client = make_sdk(proxy.url)
    starts = new_event(sdk).starts_at
    body = {"title": "Keyed", "venue": "V", "starts_at": starts, "timezone": "UTC"}

    first = client.events.create(**body, idempotency_key="order-42")
    again = client.events.create(**body, idempotency_key="order-42")

    assert again == first
    assert keys(proxy.requests_to("/v1/events", "POST")) == {"order-42"}
    assert len([e for e in sdk.events.list() if e.title == "Keyed"]) == 1
    with pytest.raises(ridepledge.IdempotencyKeyReusedError) as caught:
        client.events.create(**{**body, "title": "Other"}, idempotency_key="order-42")
    assert caught.value.status == 422 and caught.value.code == "idempotency-key-reused"


def test_each_logical_post_gets_its_own_key(proxy, make_sdk):
    client = make_sdk(proxy.url)
    new_event(client)
    new_event(client)
    assert len(list(client.events.list())) == 2
    assert len(keys(proxy.requests_to("/v1/events", "POST"))) == 2
    assert keys(proxy.requests_to("/v1/events", "GET")) == {None}


def test_gets_patches_and_token_fetches_are_retried(proxy, make_sdk):
    client = make_sdk(proxy.url)
    proxy.plan("POST", "/oauth/token", "503", "drop")
    proxy.plan("GET", "/v1/partner", "drop", "502")
    proxy.plan("PATCH", "/v1/partner", "drop-after")

    assert client.partner.retrieve().slug == "kc-chiefs"
    assert client.partner.update(name="Retried").name == "Retried"

    assert len(proxy.requests_to("/oauth/token")) == 3
    assert len(proxy.requests_to("/v1/partner", "GET")) == 3
    assert len(proxy.requests_to("/v1/partner", "PATCH")) == 2


def test_a_delete_whose_answer_was_lost_succeeds(proxy, make_sdk, sdk):
    client = make_sdk(proxy.url)
    event = new_event(sdk)
    proxy.plan("DELETE", "/v1/events/", "drop-after")

    client.events.delete(event.id)  # the retry answers 404: already gone

    assert [t.action for t in proxy.requests_to("/v1/events/", "DELETE")] == ["drop-after", "pass"]
    with pytest.raises(ridepledge.NotFoundError):
        client.events.delete(event.id)  # a plain 404 is still an error


def test_giving_up_after_max_retries(proxy, make_sdk):
    client = make_sdk(proxy.url, max_retries=2)
    client.partner.retrieve()  # the token, so only /v1/partner is counted below
    proxy.plan("GET", "/v1/partner", "503", "503", "503", "503")
    with pytest.raises(ridepledge.ServerError) as caught:
        client.partner.retrieve()
    assert caught.value.status == 503 and caught.value.request_id == "req_proxy"
    assert len(proxy.requests_to("/v1/partner")) == 1 + 3

    proxy.plan("GET", "/v1/events", "drop", "drop")
    with pytest.raises(ridepledge.APIConnectionError):
        client.with_options(max_retries=1).events.list().first_page()
    assert len(proxy.requests_to("/v1/events")) == 2


def test_no_retries_when_max_retries_is_zero(proxy, make_sdk):
    client = make_sdk(proxy.url, max_retries=0)
    proxy.plan("POST", "/v1/events", "503")
    with pytest.raises(ridepledge.ServerError):
        new_event(client)
    assert len(proxy.requests_to("/v1/events")) == 1


def test_timeouts_are_retried_with_the_same_key(proxy, make_sdk, sdk):
    client = make_sdk(proxy.url)
    proxy.plan("POST", "/v1/events", "slow:1.5")

    # A timeout for this call alone (the token fetch before it keeps the client's 10 s).
    event = new_event(client, title="Slow Bowl", timeout=0.5)

    tries = proxy.requests_to("/v1/events", "POST")
    assert [t.action for t in tries] == ["slow:1.5", "pass"] and len(keys(tries)) == 1
    assert [e.id for e in sdk.events.list()] == [event.id]

    proxy.plan("GET", "/v1/partner", "slow:1.5")
    with pytest.raises(ridepledge.APITimeoutError):
        client.partner.retrieve(timeout=0.5, max_retries=0)
    assert len(proxy.requests_to("/v1/partner")) == 1


def test_max_retries_per_call(proxy, make_sdk):
    client = make_sdk(proxy.url, max_retries=0)
    client.partner.retrieve()
    proxy.plan("GET", "/v1/partner", "503", "503", "503")
    assert client.partner.retrieve(max_retries=3).slug == "kc-chiefs"  # the 4th try passes
    assert len(proxy.requests_to("/v1/partner")) == 1 + 4
    proxy.plan("GET", "/v1/partner", "503")
    with pytest.raises(ridepledge.ServerError):
        client.partner.retrieve()  # the client's own 0 still holds for the next call
    with pytest.raises(ValueError, match="max_retries"):
        client.partner.retrieve(max_retries=-1)


def test_retry_after_is_honoured(proxy, make_sdk):
    client = make_sdk(proxy.url)
    client.partner.retrieve()
    proxy.plan("GET", "/v1/partner", "429:1")
    started = time.monotonic()
    client.partner.retrieve()
    assert time.monotonic() - started >= 1.0
    assert len(proxy.requests_to("/v1/partner")) == 3


def test_a_retry_after_longer_than_we_wait_raises_at_once(proxy, make_sdk):
    client = make_sdk(proxy.url, max_retry_after=5)
    client.partner.retrieve()
    proxy.plan("GET", "/v1/partner", "429:120")
    started = time.monotonic()
    with pytest.raises(ridepledge.RateLimitError) as caught:
        client.partner.retrieve()
    assert time.monotonic() - started < 1.0
    assert caught.value.retry_after == 120 and caught.value.status == 429
    assert len(proxy.requests_to("/v1/partner")) == 2


def test_backoff_grows_between_retries(proxy, make_sdk):
    client = make_sdk(proxy.url, backoff_initial=0.2, backoff_max=10, max_retries=3)
    client.partner.retrieve()
    proxy.plan("GET", "/v1/partner", "503", "503", "503")
    started = time.monotonic()
    client.partner.retrieve()
    # waits of at least 0.1 + 0.2 + 0.4 (half of 0.2, 0.4, 0.8: the jitter adds up to as much)
    assert 0.7 <= time.monotonic() - started < 3.0


def test_a_conflict_about_state_is_not_retried(proxy, make_sdk, sdk):
    client = make_sdk(proxy.url)
    trip = sdk.trips.open(new_trip(sdk, new_event(sdk)).id)
    with pytest.raises(ridepledge.ConflictError) as caught:
        client.trips.open(trip.id)
    assert caught.value.code == "illegal-transition"
    assert len(proxy.requests_to(f"/v1/trips/{trip.id}/open")) == 1

    proxy.plan("POST", "/v1/events", "409:sold-out")
    with pytest.raises(ridepledge.SoldOutError):
        new_event(client)
    assert len(proxy.requests_to("/v1/events")) == 1


def test_a_request_still_in_progress_is_retried(proxy, make_sdk):
    client = make_sdk(proxy.url)
    proxy.plan("POST", "/v1/events", "409:idempotency-in-progress", "409:idempotency-in-progress")
    event = new_event(client)
    tries = proxy.requests_to("/v1/events", "POST")
    assert len(tries) == 3 and len(keys(tries)) == 1 and event.id.startswith("evt_")


def test_a_post_whose_answer_was_dropped_makes_one_object(proxy, make_sdk, app):
    """The server made the trip, the proxy dropped its answer: the retry carries the same key
    and the server answers it from the stored first answer instead of making a second trip."""
    client = make_sdk(proxy.url)
    event = new_event(client)
    proxy.plan("POST", "/v1/trips", "drop-after")

    trip = new_trip(client, event)

    tries = proxy.requests_to("/v1/trips", "POST")
    assert [t.action for t in tries] == ["drop-after", "pass"]
    assert len(keys(tries)) == 1 and tries[0].body == tries[1].body
    with app.app_context():
        made = db.session.scalars(select(Trip).where(Trip.event_id == event.id)).all()
    assert [row.id for row in made] == [trip.id]


@pytest.mark.parametrize("status", ["400", "404", "408", "422"])
def test_other_client_errors_are_not_retried(proxy, make_sdk, status):
    """Only connection errors, the in-progress 409, 429 and 5xx are retried."""
    client = make_sdk(proxy.url, max_retries=3)
    client.partner.retrieve()
    proxy.plan("GET", "/v1/partner", status)
    with pytest.raises(ridepledge.RidePledgeError) as caught:
        client.partner.retrieve()
    assert caught.value.status == int(status)
    assert len(proxy.requests_to("/v1/partner")) == 2
