"""A small typed route registry: pydantic in, pydantic out, OpenAPI from the same models.

Validation happens here, at the edge: a bad body or query is a 422 with
field-level detail (``{"detail": [{"loc": [...], "msg": ..., "type": ...,
"field": ...}]}``) — ``msg`` and ``field`` (the field's readable name) in the language
of the signed-in person, or of the browser (Accept-Language) before sign-in
(kontakt.errors); domain errors map to 403/404/422; a missing session to 401.
"""

from __future__ import annotations

import inspect
import logging
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from pydantic import BaseModel, ValidationError
from tortoise.exceptions import ValidationError as OrmValidationError

from kontakt.errors import N_, domain_message, error_message, field_label, gettext_for, thing_label
from services.errors import DomainError, NotFound, PermissionDenied, ValidationFailed, fill
from services.storage import StorageUnavailable
from web.jsonbody import BadJSON, read_json
from web.keys import PUBLIC_ORIGIN_KEY
from web.session import current_user, guess_lang, request_lang

log = logging.getLogger("kontakt.api")
PATH_PARAM = re.compile(r"{(\w+)}")
MAX_ID = 2**31 - 1  # ids are 32-bit integers in the database


def cross_site_refusal(request: web.Request) -> str | None:
    """Why a state-changing request looks cross-site (CSRF), or None.

    Browsers send ``Sec-Fetch-Site`` and ``Origin`` with every POST/PATCH/DELETE; a
    request from another site is refused. JSON bodies must say so in Content-Type,
    which a plain cross-site HTML form cannot.
    """
    site = request.headers.get("Sec-Fetch-Site")
    if site is not None and site not in ("same-origin", "none"):
        return CROSS_SITE
    origin = request.headers.get("Origin")
    if origin is not None:
        allowed = {f"{request.scheme}://{request.host}"}
        public = request.app.get(PUBLIC_ORIGIN_KEY)
        if public:
            allowed.add(public)
        if origin not in allowed:
            return CROSS_SITE
    return None


def problem(status: int, detail: Any) -> web.Response:
    return web.json_response({"detail": detail}, status=status)


CROSS_SITE = N_("the request came from another site and was refused; open the app again")
SEND_MULTIPART = N_("send the file as multipart/form-data, field \"file\"")
STORAGE_DOWN = N_("the file storage is unavailable now; try again in a few minutes")
TOO_LARGE = N_("the request is larger than {mb} MB")
UNREADABLE = N_("the request cannot be read; send it again")
NO_FILE = N_("no file")


NOT_A_NUMBER = N_("must be a number")
NOT_STORED = N_("is too long or not a valid value")
SIGN_IN_FIRST = N_("sign in first: open the app from the bot or use /web")
NO_RIGHT = N_("you do not have the right to do that")
NOT_FOUND = N_("{what} not found")
SEND_JSON = N_("send the body as application/json")

# one item of a 422's detail, as the OpenAPI document describes it
ERROR_ITEM = {"type": "object", "required": ["loc", "msg", "type"], "properties": {
    "loc": {"type": "array", "items": {"type": ["string", "integer"]},
            "description": "where: body, query or path, then the field's path"},
    "msg": {"type": "string", "description": "what is wrong, in the person's language"},
    "type": {"type": "string", "description": "the kind of error, a stable code"},
    "field": {"type": "string", "description": "the field's name as the person reads "
                                               "it, in their language"}}}


def said(status: int, template: str, lang: str, **params: Any) -> web.Response:
    """An error answered with one sentence in the person's language."""
    return problem(status, fill(gettext_for(lang)(template), params))


def storage_down(exc: Exception, lang: str) -> web.Response:
    """A 503 when the file store is away: the person is told to try again, the reason
    (a bucket, a credential, a host) goes to the log for the administrator."""
    log.warning("file storage: %s", exc)
    return said(503, STORAGE_DOWN, lang)


def not_found(what: str, lang: str) -> web.Response:
    return said(404, NOT_FOUND, lang, what=thing_label(what, lang))


async def open_upload(request: web.Request, before: Callable[[Any, str], Any] | None = None,
                      *, named: bool = False) -> tuple[Any, str, Any] | web.Response:
    """(user, language, the multipart part named "file") of an upload, or the refusal:
    another site, not signed in, ``before(user, lang)``'s own refusal (a right checked
    before anything is read; it may be a coroutine function, to look the thing up), not
    multipart, no file (``named``: nor a part without a file name, a plain field)."""
    if reason := cross_site_refusal(request):
        return said(403, reason, guess_lang(request))
    user = await current_user(request)
    if user is None:
        return said(401, SIGN_IN_FIRST, guess_lang(request))
    lang = str(user.language)
    if before is not None:
        refused = before(user, lang)
        if inspect.isawaitable(refused):
            refused = await refused
        if refused is not None:
            return refused
    if not request.content_type.startswith("multipart/"):
        return said(415, SEND_MULTIPART, lang)
    reader = await request.multipart()
    part = await reader.next()
    while part is not None and part.name != "file":
        part = await reader.next()
    if part is None or (named and not part.filename):
        return refusal(["body", "file"], NO_FILE, "missing", lang)
    return user, lang, part


