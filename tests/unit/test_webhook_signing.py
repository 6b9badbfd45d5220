"""Webhook signing (checked against the Standard Webhooks reference library), the secrets'
encryption at rest, the retry schedule and the rules for where webhooks may go (SSRF)."""

import base64
import hashlib
import hmac
import ipaddress
import json
import random
import socket
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from widget_server.webhooks import delivery, endpoints
from widget_server.webhooks.endpoints import UnsafeUrl, address_refusal, check_url
from widget_server.webhooks.secrets import SecretUnreadable, decrypt_secret, encrypt_secret
from widget_server.webhooks.signing import new_secret, sign, webhook_headers

BODY = json.dumps({"type": "pledge.created", "timestamp": "2026-01-01T00:00:00Z", "data": {}})


def test_secrets_are_whsec_and_32_random_bytes():
    first, second = new_secret(), new_secret()
    assert first.startswith("whsec_") and first != second
    assert len(base64.b64decode(first.removeprefix("whsec_"), validate=True)) == 32


def test_signature_matches_the_reference_library_and_a_hand_written_check():
    secret = new_secret()
    timestamp = int(time.time())
    signature = sign(secret, "msg_1", timestamp, BODY.encode())
    reference = Webhook(secret).sign("msg_1", datetime.fromtimestamp(timestamp, UTC), BODY)
    assert signature == reference
    # The check docs/webhooks.md shows, without any library.
    key = base64.b64decode(secret.removeprefix("whsec_"))
    expected = hmac.new(key, f"msg_1.{timestamp}.{BODY}".encode(), hashlib.sha256).digest()
    assert signature == "v1," + base64.b64encode(expected).decode()


def docs_verifier():
    """The `verify` function docs/webhooks.md tells partners to copy, run as written."""
    text = (Path(__file__).parents[2] / "docs" / "webhooks.md").read_text()
    code = text.split("### By hand", 1)[1].split("```python\n", 1)[1].split("```", 1)[0]
    namespace: dict = {}
    exec(compile(code, "docs/webhooks.md", "exec"), namespace)  # noqa: S102 (our own docs)
    return namespace["verify"]


def test_the_hand_written_check_in_the_docs_works():
    verify = docs_verifier()
    old, new = new_secret(), new_secret()
    headers = webhook_headers([new, old], "msg_1", int(time.time()), BODY.encode())
    assert verify(new, headers, BODY.encode()) and verify(old, headers, BODY.encode())
    assert not verify(new_secret(), headers, BODY.encode())
    assert not verify(new, headers, BODY.encode() + b" ")
    stale = webhook_headers([new], "msg_1", int(time.time()) - 600, BODY.encode())
    assert not verify(new, stale, BODY.encode())


def test_headers_verify_with_the_reference_library_and_tampering_fails():
    secret = new_secret()
    headers = webhook_headers([secret], "msg_1", int(time.time()), BODY.encode())
    assert set(headers) == {"webhook-id", "webhook-timestamp", "webhook-signature"}
    assert Webhook(secret).verify(BODY, headers) == json.loads(BODY)
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(BODY.replace("pledge", "trip"), headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(BODY, {**headers, "webhook-id": "msg_2"})
    with pytest.raises(WebhookVerificationError):
        Webhook(new_secret()).verify(BODY, headers)


def test_during_rotation_both_secrets_verify_and_no_other():
    old, new = new_secret(), new_secret()
    headers = webhook_headers([new, old], "msg_1", int(time.time()), BODY.encode())
    assert len(headers["webhook-signature"].split(" ")) == 2
    assert Webhook(old).verify(BODY, headers) and Webhook(new).verify(BODY, headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(new_secret()).verify(BODY, headers)


def test_stored_secrets_are_encrypted_with_a_key_from_secret_key():
    secret = new_secret()
    stored = encrypt_secret("app-key-1", secret)
    assert secret not in stored and secret.removeprefix("whsec_") not in stored
    assert decrypt_secret("app-key-1", stored) == secret
    assert encrypt_secret("app-key-1", secret) != stored  # a fresh IV every time
    with pytest.raises(SecretUnreadable):
        decrypt_secret("app-key-2", stored)


@pytest.mark.parametrize("attempts_made", range(delivery.MAX_ATTEMPTS))
def test_retry_schedule_with_at_most_ten_percent_jitter(attempts_made):
    expected = [0, 5, 300, 1800, 7200, 18000, 36000, 36000][attempts_made]
    low = delivery.next_delay(attempts_made, random.Random(attempts_made))
    lowest = delivery.next_delay(attempts_made, _FixedRandom(0.0))
    highest = delivery.next_delay(attempts_made, _FixedRandom(delivery.JITTER))
    assert lowest == timedelta(seconds=expected)
    assert highest == timedelta(seconds=expected * 1.1)
    assert lowest <= low <= highest


def test_no_retry_after_the_eighth_attempt():
    assert delivery.MAX_ATTEMPTS == 8
    assert delivery.next_delay(8) is None and delivery.next_delay(9) is None


class _FixedRandom(random.Random):
    def __init__(self, value: float):
        super().__init__()
        self.value = value

    def uniform(self, a, b):
        assert (a, b) == (0, delivery.JITTER)
        return self.value


# --- SSRF --------------------------------------------------------------------------------------

PUBLIC = "93.184.215.14"


@pytest.fixture
def dns(monkeypatch):
    """Fake DNS: host name -> addresses; IP literals resolve to themselves."""
    table: dict[str, list[str]] = {}

    def resolve(host, port):
        try:
            return [ipaddress.ip_address(host)]
        except ValueError:
            pass
        if host not in table:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return [ipaddress.ip_address(address) for address in table[host]]

    monkeypatch.setattr(endpoints, "resolve_host", resolve)
    return table


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("http://hooks.partner.example/rp", "must use https"),
        ("https://10.0.0.1/hook", "a private address (10.0.0.1)"),
        ("https://169.254.169.254/latest/meta-data", "a link-local address (169.254.169.254)"),
        ("https://192.168.1.1/", "a private address (192.168.1.1)"),
        ("https://[::1]/hook", "a loopback address (::1)"),
        ("https://127.0.0.1:8443/hook", "a loopback address (127.0.0.1)"),
        ("https://sneaky.partner.example/", "a loopback address (127.0.0.1)"),
        ("https://split.partner.example/", "a private address (172.16.0.5)"),
        ("https://[::ffff:10.1.2.3]/", "a private address"),
        ("https://0.0.0.0/", "an unspecified address"),
        ("https://224.0.0.251/", "a multicast address"),
        ("https://240.0.0.1/", "a reserved address"),
        ("https://100.64.0.1/", "a non-public address"),
        ("https://[fe80::1]/", "a link-local address"),
        ("https://[fd00::1]/", "a private address"),
        ("https://user:pw@hooks.partner.example/", "must not contain a user name or password"),
        ("https://hooks.partner.example:99999/", "invalid port"),
        ("ftp://hooks.partner.example/", "must be an absolute https:// URL"),
        ("hooks.partner.example/rp", "must be an absolute https:// URL"),
        ("https://nowhere.partner.example/", "does not resolve"),
    ],
)
def test_unsafe_urls_are_refused_with_a_reason(dns, url, message):
    dns["hooks.partner.example"] = [PUBLIC]
    dns["sneaky.partner.example"] = ["127.0.0.1"]
    dns["split.partner.example"] = [PUBLIC, "172.16.0.5"]  # every address must be public
    with pytest.raises(UnsafeUrl) as refused:
        check_url(url, allow_loopback=False)
    assert message in str(refused.value)


