"""Google's batch endpoint in the fake Google (``POST /batch/calendar/v3``), written from
the Calendar API guide "Send batch requests" (developers.google.com/calendar/api/guides/
batch), not from what any client sends:

* the request is ``multipart/mixed``; each part has ``Content-Type: application/http`` and
  may have a ``Content-ID``; a part's body is a whole HTTP request (method, the *path* of
  the URL, headers, body). A full URL is not allowed in a part (that part: 400);
* the outer request's headers apply to every part except the ``Content-`` ones; a part's
  own header wins (so a part's ``Authorization`` or ``If-Match`` is its own);
* the parts are separate requests: each is authenticated, counted against the usage
  limits ("a set of n requests batched together counts toward your usage limit as n
  requests") and may fail on its own. The answer is ``200`` and ``multipart/mixed``, one
  part per request in the same order, each ``Content-Type: application/http`` with the
  ``Content-ID`` of its request prefixed ``response-``, its body a whole HTTP response:
  a 404, 409, 412 or 403 ``rateLimitExceeded`` of one part is in its part only;
* at most :data:`BATCH_LIMIT` calls in one batch. The guide now says 1,000; the Calendar
  guide said 50 (quoted in googleapis/google-api-dotnet-client#1621), which is what the
  sync keeps to and what the fake enforces (``batch_limit``). Past it, every part is
  refused and none is carried out, with the answer Google gives for too many inner
  requests (googleapis/google-api-python-client#2201): 403 ``forbidden`` "Exceeds allowed
  inner batch requests soft limit. Please retry."

A request that is not ``multipart/mixed`` with a boundary is 400 as a whole. Every part
is carried out by the fake's own API handlers (the same middleware: recorded in
``calls``, ``fail_next`` faults, authentication), one after the other; ``batch_calls``
holds the number of parts of every batch received.
"""

from __future__ import annotations

import email.parser
import email.policy
import secrets
from typing import Any
from urllib.parse import urlsplit

from aiohttp import web
from multidict import CIMultiDict

from tests.fakes.google_common import ApiError, _bad

BATCH_PATH = "/batch/calendar/v3"
BATCH_LIMIT = 50
_TOO_MANY = "Exceeds allowed inner batch requests soft limit. Please retry."


class BatchMixin:
    """A part of :class:`tests.fakes.google_calendar.FakeGoogle`."""

    batch_limit: int
    batch_calls: list[int]

    async def _batch(self, request: web.Request) -> web.StreamResponse:
        try:
            parts = await self._batch_parts(request)
        except ApiError as exc:
            return exc.response()
        self.batch_calls.append(len(parts))
        too_many = len(parts) > self.batch_limit
        answers: list[tuple[str | None, web.Response]] = []
        base = request.clone()  # before the body is read: each part is a clone of it
        for content_id, raw in parts:
            if too_many:
                answer = ApiError(403, "forbidden", _TOO_MANY).response()
            else:
                answer = await self._batch_part(request, base, raw)
            answers.append((content_id, answer))
        boundary = f"batch_{secrets.token_urlsafe(16)}"
        return web.Response(body=_multipart(boundary, answers), headers={
            "Content-Type": f"multipart/mixed; boundary={boundary}"})

    async def _batch_parts(self, request: web.Request) -> list[tuple[str | None, str]]:
        ctype = request.headers.get("Content-Type", "")
        if not ctype.lower().startswith("multipart/mixed") or "boundary=" not in ctype:
            raise _bad("Invalid multipart request: the content type must be "
                       "multipart/mixed with a boundary.")
        raw = await request.content.read()
        message = email.parser.BytesParser(policy=email.policy.compat32).parsebytes(
            f"Content-Type: {ctype}\r\n\r\n".encode() + raw)
        if not message.is_multipart():
            raise _bad("Invalid multipart request with 0 mime parts.")
        parts = []
        for part in message.get_payload():
            if part.get_content_type() != "application/http":
                raise _bad("Invalid multipart request: each part must be application/http.")
            payload = part.get_payload(decode=True) or b""
            parts.append((part.get("Content-ID"), payload.decode("utf-8")))
        if not parts:
            raise _bad("Invalid multipart request with 0 mime parts.")
        return parts

    async def _batch_part(self, outer: web.Request, base: web.Request,
                          raw: str) -> web.Response:
        """One part: an HTTP request carried out as a request of its own."""
        text = raw.replace("\r\n", "\n")
        head, sep, body = text.partition("\n\n")
        if not sep:  # no blank line: a request without a body
            head, body = text.rstrip("\n"), ""
        lines = head.split("\n")
        words = lines[0].split()
        if len(words) < 2:
            return _bad("Invalid HTTP request in a batch part.").response()
        method, target = words[0].upper(), words[1]
        if urlsplit(target).scheme or not target.startswith("/"):
            return _bad("Batch parts must contain only the path of the URL.").response()
        headers = CIMultiDict((k, v) for k, v in outer.headers.items()
                              if not k.lower().startswith("content-")
                              and k.lower() not in ("host", "transfer-encoding"))
        own: CIMultiDict[str] = CIMultiDict()
        for line in lines[1:]:
            name, sep, value = line.partition(":")
            if sep:
                own[name.strip()] = value.strip()
        for name in set(own.keys()):
            headers.popall(name, None)
        headers.extend(own)
        data = body.rstrip("\n").encode("utf-8") if body.strip() else b""
        headers["Content-Length"] = str(len(data))
        inner = base.clone(method=method, rel_url=target, headers=headers)
        inner._read_bytes = data  # noqa: SLF001 - the part's body, read already
        match = await outer.app.router.resolve(inner)
        if match.http_exception is not None:
            status = match.http_exception.status
            return (ApiError(405, "httpMethodNotAllowed", "Method Not Allowed") if status == 405
                    else ApiError(404, "notFound", "Not Found")).response()
        inner._match_info = match  # noqa: SLF001
        answer: Any = await self._api_middleware(inner, match.handler)  # type: ignore[attr-defined]
        return answer


def _multipart(boundary: str, answers: list[tuple[str | None, web.Response]]) -> bytes:
    out: list[bytes] = []
    for content_id, answer in answers:
        body = answer.body if isinstance(answer.body, bytes) else b""
        head = ["Content-Type: application/http"]
        if content_id:
            inner = content_id.strip()
            inner = inner[1:-1] if inner.startswith("<") and inner.endswith(">") else inner
            head.append(f"Content-ID: <response-{inner}>")
        lines = [f"HTTP/1.1 {answer.status} {answer.reason}"]
        lines += [f"{k}: {v}" for k, v in answer.headers.items()
                  if k.lower() not in ("content-length", "date", "server")]
        if body and "Content-Type" not in answer.headers:
            lines.append("Content-Type: application/json; charset=UTF-8")
        lines.append(f"Content-Length: {len(body)}")
        out.append(f"--{boundary}\r\n".encode() + "\r\n".join(head).encode()
                   + b"\r\n\r\n" + "\r\n".join(lines).encode() + b"\r\n\r\n" + body + b"\r\n")
    out.append(f"--{boundary}--\r\n".encode())
    return b"".join(out)
