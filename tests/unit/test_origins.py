"""allowed_origins: exact origins only (the probes of issue 9), loopback as browsers see it."""

import pytest

from widget_server.domain.origins import is_loopback_host, normalize_origin, safe_origins

REFUSED = [
    "https://*",
    "https://*.example.com",
    "https://a.example *",
    "https://a.example; script-src *",
    "https://a.example;",
    "https://a.example,https://b.example",
    "https://a.example/path",
    "https://a.example/?q=1",
    "https://a.example/#x",
    "https://user@a.example",
    "https://a.example\r\nX-Injected: 1",
    "https://a.example\n",
    "https://a.example\x00",
    "https://a.ex ample",
    " https://a.example",
    "https://a.example'",
    'https://a.example"',
    "https://a.example:0",
    "https://a.example:65536",
    "https://a.example:abc",
    "https://",
    "https://-a.example",
    "https://a..example",
    "https://999.1.1.1",
    "https://[::1",
    "https://[zz::1]",
    "http://evil.example",
    "http://127.0.0.1.evil.example",
    "http://[::ffff:7f00:1]",
    "ftp://a.example",
    "javascript://a.example",
    "a.example",
    "*",
    "'self'",
    "https://a.example\u202e",
    "https://" + "a" * 300 + ".example",
    42,
    None,
]


@pytest.mark.parametrize("value", REFUSED)
def test_anything_but_an_exact_origin_is_refused(value):
    with pytest.raises(ValueError):
        normalize_origin(value)


@pytest.mark.parametrize(
    ("value", "normalised"),
    [
        ("https://www.chiefs.com", "https://www.chiefs.com"),
        ("HTTPS://WWW.Chiefs.COM/", "https://www.chiefs.com"),
        ("https://www.chiefs.com:443", "https://www.chiefs.com"),
        ("https://www.chiefs.com:8443", "https://www.chiefs.com:8443"),
        ("https://bücher.example", "https://xn--bcher-kva.example"),
        ("http://localhost:8000", "http://localhost:8000"),
        ("http://app.localhost:3000", "http://app.localhost:3000"),
        ("http://127.0.0.1:8000", "http://127.0.0.1:8000"),
        ("http://127.1.2.3", "http://127.1.2.3"),
        ("http://127.255.255.254:80", "http://127.255.255.254"),
        ("http://[::1]:9000", "http://[::1]:9000"),
        ("http://[0:0:0:0:0:0:0:1]", "http://[::1]"),
        ("https://192.0.2.10", "https://192.0.2.10"),
        ("https://[2001:db8::1]", "https://[2001:db8::1]"),
    ],
)
def test_exact_origins_are_accepted_as_browsers_write_them(value, normalised):
    assert normalize_origin(value) == normalised


def test_loopback_is_all_of_127_slash_8_ipv6_one_and_localhost():
    assert all(
        map(is_loopback_host, ["127.0.0.1", "127.9.8.7", "[::1]", "localhost", "a.localhost"])
    )
    assert not any(map(is_loopback_host, ["128.0.0.1", "localhost.example", "[::2]", "10.0.0.1"]))


def test_stored_values_that_break_the_rules_never_reach_a_header():
    stored = [
        "https://ok.example",
        "https://*",
        "https://a.example; script-src *",
        "https://ok.example/",
    ]
    assert safe_origins(stored) == ["https://ok.example"]
    assert safe_origins("https://ok.example") == []