def test_https_to_public_addresses_is_allowed(dns):
    dns["hooks.partner.example"] = [PUBLIC, "2606:2800:21f:cb07:6820:80da:af6b:8b2c"]
    check_url("https://hooks.partner.example/ridepledge?x=1", allow_loopback=False)
    check_url(f"https://{PUBLIC}:8443/hook", allow_loopback=True)


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8000/hook",
        "https://127.0.0.1/hook",
        "http://127.9.9.9/hook",
        "http://[::1]:9000/",
        "http://localhost:5000/hook",
    ],
)
def test_loopback_is_allowed_over_http_and_https_with_the_flag(dns, url):
    dns["localhost"] = ["127.0.0.1", "::1"]
    check_url(url, allow_loopback=True)
    with pytest.raises(UnsafeUrl):
        check_url(url, allow_loopback=False)


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("http://hooks.partner.example/", "must use https"),
        ("https://10.0.0.1/", "a private address"),
        ("https://169.254.169.254/", "a link-local address"),
        ("http://mixed.partner.example/", "must use https"),
    ],
)
def test_the_loopback_flag_allows_nothing_else(dns, url, message):
    dns["hooks.partner.example"] = [PUBLIC]
    dns["mixed.partner.example"] = ["127.0.0.1", PUBLIC]
    with pytest.raises(UnsafeUrl) as refused:
        check_url(url, allow_loopback=True)
    assert message in str(refused.value)


def test_real_dns_for_localhost_and_ip_literals():
    with pytest.raises(UnsafeUrl, match="loopback"):
        check_url("https://localhost/hook", allow_loopback=False)
    check_url("http://localhost/hook", allow_loopback=True)


@pytest.mark.parametrize(
    ("address", "refusal"),
    [
        ("8.8.8.8", None),
        ("2001:4860:4860::8888", None),
        ("127.0.0.1", "a loopback address"),
        ("::ffff:127.0.0.1", "a loopback address"),
        ("64:ff9b::a00:1", "a private address"),  # NAT64 of 10.0.0.1
        ("2002:c0a8:101::1", "a private address"),  # 6to4 of 192.168.1.1
        ("fe80::1", "a link-local address"),
        ("::", "an unspecified address"),
        ("ff02::1", "a multicast address"),
    ],
)
def test_address_refusals(address, refusal):
    assert address_refusal(ipaddress.ip_address(address), allow_loopback=False) == refusal


def test_the_connection_itself_refuses_a_loopback_peer(monkeypatch):
    """DNS rebinding: the URL check passed (DNS said public), then the name resolved to a
    loopback address when connecting; the connection is closed before a byte is sent."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    monkeypatch.setattr(delivery, "check_url", lambda url, allow_loopback: None)
    claim = delivery.Claim(
        delivery_id="whd_1",
        endpoint_id="we_1",
        partner_id="ptn_1",
        message_id="msg_1",
        attempt=1,
        url=f"https://127.0.0.1:{listener.getsockname()[1]}/hook",
        body=BODY.encode(),
        secrets=(new_secret(),),
    )
    try:
        outcome = delivery.send(claim, allow_loopback=False)
        connection, _ = listener.accept()
        with connection:
            connection.settimeout(2)
            assert connection.recv(100) == b""  # closed without a TLS hello or a request
    finally:
        listener.close()
    assert outcome.status_code is None and not outcome.succeeded
    assert outcome.error == "not sent: the host connected to a loopback address (127.0.0.1)"
