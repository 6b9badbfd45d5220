"""OAuth client credentials: lazy, cached, refreshed before expiry and once on a 401, one
fetch at a time across threads. Token requests are counted at a proxy in front of the server."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
import ridepledge
from sdk_helpers import new_credentials


def bearer_tokens(proxy, path="/v1/") -> list[str]:
    return [seen.headers["authorization"] for seen in proxy.requests_to(path)]


def test_the_token_is_fetched_lazily_once_and_reused(proxy, make_sdk):
    client = make_sdk(proxy.url)
    assert proxy.seen == []  # nothing happens before the first call
    for _ in range(3):
        client.partner.retrieve()
    client.events.list().first_page()
    assert len(proxy.requests_to("/oauth/token")) == 1
    assert len(set(bearer_tokens(proxy))) == 1


@pytest.mark.parametrize("kind", ["sync"])
def test_threads_share_one_token_fetch(proxy, make_sdk):
    client = make_sdk(proxy.url)
    proxy.plan("POST", "/oauth/token", "delay:0.5")  # the fetch is slow: the others must wait

    with ThreadPoolExecutor(max_workers=8) as pool:
        partners = list(pool.map(lambda _: client.partner.retrieve(), range(8)))

    assert {partner.slug for partner in partners} == {"kc-chiefs"}
    assert len(proxy.requests_to("/oauth/token")) == 1
    assert len(set(bearer_tokens(proxy))) == 1


def test_a_token_is_refreshed_before_it_expires(proxy, make_sdk):
    # The server's tokens live 3600 s; with a 3600 s margin each one is "about to expire" at
    # once, so every call fetches a new one before using it.
    client = make_sdk(proxy.url, token_refresh_margin=3600)
    for _ in range(3):
        client.partner.retrieve()
    assert len(proxy.requests_to("/oauth/token")) == 3
    assert len(set(bearer_tokens(proxy))) == 3

    # A copy with the usual margin shares the token cache and keeps the last token.
    patient = client.with_options(token_refresh_margin=60)
    patient.partner.retrieve()
    patient.partner.retrieve()
    assert len(proxy.requests_to("/oauth/token")) == 3


def test_a_revoked_token_is_replaced_once(proxy, make_sdk, credentials, live_server):
    client = make_sdk(proxy.url)
    client.partner.retrieve()
    (token,) = {value.removeprefix("Bearer ") for value in bearer_tokens(proxy)}
    revoked = requests.post(
        f"{live_server.url}/oauth/revoke", data={"token": token}, auth=credentials, timeout=10
    )
    assert revoked.status_code == 200

    assert client.partner.retrieve().slug == "kc-chiefs"

    statuses = [seen.action for seen in proxy.requests_to("/v1/partner")]
    assert len(statuses) == 3  # ok, 401 with the revoked token, ok with the new one
    assert len(proxy.requests_to("/oauth/token")) == 2
    assert bearer_tokens(proxy)[1] == f"Bearer {token}" != bearer_tokens(proxy)[2]


def test_a_post_refreshed_after_a_401_keeps_its_key(proxy, make_sdk):
    client = make_sdk(proxy.url)
    proxy.plan("POST", "/v1/events", "401")
    client.events.create(
        title="T",
        venue="V",
        starts_at=ridepledge.models.parse_datetime("2031-01-01T00:00:00Z"),
        timezone="UTC",
    )
    tries = proxy.requests_to("/v1/events", "POST")
    assert len(tries) == 2 and len({t.headers["idempotency-key"] for t in tries}) == 1
    assert len(proxy.requests_to("/oauth/token")) == 2


def test_a_second_401_is_an_authentication_error(proxy, make_sdk):
    client = make_sdk(proxy.url)
    proxy.plan("GET", "/v1/partner", "401", "401")
    with pytest.raises(ridepledge.AuthenticationError) as caught:
        client.partner.retrieve()
    assert caught.value.status == 401
    assert len(proxy.requests_to("/v1/partner")) == 2
    assert len(proxy.requests_to("/oauth/token")) == 2


def test_wrong_credentials_fail_at_once(proxy, make_sdk, credentials):
    client = make_sdk(proxy.url, creds=(credentials[0], "sk_wrong"))
    with pytest.raises(ridepledge.AuthenticationError) as caught:
        client.partner.retrieve()
    assert caught.value.code == "invalid-client" and caught.value.status == 401
    assert len(proxy.requests_to("/oauth/token")) == 1  # not retried
    assert proxy.requests_to("/v1/") == []


def test_a_narrower_scope_can_be_asked_for(make_sdk):
    reader = make_sdk(scope="partner:read")
    assert reader.partner.retrieve().slug == "kc-chiefs"
    with pytest.raises(ridepledge.PermissionDeniedError):
        list(reader.events.list())
    with pytest.raises(ridepledge.BadRequestError) as caught:
        make_sdk(scope="no:such").partner.retrieve()
    assert caught.value.code == "invalid-scope"


def test_copies_share_the_token_unless_the_credentials_change(proxy, make_sdk, app, partner_id):
    client = make_sdk(proxy.url)
    client.partner.retrieve()
    quick = client.with_options(timeout=5, max_retries=0)
    assert quick.options.timeout == 5 and client.options.timeout == 10.0
    quick.partner.retrieve()
    assert len(proxy.requests_to("/oauth/token")) == 1

    other_id, other_secret = new_credentials(app, partner_id)
    other = client.with_options(client_id=other_id, client_secret=other_secret)
    other.partner.retrieve()
    assert len(proxy.requests_to("/oauth/token")) == 2

    quick.close()  # a copy does not close the connections it shares
    client.partner.retrieve()
    with pytest.raises(TypeError, match="unknown option"):
        client.with_options(retries=3)
