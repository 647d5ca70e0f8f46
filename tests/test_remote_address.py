"""The visitor's address behind a trusted reverse proxy (K-10: the public lead form
limits each visitor, not the proxy)."""

from __future__ import annotations

import pytest
from aiohttp import web
from aiohttp.test_utils import make_mocked_request

from kontakt.config import load_settings
from web.keys import SETTINGS_KEY
from web.remote import client_address

SECRET = "abcdefghijklmnopqrstuvwxyz0123456789"


def request(peer: str, forwarded: str | None, trusted: str = "127.0.0.1,::1,10.0.0.0/8"):
    app = web.Application()
    app[SETTINGS_KEY] = load_settings(secret_key=SECRET, trusted_proxies=trusted,
                                      database_url="sqlite://:memory:")
    headers = {"X-Forwarded-For": forwarded} if forwarded is not None else {}

    class Transport:
        def get_extra_info(self, name, default=None):
            return (peer, 5555) if name == "peername" else default

        def is_closing(self):
            return False

    return make_mocked_request("POST", "/f/x", headers=headers, app=app,
                               transport=Transport())


def test_a_direct_visitor_is_its_own_address_whatever_it_claims():
    assert client_address(request("203.0.113.7", "1.2.3.4")) == "203.0.113.7"


def test_behind_the_proxy_the_address_the_proxy_added_counts():
    # nginx appends the peer it saw: a spoofed left part is not taken
    assert client_address(request("127.0.0.1", "6.6.6.6, 198.51.100.4")) == "198.51.100.4"
    # two trusted proxies in a row are skipped
    assert client_address(request("10.1.2.3", "198.51.100.4, 10.0.0.5")) == "198.51.100.4"
    # a proxy that sent no header: the proxy itself
    assert client_address(request("127.0.0.1", None)) == "127.0.0.1"


def test_no_trusted_proxies_means_the_peer():
    assert client_address(request("127.0.0.1", "198.51.100.4", trusted="")) == "127.0.0.1"


def test_a_bad_network_in_the_setting_is_refused_by_name():
    from kontakt.config import ConfigError

    with pytest.raises(ConfigError, match="KONTAKT_TRUSTED_PROXIES: not an address or a "
                                          "network: 300.1.1.1"):
        load_settings(secret_key=SECRET, trusted_proxies="127.0.0.1,300.1.1.1")
