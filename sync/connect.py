"""Connecting a person's Google Calendar (consent, Workspace delegation, choosing a
calendar), the push channel, push notifications and disconnecting (K-1). A mixin of
:class:`sync.engine.CalendarSync`; "now" is the engine's (``self._now()``)."""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import secrets
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from tortoise.transactions import in_transaction

from models import CalendarEvent, CalendarLink, CompanyGoogle, LinkState, User
from services import activities as acts
from services import calendar as cal
from services.crypto import SecretUnreadable, decrypt, encrypt, sign, unsign
from sync.google import (
    AccessRevoked,
    CalendarClient,
    GoogleError,
    TokenEndpointError,
    exchange_code,
    oauth_credentials,
    revoke,
    service_credentials,
)

if TYPE_CHECKING:
    from sync.engine import CalendarSync as _Base
else:
    _Base = object

log = logging.getLogger("kontakt.sync")
CHANNEL_TTL_S = 7 * 86400


class ConnectFailed(Exception):
    """Connecting did not work; ``code`` says why (shown translated)."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code

class ConnectMixin(_Base):
    # --- channels and disconnecting ----------------------------------------------------------
    async def _watch(self, link: CalendarLink, client: CalendarClient) -> None:
        channel_id, token = secrets.token_hex(16), secrets.token_urlsafe(24)
        old = (link.channel_id, link.channel_token, link.channel_resource_id)
        # known before Google is asked: its first message ("sync", or a change) may come
        # before the watch call returns ("Push notifications")
        await CalendarLink.filter(id=link.id).update(channel_id=channel_id,
                                                     channel_token=token)
        try:
            made = await asyncio.to_thread(client.watch, link.calendar_id, channel_id,
                                           token, self.webhook_url, CHANNEL_TTL_S)
        except BaseException:
            await CalendarLink.filter(id=link.id).update(channel_id=old[0],
                                                         channel_token=old[1])
            raise
        expires = self._now() + timedelta(seconds=CHANNEL_TTL_S)
        if made.get("expiration"):
            expires = datetime.fromtimestamp(int(made["expiration"]) / 1000, tz=expires.tzinfo)
        old = (old[0], old[2])
        await CalendarLink.filter(id=link.id).update(
            channel_resource_id=made.get("resourceId"), channel_expires_at=expires)
        if old[0] and old[1]:
            try:
                await asyncio.to_thread(client.stop, old[0], old[1])
            except GoogleError as exc:
                log.info("calendar: stopping an old channel failed: %s", exc)

    async def _finish_disconnect(self, link: CalendarLink, client: CalendarClient) -> None:
        if link.channel_id and link.channel_resource_id:
            try:
                await asyncio.to_thread(client.stop, link.channel_id,
                                        link.channel_resource_id)
            except GoogleError as exc:  # it runs out by itself within a week
                log.info("calendar: stopping the channel failed: %s", exc)
            await CalendarLink.filter(id=link.id).update(channel_id=None,
                                                         channel_resource_id=None)
        if link.remove_events:
            # every row is marked unwanted: deletes, those waiting out a backoff too
            await CalendarEvent.filter(user_id=link.user_id).update(
                wanted=False, dirty=True, next_attempt_at=self._now())
            await self.push(link, client)
            if link.calendar_ours and link.calendar_id:
                try:
                    await asyncio.to_thread(client.gc.delete_calendar, link.calendar_id)
                except Exception as exc:  # noqa: BLE001 - the events are gone already
                    log.info("calendar: deleting the Kontakt calendar failed: %s", exc)
        if link.mode == "oauth" and link.token:
            try:
                await asyncio.to_thread(revoke, self.cfg, decrypt(self.secret, link.token))
            except SecretUnreadable:
                pass
        await self._forget(link)

    async def _forget(self, link: CalendarLink) -> None:
        async with in_transaction():
            await CalendarEvent.filter(user_id=link.user_id).delete()
            await CalendarLink.filter(id=link.id).delete()
        self._clients.pop(link.user_id, None)

    # --- connecting ------------------------------------------------------------------------
    def redirect_uri(self) -> str:
        return f"{self.base_url}/oauth/google/callback"

    def consent_url(self, user: User) -> str:
        """Google's consent screen for this person; the state is signed and lasts 15
        minutes, so a link cannot be used for somebody else or later."""
        state = sign(self.secret, {"u": user.id, "n": secrets.token_hex(8)},
                     purpose="google-oauth", ttl_s=900)
        return self.cfg.consent_url(self.redirect_uri(), state, login_hint=user.email)

    def user_of_state(self, state: str) -> int | None:
        payload = unsign(self.secret, state or "", purpose="google-oauth")
        return int(payload["u"]) if payload and isinstance(payload.get("u"), int) else None

    async def use_state(self, state: str) -> int | None:
        """The person a consent link was made for, once: a link used is used up."""
        payload = unsign(self.secret, state or "", purpose="google-oauth")
        if not payload or not isinstance(payload.get("u"), int):
            return None
        if not await acts.claim_once("oauth", payload["u"], str(payload.get("n"))[:64]):
            return None
        return int(payload["u"])

    async def connect(self, user: User, code: str) -> CalendarLink:
        """The consent's code → a refresh token (encrypted at rest) → the "Kontakt"
        calendar made in the person's account (or the one they chose before) → the
        person's activities queued for it."""
        tokens = await asyncio.to_thread(exchange_code, self.cfg, code, self.redirect_uri())
        refresh = tokens.get("refresh_token")
        if not refresh:
            raise ConnectFailed("no_offline_access")
        client = await asyncio.to_thread(CalendarClient, self.cfg,
                                         oauth_credentials(self.cfg, refresh))
        account = await asyncio.to_thread(client.account)
        old = await cal.link_of(user)
        if old is not None and old.calendar_id and old.account == account \
                and old.state != LinkState.REMOVING:
            calendar_id, ours, name = old.calendar_id, old.calendar_ours, old.calendar_name
        else:
            name = "Kontakt"
            calendar_id = await asyncio.to_thread(client.create_calendar, name, user.timezone)
            ours = True
        link = await cal.do_save_link(user, mode="oauth", account=account,
                                      token=encrypt(self.secret, refresh),
                                      calendar_id=calendar_id, calendar_ours=ours,
                                      calendar_name=name)
        self._clients[user.id] = (f"oauth:{link.token}:{account}", client)
        self.poke()
        return link

    async def connect_service(self, user: User, email: str) -> CalendarLink:
        """Google Workspace: the company's service account acts as the person (their
        work address); a "Kontakt" calendar is made the same way."""
        company = await CompanyGoogle.first()
        if company is None:
            raise ConnectFailed("no_service_account")
        try:
            key = json.loads(decrypt(self.secret, company.key, purpose="google-key"))
        except SecretUnreadable:
            raise ConnectFailed("service_account_unreadable") from None
        client = await asyncio.to_thread(CalendarClient, self.cfg,
                                         service_credentials(key, email))
        try:
            calendar_id = await asyncio.to_thread(client.create_calendar, "Kontakt",
                                                  user.timezone)
        except AccessRevoked:
            raise ConnectFailed("delegation_refused") from None
        except TokenEndpointError as exc:
            if exc.error in ("unauthorized_client", "access_denied"):  # not delegated
                raise ConnectFailed("delegation_refused") from None
            raise
        link = await cal.do_save_link(user, mode="service", account=email, token=None,
                                      calendar_id=calendar_id, calendar_ours=True,
                                      calendar_name="Kontakt")
        self.poke()
        return link

    async def calendars(self, user: User) -> list[dict[str, Any]]:
        link = await cal.link_of(user)
        if link is None or link.state != LinkState.ACTIVE:
            return []
        # a client of its own: the worker's connection may be in use in another thread
        cached = self._clients.get(link.user_id)
        if cached is None:
            await self._client(link)
            cached = self._clients[link.user_id]
        client = await asyncio.to_thread(CalendarClient, self.cfg, cached[1].credentials)
        return [c for c in await asyncio.to_thread(client.calendars)
                if c.get("role") in ("owner", "writer")]

    async def choose_calendar(self, user: User, calendar_id: str) -> CalendarLink:
        """Another calendar of the person's: our events move there."""
        link = await cal.link_of(user)
        if link is None or link.state != LinkState.ACTIVE:
            raise ConnectFailed("not_connected")
        found = {c["id"]: c for c in await self.calendars(user)}
        if calendar_id not in found:
            raise ConnectFailed("unknown_calendar")
        # the old channel watches the old calendar
        await CalendarLink.filter(id=link.id).update(channel_expires_at=None)
        saved = await cal.do_save_link(
            user, mode=link.mode, account=link.account, token=link.token,
            calendar_id=calendar_id, calendar_ours=False,
            calendar_name=found[calendar_id]["summary"])
        self.poke()
        return saved

    # --- notifications ---------------------------------------------------------------------
    async def notified(self, channel_id: str, token: str, state: str) -> bool:
        """A push notification (X-Goog-Channel-ID / -Token / -Resource-State): a known
        channel with its token asks for a pull. False: not ours (ignored)."""
        if not channel_id or len(channel_id) > 64:
            return False
        link = await CalendarLink.get_or_none(channel_id=channel_id)
        if link is None or not link.channel_token or \
                not hmac.compare_digest(link.channel_token.encode(), (token or "").encode()):
            return False
        if state != "sync":
            await CalendarLink.filter(id=link.id).update(pull_wanted_at=self._now())
            self.poke()
        return True
