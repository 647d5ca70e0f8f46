"""Push notifications in the fake Google: events.watch channels, channels.stop, and
the POSTs to the channels' addresses."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from email.utils import format_datetime
from typing import Any

import aiohttp
from aiohttp import web
from yarl import URL

from tests.fakes.google_common import (
    _EMAIL,
    DEFAULT_CHANNEL_TTL,
    ApiError,
    Json,
    _bad,
    _Calendar,
    _Channel,
)


class PushMixin:
    """A part of :class:`tests.fakes.google_calendar.FakeGoogle`."""

    # ------------------------------------------------------------------ push notifications

    async def _events_watch(self, request: web.Request) -> web.StreamResponse:
        """Open a web-hook channel on a calendar's events; a "sync" message follows."""
        cal = self._calendar(request)
        body = await self._body(request)
        channel_id, address = body.get("id"), body.get("address")
        if not channel_id or not isinstance(channel_id, str) or len(channel_id) > 64:
            raise _bad("Channel id is required (at most 64 characters).", "required")
        if body.get("type") not in ("web_hook", "webhook"):
            raise _bad(f"Unsupported channel type: {body.get('type')}")
        # "Push notifications": the receiving URL is an HTTPS server (a valid SSL
        # certificate); the channel token is at most 256 characters
        if not isinstance(address, str) or URL(address).scheme != "https":
            raise _bad(f"WebHook callback must be HTTPS: {address}", "push.webhookUrlNotHttps")
        token = body.get("token")
        if token is not None and (not isinstance(token, str) or len(token) > 256):
            raise _bad("Channel token is longer than 256 characters.", "invalid")
        if channel_id in self._channels:
            raise _bad(f"Channel id {channel_id} not unique", "channelIdNotUnique")
        params = body.get("params") or {}
        now_ms = int(self._clock() * 1000)
        try:
            ttl = int(params.get("ttl", DEFAULT_CHANNEL_TTL))
            expiration_ms = now_ms + ttl * 1000
            if body.get("expiration"):
                expiration_ms = min(expiration_ms, int(body["expiration"]))
        except (TypeError, ValueError):
            raise _bad("Invalid ttl or expiration.")
        resource_uri = f"{self.calendar_api_endpoint}calendars/{cal.id}/events?alt=json"
        channel = _Channel(channel_id, cal.owner, cal.id, cal.resource_id, resource_uri,
                           address, body.get("token"), expiration_ms)
        reply: Json = {"kind": "api#channel", "id": channel_id, "resourceId": cal.resource_id,
                       "resourceUri": resource_uri, "expiration": str(expiration_ms)}
        if channel.token is not None:
            reply["token"] = channel.token
        if self.sync_before_reply:  # the "sync" message is out before the answer
            self._channels[channel_id] = channel
            channel.message_number += 1
            await self._deliver(channel, "sync", channel.message_number)
            return web.json_response(reply)
        async with channel.lock:  # deliveries wait until this response is out
            self._channels[channel_id] = channel
            self._schedule(channel, "sync")
            response = web.json_response(reply)
            await response.prepare(request)
            await response.write_eof()
        return response

    async def _channels_stop(self, request: web.Request) -> web.Response:
        body = await self._body(request)
        channel = self._channels.get(str(body.get("id")))
        if (channel is None or channel.resource_id != body.get("resourceId")
                or channel.owner != request[_EMAIL]):
            raise ApiError(404, "notFound",
                           f"Channel '{body.get('id')}' not found for project 'fake'")
        channel.stopped = True
        del self._channels[channel.id]
        return web.Response(status=204)

    def _live(self, channel: _Channel) -> bool:
        return not channel.stopped and channel.expiration_ms > self._clock() * 1000

    def _notify(self, cal: _Calendar) -> None:
        """An "exists" message to every live channel watching this calendar."""
        for channel in list(self._channels.values()):
            if channel.calendar_id == cal.id and self._live(channel):
                self._schedule(channel, "exists")

    def _schedule(self, channel: _Channel, state: str) -> None:
        """Deliver in the background, in order per channel (its lock is FIFO)."""
        channel.message_number += 1
        number, loop = channel.message_number, self._loop
        if loop is None or loop.is_closed():
            return

        def spawn() -> None:
            task = loop.create_task(self._deliver(channel, state, number))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            spawn()
        else:
            loop.call_soon_threadsafe(spawn)

    async def _deliver(self, channel: _Channel, state: str, number: int) -> None:
        async with channel.lock:
            if not self._live(channel):
                return
            expiration = datetime.fromtimestamp(channel.expiration_ms / 1000, UTC)
            headers = {
                "X-Goog-Channel-ID": channel.id,
                "X-Goog-Channel-Expiration": format_datetime(expiration, usegmt=True),
                "X-Goog-Resource-ID": channel.resource_id,
                "X-Goog-Resource-URI": channel.resource_uri,
                "X-Goog-Resource-State": state,
                "X-Goog-Message-Number": str(number),
            }
            if channel.token is not None:
                headers["X-Goog-Channel-Token"] = channel.token
            record: dict[str, Any] = {"channel_id": channel.id, "state": state,
                                      "message_number": number, "address": channel.address,
                                      "status": None, "error": None}
            self.notifications.append(record)
            if self._session is None or self._session.closed:
                self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=5))
            try:
                async with self._session.post(self._delivery_address(channel.address),
                                              data=b"",
                                              headers=headers) as response:
                    record["status"] = response.status
            except (aiohttp.ClientError, TimeoutError, OSError) as exc:
                record["error"] = f"{type(exc).__name__}: {exc}"

