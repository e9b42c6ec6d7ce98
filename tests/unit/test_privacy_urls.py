"""Page URLs and referrers cut to origin + path (+ tracking parameters): pure functions, no database."""

from __future__ import annotations

import time

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chalicelib.core.privacy import CLICK_ID_PARAMETERS, page_url, referrer

SHOP = "https://shop.example.com"


@pytest.mark.parametrize(
    ("url", "kept"),
    [
        # The example: secrets in the query and the fragment, one utm tag.
        (f"{SHOP}/?token=abc&email=ann%40example.com&utm_source=x#access_token=ya29.secret", f"{SHOP}/?utm_source=x"),
        (f"{SHOP}/reset/password?token=abc", f"{SHOP}/reset/password"),
        (f"{SHOP}/#/callback?code=abc", f"{SHOP}/"),
        (f"{SHOP}/p?", f"{SHOP}/p"),
        (SHOP, f"{SHOP}/"),
        # Every click id and any utm_* tag stay, in their order, duplicates and empty values too.
        (
            f"{SHOP}/?gclid=1&gbraid=2&wbraid=3&yclid=4&fbclid=5&msclkid=6&utm_id=7&utm_source=a&utm_source=b&utm_term=",
            f"{SHOP}/?gclid=1&gbraid=2&wbraid=3&yclid=4&fbclid=5&msclkid=6&utm_id=7&utm_source=a&utm_source=b&utm_term=",
        ),
        # Names are compared as written: no case folding, no decoding, no look-alikes.
        (f"{SHOP}/?UTM_SOURCE=a&GCLID=b&utm_=c&utm%5Fsource=d&xgclid=e&gclid_x=f&utm-source=g", f"{SHOP}/"),
        (f"{SHOP}/?utm_source=a+b%20c&email=x;utm_medium=y", f"{SHOP}/?utm_source=a+b%20c"),
        # User info never, ports always; scheme and host lowercased.
        ("https://user:pass@shop.example.com/a?utm_medium=cpc", f"{SHOP}/a?utm_medium=cpc"),
        ("https://a@b@shop.example.com/", f"{SHOP}/"),
        ("https://shop.example.com%2F@evil.example/", "https://evil.example/"),  # the host is after the last @
        ("HTTP://Shop.Example.COM:8080/Path?gclid=G", "http://shop.example.com:8080/Path?gclid=G"),
        ("https://shop.example.com:0443/", "https://shop.example.com:443/"),
        ("http://127.0.0.1:8000/demo?utm_source=n&x=1", "http://127.0.0.1:8000/demo?utm_source=n"),
        ("http://[2001:DB8::1]:8443/p?gclid=1&q=2", "http://[2001:db8::1]:8443/p?gclid=1"),
        ("https://user:pw@[::1]/", "https://[::1]/"),
        ("https://xn--bcher-kva.example/", "https://xn--bcher-kva.example/"),
        # Whatever a browser would percent-encode is encoded; what it leaves is left.
        (f'{SHOP}/a b/<script>"\'?utm_source="x y"', f"{SHOP}/a%20b/%3Cscript%3E%22'?utm_source=%22x%20y%22"),
        (
            f"{SHOP}/caf\u00e9?utm_term=\u043f\u043b\u043e\u0442\u043d\u0438\u043a",
            f"{SHOP}/caf%C3%A9?utm_term=%D0%BF%D0%BB%D0%BE%D1%82%D0%BD%D0%B8%D0%BA",
        ),
        (f"{SHOP}/%E2%82%AC%zz?utm_source=%F0%9F", f"{SHOP}/%E2%82%AC%zz?utm_source=%F0%9F"),
        # Lone surrogates (JSON can carry them, UTF-8 cannot) become U+FFFD, as in a browser.
        (f"{SHOP}/\ud800x?utm_source=\udfff", f"{SHOP}/%EF%BF%BDx?utm_source=%EF%BF%BD"),
        (f"{SHOP}/\x00\x7f\u202e?utm_source=\x01", f"{SHOP}/%00%7F%E2%80%AE?utm_source=%01"),
        (f"  {SHOP}/\t\n?utm_source=x  ", f"{SHOP}/?utm_source=x"),
    ],
)
def test_page_url_keeps_origin_path_and_tracking_parameters(url, kept):
    assert page_url(url) == kept


