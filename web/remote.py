"""The visitor's own address behind the reverse proxy (README, "Deployment").

``request.remote`` is the proxy's address when the service runs behind nginx or Caddy,
so every visitor of a public page would share one rate limit. When the direct peer is
one of ``KONTAKT_TRUSTED_PROXIES``, the address is read from ``X-Forwarded-For`` right
to left, skipping the trusted proxies of the chain: the first other one is the
visitor's (what a client writes at the left of the header cannot be trusted, so it is
never taken while a proxy-added address follows it)."""

from __future__ import annotations

import ipaddress
from functools import lru_cache

from aiohttp import web

from web.keys import SETTINGS_KEY


@lru_cache(maxsize=16)
def _networks(spec: str) -> tuple:
    return tuple(ipaddress.ip_network(p.strip(), strict=False)
                 for p in spec.split(",") if p.strip())


def _trusted(address: str, networks: tuple) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in n for n in networks)


def client_address(request: web.Request) -> str:
    peer = request.remote or "?"
    settings = request.app.get(SETTINGS_KEY)
    spec = getattr(settings, "trusted_proxies", "") if settings is not None else ""
    networks = _networks(spec) if spec else ()
    if not networks or not _trusted(peer, networks):
        return peer
    chain = [p.strip() for p in request.headers.get("X-Forwarded-For", "").split(",")
             if p.strip()]
    for hop in reversed(chain):
        if not _trusted(hop, networks):
            return hop
    return chain[0] if chain else peer