async def read_upload(request: web.Request, limit: int,
                      before: Callable[[Any, str], Any] | None = None
                      ) -> tuple[Any, str, str, bytes] | web.Response:
    """(user, language, filename, bytes) of an upload's "file" of up to ``limit`` bytes
    (read in pieces, refused with a 413 as soon as it is larger), or the refusal."""
    got = await open_upload(request, before)
    if isinstance(got, web.Response):
        return got
    user, lang, part = got
    content = await read_part(part, limit, lang)
    if isinstance(content, web.Response):
        return content
    return user, lang, part.filename or "", content


async def read_part(part: Any, limit: int, lang: str) -> bytes | web.Response:
    """A multipart part's bytes, up to ``limit`` (read in pieces, refused with a 413 as
    soon as it is larger)."""
    chunks, size = [], 0
    while chunk := await part.read_chunk(256 * 1024):
        size += len(chunk)
        if size > limit:
            return said(413, TOO_LARGE, lang, mb=max(1, limit // 2**20))
        chunks.append(chunk)
    return b"".join(chunks)


def detail_item(loc: list[Any], msg: str, kind: str, lang: str,
                label: str | None = None) -> dict[str, Any]:
    """A 422 detail item; ``field`` names the field readably (``label`` if the service
    gave one, else from the named parts of ``loc``)."""
    named = [str(p) for p in loc[1:] if not isinstance(p, int)]
    return {"loc": loc, "msg": msg, "type": kind,
            "field": label or (field_label(".".join(named), lang) if named else "")}


def refusal(loc: list[Any], err: Any, kind: str, lang: str) -> web.Response:
    """A 422 with one item: ``err`` a ValidationFailed, a BadJSON or a template."""
    msg = gettext_for(lang)(err) if isinstance(err, str) else error_message(err, lang)
    return problem(422, [detail_item(loc, msg, kind, lang, getattr(err, "label", None))])


def _validation_detail(err: ValidationError, where: str, lang: str) -> list[dict[str, Any]]:
    return [detail_item([where, *e["loc"]], error_message(e, lang), e["type"], lang)
            for e in err.errors(include_url=False, include_input=False)]


@dataclass
class Operation:
    method: str
    path: str
    handler: Callable[..., Awaitable[Any]]
    summary: str
    body: type[BaseModel] | None = None
    query: type[BaseModel] | None = None
    response: type[BaseModel] | None = None
    auth: bool = True
    tags: list[str] = field(default_factory=list)
    status: int = 200


class Api:
    def __init__(self, prefix: str = "/api/v1", title: str = "Kontakt API",
                 version: str = "1") -> None:
        self.prefix = prefix
        self.title = title
        self.version = version
        self.operations: list[Operation] = []

    def route(self, method: str, path: str, *, summary: str,
              body: type[BaseModel] | None = None, query: type[BaseModel] | None = None,
              response: type[BaseModel] | None = None, auth: bool = True,
              tags: list[str] | None = None, status: int = 200):
        def deco(fn):
            if any((op.method, op.path) == (method.upper(), path) for op in self.operations):
                raise ValueError(f"{method} {path} is registered twice")  # one would hide
            self.operations.append(Operation(method.upper(), path, fn, summary, body, query,
                                             response, auth, tags or [], status))
            return fn
        return deco

    def _wrap(self, op: Operation):
        async def handler(request: web.Request) -> web.StreamResponse:
            kwargs: dict[str, Any] = {}
            lang = ""  # known once a refusal needs words: the person's, else a guess

            async def language() -> str:
                nonlocal lang
                lang = lang or await request_lang(request)
                return lang

            if op.method != "GET":
                reason = cross_site_refusal(request)
                if reason:
                    return said(403, reason, await language())
            if op.auth:
                user = await current_user(request)
                if user is None:
                    return said(401, SIGN_IN_FIRST, await language())
                kwargs["user"] = user
            for name in PATH_PARAM.findall(op.path):
                raw = request.match_info[name]
                if name.endswith("id"):
                    if not raw.isdigit():
                        return refusal(["path", name], NOT_A_NUMBER, "int_parsing",
                                       await language())
                    if int(raw) > MAX_ID:
                        return not_found(name.removesuffix("_id"), await language())
                    kwargs[name] = int(raw)
                else:
                    kwargs[name] = raw
            if op.query is not None:
                try:
                    kwargs["query"] = op.query.model_validate(dict(request.query))
                except ValidationError as err:
                    return problem(422, _validation_detail(err, "query", await language()))
            if op.body is not None:
                if request.content_type != "application/json":
                    return said(415, SEND_JSON, await language())
                try:
                    payload = await read_json(request)
                except BadJSON as exc:
                    return refusal(["body"], exc, "json_invalid", await language())
                try:
                    kwargs["body"] = op.body.model_validate(payload)
                except ValidationError as err:
                    return problem(422, _validation_detail(err, "body", await language()))
            try:
                result = await op.handler(request, **kwargs)
            except PermissionDenied:
                return said(403, NO_RIGHT, await language())
            except NotFound as exc:
                return not_found(str(exc), await language())
            except ValidationFailed as exc:
                return refusal(["body", exc.field], exc, "value_error", await language())
            except StorageUnavailable as exc:
                return storage_down(exc, await language())
            except DomainError as exc:  # a state that forbids it: the service's own words
                return problem(exc.status, domain_message(exc, await language()))
            except OrmValidationError as exc:  # a value a service let through to a column
                field_name = str(exc).split(":", 1)[0].strip() or "body"
                log.warning("the ORM refused a value of %s (a check missing in a service)",
                            field_name)
                return refusal(["body", field_name], NOT_STORED, "value_error",
                               await language())
            except web.HTTPException as exc:  # raised by a helper: answered as JSON too
                if exc.status < 400:
                    raise
                return problem(exc.status, exc.text or exc.reason)
            if isinstance(result, web.StreamResponse):
                return result
            if isinstance(result, BaseModel):
                return web.Response(text=result.model_dump_json(), status=op.status,
                                    content_type="application/json")
            return web.json_response(result, status=op.status)
        return handler

    def register(self, app: web.Application) -> None:
        for op in self.operations:
            app.router.add_route(op.method, self.prefix + op.path, self._wrap(op))
        app.router.add_get(self.prefix + "/openapi.json", self._openapi_handler)

    async def _openapi_handler(self, request: web.Request) -> web.Response:
        return web.json_response(self.openapi())

    def openapi(self) -> dict[str, Any]:
        from pydantic.json_schema import models_json_schema

        # every model at once, so two models of one name (an ItemOut of activities and
        # one of dictionaries) get names of their own instead of one overwriting the other
        wanted: list[tuple[type[BaseModel], str]] = []
        for op in self.operations:
            if op.body is not None:
                wanted.append((op.body, "validation"))
            if op.response is not None:
                wanted.append((op.response, "serialization"))
        refs, top = models_json_schema(list(dict.fromkeys(wanted)),
                                       ref_template="#/components/schemas/{model}")
        schemas: dict[str, Any] = dict(top.get("$defs", {}))

        def ref(model: type[BaseModel], mode: str = "validation") -> dict[str, str]:
            return refs[(model, mode)]

        # a sentence (401, 403, 404, 409...) or, for a 422, the fields that are wrong
        error = {"type": "object", "required": ["detail"], "properties": {"detail": {
            "anyOf": [{"type": "string"},
                      {"type": "array", "items": {"$ref": "#/components/schemas/ErrorItem"}}]}}}
        schemas["Error"] = error
        schemas["ErrorItem"] = ERROR_ITEM
        paths: dict[str, Any] = {}
        for op in self.operations:
            item: dict[str, Any] = {"summary": op.summary, "tags": op.tags,
                                    "operationId": op.handler.__name__}
            params = [{"name": n, "in": "path", "required": True,
                       "schema": {"type": "integer" if n.endswith("id") else "string"}}
                      for n in PATH_PARAM.findall(op.path)]
            if op.query is not None:
                qschema = op.query.model_json_schema()
                for name, prop in qschema.get("properties", {}).items():
                    params.append({"name": name, "in": "query",
                                   "required": name in qschema.get("required", []),
                                   "schema": prop})
            if params:
                item["parameters"] = params
            if op.body is not None:
                item["requestBody"] = {"required": True, "content": {
                    "application/json": {"schema": ref(op.body)}}}
            responses: dict[str, Any] = {}
            ok: dict[str, Any] = {"description": "OK"}
            if op.response is not None:
                ok["content"] = {"application/json": {
                    "schema": ref(op.response, "serialization")}}
            responses[str(op.status)] = ok
            err = {"content": {"application/json": {
                "schema": {"$ref": "#/components/schemas/Error"}}}}
            responses["422"] = {"description": "Validation error, field by field", **err}
            # without a session: "sign in first"; the sign-in routes refuse with them too
            responses["401"] = {"description": "Not signed in, or the sign-in refused",
                                **err}
            responses["403"] = {"description": "Not allowed", **err}
            if op.auth:
                item["security"] = [{"session": []}]
            # what _wrap answers besides: NotFound, a DomainError, a body not JSON, and
            # the app's own limits (web/app.py)
            responses["404"] = {"description": "No such thing (or not yours to see)", **err}
            if op.method != "GET":
                responses["409"] = {"description": "Not possible in the present state",
                                    **err}
            if op.body is not None:
                responses["413"] = {"description": "The request is too large", **err}
                responses["415"] = {"description": "The body is not application/json",
                                    **err}
                responses["400"] = {"description": "The request cannot be read", **err}
            item["responses"] = responses
            paths.setdefault(self.prefix + op.path, {})[op.method.lower()] = item
        return {
            "openapi": "3.1.0",
            "info": {"title": self.title, "version": self.version},
            "paths": paths,
            "components": {
                "schemas": schemas,
                "securitySchemes": {"session": {"type": "apiKey", "in": "cookie",
                                                "name": "kontakt_session"}},
            },
        }
