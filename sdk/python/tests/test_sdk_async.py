"""What only the async client has: coroutines run concurrently on one event loop, `async for`,
`async with`, and one token request for many tasks. Everything else runs for both clients
through the `kind` fixture (conftest.py)."""

from __future__ import annotations

import asyncio

import httpx
import pytest
import ridepledge
from conftest import FAST
from sdk_helpers import new_event, new_trip, soon


@pytest.fixture
def kind():
    return "sync"  # the sync client only sets things up here


def async_client(base_url: str, credentials, **options) -> ridepledge.AsyncClient:
    client_id, secret = credentials
    return ridepledge.AsyncClient(client_id, secret, base_url, **{**FAST, **options})


def test_concurrent_tasks_share_one_token_request(proxy, credentials):
    proxy.plan("POST", "/oauth/token", "delay:0.5")  # the fetch is slow: the others must wait

    async def main() -> list[ridepledge.Partner]:
        async with async_client(proxy.url, credentials) as client:
            return await asyncio.gather(*(client.partner.retrieve() for _ in range(10)))

    partners = asyncio.run(main())

    assert {partner.slug for partner in partners} == {"kc-chiefs"}
    assert len(proxy.requests_to("/oauth/token")) == 1
    assert len({seen.headers["authorization"] for seen in proxy.requests_to("/v1/")}) == 1


def test_a_token_refused_to_concurrent_tasks_is_replaced_once(proxy, credentials):
    async def main() -> None:
        async with async_client(proxy.url, credentials) as client:
            await client.partner.retrieve()
            proxy.plan("GET", "/v1/partner", "401", "401", "401")
            await asyncio.gather(*(client.partner.retrieve() for _ in range(3)))

    asyncio.run(main())
    # Three tasks refused with the same token: the first to see its 401 fetches a new one, the
    # others find it (or wait on the lock for it) instead of fetching their own.
    assert len(proxy.requests_to("/oauth/token")) == 2
    assert len(proxy.requests_to("/v1/partner")) == 1 + 3 + 3


def test_async_for_walks_every_page_and_the_client_closes(sdk, live_server, credentials):
    created = [new_event(sdk, title=f"Game {n}").id for n in range(5)]

    async def main() -> tuple[list[str], list[int], bool]:
        client = async_client(live_server.url, credentials)
        async with client:
            ids = [event.id async for event in client.events.list(limit=2)]
            sizes = [len(page.data) async for page in client.events.list(limit=2).iter_pages()]
        return ids, sizes, client._transport.http_client.is_closed

    ids, sizes, closed = asyncio.run(main())
    assert ids == created[::-1] and sizes == [2, 2, 1] and closed


def test_calls_run_concurrently_and_posts_keep_their_own_keys(proxy, sdk, credentials):
    event = new_event(sdk)

    async def main() -> list[ridepledge.Trip]:
        async with async_client(proxy.url, credentials) as client:
            return await asyncio.gather(
                *(
                    client.trips.create(
                        event_id=event.id,
                        origin={"name": f"Town {n}"},
                        stops=[
                            {
                                "name": "Main St",
                                "address": "1 Main St",
                                "departs_at": event.starts_at.replace(hour=1),
                            }
                        ],
                        capacity=10,
                        min_riders=2,
                        unit_amount=1500,
                        pledge_deadline=soon(days=5),
                    )
                    for n in range(4)
                )
            )

    trips = asyncio.run(main())
    assert sorted(trip.origin.name for trip in trips) == [f"Town {n}" for n in range(4)]
    posts = proxy.requests_to("/v1/trips", "POST")
    assert len({seen.headers["idempotency-key"] for seen in posts}) == 4


def test_your_own_httpx_client_is_left_open(live_server, credentials):
    async def main() -> bool:
        async with httpx.AsyncClient() as mine:
            client = async_client(live_server.url, credentials, http_client=mine)
            async with client:
                await client.partner.retrieve()
            still_open = not mine.is_closed
            copy = client.with_options(max_retries=0)
            await copy.partner.retrieve()  # the copy shares it, and the token
            return still_open and copy._transport.http_client is mine

    assert asyncio.run(main())


def test_a_lost_answer_to_a_concurrent_post_makes_one_object(proxy, sdk, credentials):
    trip = new_trip(sdk, new_event(sdk))
    proxy.plan("POST", f"/v1/trips/{trip.id}/open", "drop-after")

    async def main() -> ridepledge.Trip:
        async with async_client(proxy.url, credentials) as client:
            return await client.trips.open(trip.id)

    assert asyncio.run(main()).status == "open"  # a second real /open would be a 409
    tries = proxy.requests_to(f"/v1/trips/{trip.id}/open")
    assert [t.action for t in tries] == ["drop-after", "pass"]
    assert len({t.headers["idempotency-key"] for t in tries}) == 1