@pytest.mark.parametrize(
    ("url", "kept"),
    [
        ("https://www.google.com/search?q=ann+smith+divorce&oq=ann#frag", "https://www.google.com/search"),
        ("https://www.google.com/", "https://www.google.com/"),
        ("https://l.facebook.com/l.php?u=https%3A%2F%2Fshop&h=AT0", "https://l.facebook.com/l.php"),
        ("https://mail.example.com/?utm_source=x&gclid=y", "https://mail.example.com/"),  # referrers keep no query
        ("https://user:pass@intranet.example:8443/tickets/42?session=abc", "https://intranet.example:8443/tickets/42"),
        ("http://[fe80::1]/x?y#z", "http://[fe80::1]/x"),
    ],
)
def test_referrer_keeps_origin_and_path(url, kept):
    assert referrer(url) == kept


@pytest.mark.parametrize(
    "url",
    [
        "",
        "   ",
        "javascript:alert(1)",
        "JavaScript:alert(document.cookie)//https://shop.example.com/",
        "javascript://shop.example.com/%0Aalert(1)",
        "data:text/html,<script>alert(1)</script>",
        "vbscript:msgbox(1)",
        "file:///etc/passwd",
        "ftp://shop.example.com/",
        "android-app://com.google.android.gm/",
        "//shop.example.com/path",
        "/relative/path?utm_source=x",
        "shop.example.com/",
        "https://",
        "https:///path",
        "https://user:pass@/",
        "https://:443/",
        "http://[::1/",
        "http://::1]/",
        "http://[zz::1]/",
        "http://[v1.fe80]/",
        "http://[fe80::1%25eth0]/",
        "https://shop.example.com:99999/",
        "https://shop.example.com:-1/",
        "https://shop.example.com:http/",
        "https://shop example.com/",
        "https://shop.example.com\u3002evil/",
        "https://b\u00fccher.example/",  # browsers send IDNs as punycode
        "https://shop.example.com\x00.evil/",
        "https://\ud800.example/",
    ],
)
def test_what_is_not_an_http_url_with_a_host_is_refused(url):
    assert page_url(url) is None
    assert referrer(url) is None


def test_very_long_values_are_cut_down_quickly():
    """The lease endpoint caps bodies at 8 KB; these functions stay linear far beyond that."""
    token = "t" * 1_000_000
    started = time.perf_counter()
    got = page_url(f"{SHOP}/?token={token}&" + "&".join(["x=1"] * 100_000) + "&utm_source=x#" + token)
    assert got == f"{SHOP}/?utm_source=x"
    assert referrer(f"{SHOP}/{'p' * 1_000_000}?q={token}") == f"{SHOP}/{'p' * 1_000_000}"
    assert page_url("https://" + "a." * 100_000 + "example/") is not None
    assert page_url("https://" + "[" * 100_000) is None
    assert time.perf_counter() - started < 5  # generous: a shared machine; quadratic work would take minutes


def test_the_tracking_parameters_are_the_documented_ones():
    assert CLICK_ID_PARAMETERS == ("gclid", "gbraid", "wbraid", "yclid", "fbclid", "msclkid")


_QUERY_PIECES = st.sampled_from(["utm_source", "gclid", "token", "email", "=", "&", "#", "?", "%", "+", "@", ":", " "])


@given(st.text())
def test_any_text_gives_none_or_an_ascii_url_that_stays_as_it_is(text):
    for cut in (page_url, referrer):
        got = cut(text)
        if got is not None:
            assert got.isascii() and "#" not in got and got.startswith(("http://", "https://"))
            assert cut(got) == got  # idempotent: what the script already cut, the server keeps


@given(st.lists(st.one_of(_QUERY_PIECES, st.text(max_size=5))).map("".join))
def test_any_query_keeps_only_tracking_parameters(tail):
    got = page_url(f"{SHOP}/p?{tail}")
    assert got is not None and got.isascii() and "#" not in got
    assert page_url(got) == got
    path, _, query = got.partition("?")
    assert path.startswith(f"{SHOP}/p")
    for pair in filter(None, query.split("&")):
        name = pair.partition("=")[0]
        assert name in CLICK_ID_PARAMETERS or (name.startswith("utm_") and len(name) > 4), got
