"""The Google consent link, bound to the browser that opens it (issue 18).

The bot and the web hand out Kontakt's own link (``/oauth/google/start?s=…``), not
Google's. Opening it (once: a second open is refused) sets a cookie with a random
nonce in that browser and sends it on to Google's consent screen with a state that
carries the same nonce. Google's callback is taken only in the browser holding that
cookie: a consent state carried to another browser (a copied address, a forged
redirect) connects nothing. The start link lasts 15 minutes, like the state."""

from __future__ import annotations

import hmac
import secrets
from urllib.parse import quote

from services import activities as acts
from services.crypto import sign, unsign

COOKIE = "kontakt_oauth"
TTL_S = 900


def start_url(engine, user) -> str:
    """Kontakt's consent link for ``user`` (what the bot's button and the API give)."""
    token = sign(engine.secret, {"u": user.id, "n": secrets.token_hex(8)},
                 purpose="google-oauth-start", ttl_s=TTL_S)
    return f"{engine.base_url}/oauth/google/start?s={quote(token)}"


async def open_start(engine, token: str) -> tuple[int, str] | None:
    """(the person, the browser's nonce) for a start link opened the first time, or
    None (forged, expired, or opened before)."""
    payload = unsign(engine.secret, token or "", purpose="google-oauth-start")
    if not payload or not isinstance(payload.get("u"), int):
        return None
    if not await acts.claim_once("oauth-start", payload["u"], str(payload.get("n"))[:64]):
        return None
    return payload["u"], secrets.token_urlsafe(16)


def google_url(engine, user_id: int, nonce: str, login_hint: str | None) -> str:
    state = sign(engine.secret, {"u": user_id, "n": nonce}, purpose="google-oauth",
                 ttl_s=TTL_S)
    return engine.cfg.consent_url(engine.redirect_uri(), state, login_hint=login_hint)


def same_browser(engine, state: str, cookie: str | None) -> bool:
    """The callback's state was made for the browser that sends this cookie."""
    payload = unsign(engine.secret, state or "", purpose="google-oauth")
    nonce = str(payload.get("n", "")) if payload else ""
    return bool(cookie and nonce) and hmac.compare_digest(nonce, cookie)
