"""SMS providers behind one interface (A-18): a generic HTTP provider configured by
URL, method and body template; SMS.ru (its ``/sms/send`` JSON API); a
Twilio-compatible one (``/2010-04-01/Accounts/<sid>/Messages.json``).

``send`` returns the provider's message id, or raises :class:`SmsError` — permanent
(a refused number, bad credentials: the message fails with the provider's reason)
or temporary (5xx, 429, the network: the outbox retries with backoff)."""

from __future__ import annotations

import json
from typing import Protocol

import aiohttp


def _basic(login: str, password: str) -> str:
    encode = getattr(aiohttp, "encode_basic_auth", None)  # aiohttp 3.14+
    return encode(login, password) if encode else aiohttp.BasicAuth(login, password).encode()


class SmsError(Exception):
    def __init__(self, reason: str, *, permanent: bool) -> None:
        super().__init__(reason)
        self.reason = reason
        self.permanent = permanent


class SmsProvider(Protocol):
    async def send(self, to: str, text: str) -> str: ...


def _temporary(status: int) -> bool:
    return status == 429 or status >= 500


async def _request(method: str, url: str, **kw) -> tuple[int, str]:
    try:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as session, \
                session.request(method, url, **kw) as resp:
            return resp.status, await resp.text()
    except (aiohttp.ClientError, TimeoutError) as exc:
        raise SmsError(f"{type(exc).__name__}: {exc}", permanent=False) from None


class GenericHttp:
    """Any gateway: ``{to}``, ``{text}`` and ``{sender}`` in the body template are
    replaced (JSON-escaped, so a JSON template stays valid); 2xx is success."""

    def __init__(self, url: str, method: str, body: str, sender: str,
                 token: str | None = None) -> None:
        self.url, self.method, self.body, self.sender, self.token = (url, method, body,
                                                                      sender, token)

    async def send(self, to: str, text: str) -> str:
        def esc(value: str) -> str:
            return json.dumps(value, ensure_ascii=False)[1:-1]

        payload = (self.body.replace("{to}", esc(to)).replace("{text}", esc(text))
                   .replace("{sender}", esc(self.sender)))
        headers = {"Content-Type": "application/json; charset=utf-8"}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        if self.method == "GET":
            status, body = await _request("GET", self.url, params={
                "to": to, "text": text, "sender": self.sender}, headers=headers)
        else:
            status, body = await _request("POST", self.url, data=payload.encode(),
                                          headers=headers)
        if 200 <= status < 300:
            try:
                data = json.loads(body)
                return str(data.get("id") or data.get("message_id") or "")[:200]
            except (ValueError, AttributeError):
                return ""
        raise SmsError(f"{status} {body[:300]}", permanent=not _temporary(status))


# SMS.ru codes worth another try: the service is busy (220) or a limit is reached (230-232)
SMSRU_TEMPORARY = {220, 230, 231, 232}


class SmsRu:
    """SMS.ru: GET /sms/send?api_id=…&to=…&msg=…&json=1."""

    def __init__(self, api_id: str, sender: str, base: str = "https://sms.ru") -> None:
        self.api_id, self.sender, self.base = api_id, sender, base.rstrip("/")

    async def send(self, to: str, text: str) -> str:
        phone = to.lstrip("+")
        status, body = await _request("GET", f"{self.base}/sms/send", params={
            "api_id": self.api_id, "to": phone, "msg": text, "json": "1",
            "from": self.sender})
        if _temporary(status):
            raise SmsError(f"{status} {body[:300]}", permanent=False)
        try:
            data = json.loads(body)
        except ValueError:
            raise SmsError(f"{status} {body[:300]}", permanent=False) from None
        if data.get("status") != "OK":
            code = data.get("status_code")
            raise SmsError(f"{code} {data.get('status_text')}",
                           permanent=code not in SMSRU_TEMPORARY)
        item = (data.get("sms") or {}).get(phone) or {}
        if item.get("status") != "OK":
            code = item.get("status_code")
            raise SmsError(f"{code} {item.get('status_text')}",
                           permanent=code not in SMSRU_TEMPORARY)
        return str(item.get("sms_id") or "")


class Twilio:
    """Twilio and compatible APIs: POST /2010-04-01/Accounts/{sid}/Messages.json with
    basic auth and a form (To, From, Body); 201 with the message's sid."""

    def __init__(self, sid: str, token: str, sender: str,
                 base: str = "https://api.twilio.com") -> None:
        self.sid, self.token, self.sender, self.base = sid, token, sender, base.rstrip("/")

    async def send(self, to: str, text: str) -> str:
        status, body = await _request(
            "POST", f"{self.base}/2010-04-01/Accounts/{self.sid}/Messages.json",
            data={"To": to, "From": self.sender, "Body": text},
            headers={"Authorization": _basic(self.sid, self.token)})
        try:
            data = json.loads(body)
        except ValueError:
            data = {}
        if status in (200, 201):
            return str(data.get("sid") or "")
        reason = f"{status} {data.get('code', '')} {data.get('message', body[:300])}".strip()
        raise SmsError(reason, permanent=not _temporary(status))


def provider_from_settings(settings) -> SmsProvider | None:
    token = settings.sms_token.get_secret_value() if settings.sms_token else None
    if settings.sms_provider == "generic" and settings.sms_url:
        return GenericHttp(settings.sms_url, settings.sms_method, settings.sms_body,
                           settings.sms_sender, token)
    if settings.sms_provider == "smsru" and settings.sms_login:
        return SmsRu(settings.sms_login, settings.sms_sender,
                     settings.sms_url or "https://sms.ru")
    if settings.sms_provider == "twilio" and settings.sms_login and token:
        return Twilio(settings.sms_login, token, settings.sms_sender,
                      settings.sms_url or "https://api.twilio.com")
    return None
