"""Attribution of pool calls to sessions (active, late, unattributed) and channel-group rules.

The tests of this area that need no database, network or server; the ones that need
the database are in ``tests/integration/test_attribution.py``.
"""

from __future__ import annotations

import pytest

from chalicelib.attribution import channel_group


@pytest.mark.parametrize(
    ("source", "group"),
    [
        ({"utm_medium": "email", "utm_source": "google"}, "email"),
        ({"utm_medium": "Newsletter"}, "email"),
        ({"utm_medium": "cpc", "utm_source": "google"}, "paid search"),
        ({"gclid": "x", "referrer": "https://www.google.com/"}, "paid search"),
        ({"gbraid": "x"}, "paid search"),  # Google's iOS click ids are paid markers too
        ({"wbraid": "x", "utm_source": "instagram"}, "paid social"),
        ({"yclid": "1", "referrer": "https://yandex.ru/"}, "paid search"),
        ({"utm_medium": "cpc", "utm_source": "facebook"}, "paid social"),
        ({"utm_medium": "paid", "referrer": "https://l.instagram.com/"}, "paid social"),
        ({"utm_medium": "display"}, "other"),
        ({"utm_medium": "affiliate", "referrer": "https://www.google.com/"}, "other"),
        ({"utm_medium": "social"}, "social"),
        ({"fbclid": "x"}, "social"),
        ({"referrer": "https://t.co/abc"}, "social"),
        ({"referrer": "https://www.google.co.uk/", "landing_page": "https://shop.example.com/"}, "organic search"),
        ({"referrer": "https://duckduckgo.com/"}, "organic search"),
        ({"utm_medium": "organic", "utm_source": "bing"}, "organic search"),
        ({"referrer": "https://blog.example.org/post"}, "referral"),
        ({"utm_medium": "referral"}, "referral"),
        ({"referrer": "https://shop.example.com/a", "landing_page": "https://shop.example.com/b"}, "direct"),
        ({}, "direct"),
        ({"referrer": "https://notgoogle.example/"}, "referral"),
    ],
)
def test_channel_groups(source, group):
    assert channel_group(source) == group
