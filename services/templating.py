"""Message templates rendered (A-18, K-16): Jinja2 in a sandbox, in worker processes
(services.bounded), for services.messaging, the mailings and the due-date reminders.

Rules:

* No Python internals are reachable (Jinja's sandbox), and no `'a' * 10**9`: multiplying
  and raising are checked, padding filters refuse widths past a body's size.
* Strict: a missing variable is an error naming it, a syntax error names its line, in
  our words (Jinja's are English).
* Each render is bounded: ``RENDER_TIMEOUT_S`` of time, ``MAX_BODY`` characters of
  output (counted as it is made), the workers' memory limit.
* Many recipients of one template (:func:`render_many`) go to the workers a chunk at a
  time, each source compiled once per chunk; a chunk past a limit is rendered again one
  recipient at a time, so each recipient meets exactly the limits of one render.
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass
from typing import Any

from jinja2 import StrictUndefined, TemplateError, TemplateSyntaxError, UndefinedError
from jinja2.sandbox import SandboxedEnvironment, SecurityError

from services.errors import N_, ValidationFailed

MAX_BODY = 100_000
MAX_OPERAND = 10_000  # a string or number a template may multiply or raise


class _Sandbox(SandboxedEnvironment):
    """No Python internals (the sandbox), and no `'a' * 10**9`: multiplying and raising
    are checked so a template cannot eat the server's memory or time."""

    intercepted_binops = frozenset(["*", "**"])

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        # padding filters make a string as wide as asked: wider than a body may be is
        # refused before the string is made (not after it has taken the memory)
        for name in ("center", "indent"):
            self.filters[name] = _bounded_width(self.filters[name])

    def call_binop(self, context, operator, left, right):
        for value in (left, right):
            size = len(value) if isinstance(value, str | list | tuple) else value
            if isinstance(size, int | float) and abs(size) > MAX_OPERAND:
                raise SecurityError(f"{operator} with a value over {MAX_OPERAND}")
        return super().call_binop(context, operator, left, right)


def _bounded_width(original):
    def bounded(value, width=80, *args, **kwargs):
        if isinstance(width, int) and width > MAX_BODY:
            raise _TooLong
        return original(value, width, *args, **kwargs)
    return bounded


_ENV = _Sandbox(undefined=StrictUndefined, autoescape=False, keep_trailing_newline=True)
_HTML_ENV = _Sandbox(undefined=StrictUndefined, autoescape=True)


def _security_refusal(field: str, said: str) -> tuple:
    """The sandbox's refusal in our words (Jinja's are English)."""
    from jinja2.sandbox import MAX_RANGE

    if said.startswith("Range too big"):
        return ("error", field, N_("a range longer than {max} items is not allowed"),
                {"max": MAX_RANGE})
    if "with a value over" in said:
        return ("error", field, N_("{operator} with a value over {max} is not allowed"),
                {"operator": said.split(" ", 1)[0], "max": MAX_OPERAND})
    return ("error", field, N_("the template does something not allowed"), {})


@dataclass
class Rendered:
    subject: str
    body: str
    html: str | None


RENDER_TIMEOUT_S = 2.0  # a real template renders in milliseconds


class _TooLong(Exception):
    pass


def _render_in_worker(jobs: list[tuple[str, str, bool]], context: dict[str, Any]) -> list:
    """In a worker process (services.bounded): each (field, source, html) rendered, as
    ("ok", text) or ("error", field, template, params). Output is counted as it is made, so a
    template that would write megabytes stops at MAX_BODY."""
    return _render_many_in_worker(jobs, [context])[0]


def _render_many_in_worker(jobs: list[tuple[str, str, bool]],
                           contexts: list[dict[str, Any]]) -> list[list]:
    """:func:`_render_in_worker` for many contexts (a mailing's recipients): each source
    compiled once, the results in the order of ``contexts``."""
    compiled: dict[tuple[str, bool], Any] = {}
    out = []
    for context in contexts:
        results: list = []
        for field, source, is_html in jobs:
            try:
                key = (source, is_html)
                if key not in compiled:
                    compiled[key] = (_HTML_ENV if is_html else _ENV).from_string(source)
                results.append(("ok", _generate(compiled[key], context)))
            except Exception as exc:  # noqa: BLE001 - each named in _refusal or re-raised
                results.append(_refusal(field, exc))
        out.append(results)
    return out


def _generate(template, context: dict[str, Any]) -> str:
    parts, size = [], 0
    for chunk in template.generate(**context):
        size += len(chunk)
        if size > MAX_BODY:
            raise _TooLong
        parts.append(chunk)
    return "".join(parts)


def _refusal(field: str, exc: Exception) -> tuple:
    """A template's failure as ("error", field, template, params), in our words."""
    if isinstance(exc, _TooLong):
        return ("error", field, N_("longer than {max_body} characters when rendered"),
                {"max_body": MAX_BODY})
    if isinstance(exc, TemplateSyntaxError):  # Jinja's own words are English: ours instead
        return ("error", field, N_("line {line}: the template cannot be read (check "
                                   "the {{{{ }}}} and {{% %}} marks)"),
                {"line": exc.lineno})
    if isinstance(exc, UndefinedError):
        # "'x' is undefined", or "'dict object' has no attribute 'x'" for client.x
        found = re.search(r"'([^']+)' is undefined|has no attribute '([^']+)'",
                          exc.message or "")
        return ("error", field, N_("unknown variable: {name}"),
                {"name": (found.group(1) or found.group(2)) if found else exc.message})
    if isinstance(exc, SecurityError):
        return _security_refusal(field, str(exc))
    if isinstance(exc, MemoryError):
        from services.bounded import MEMORY_LIMIT

        return ("error", field, N_("needs more than {mb} MB to render"),
                {"mb": MEMORY_LIMIT // 2**20})
    if isinstance(exc, TemplateError | TypeError | ValueError | ArithmeticError | IndexError
                  | KeyError | RecursionError):
        return _security_refusal(field, str(exc)) if str(exc).startswith(
            "Range too big") else ("error", field, N_("cannot render: {error}"),
                                   {"error": type(exc).__name__})
    raise exc


def _texts(results: list) -> list[str]:
    texts = []
    for result in results:
        if result[0] == "error":
            raise ValidationFailed(result[1], result[2], **result[3])
        texts.append(result[1])
    return texts


async def render_fields(jobs: list[tuple[str, str, bool]], context: dict[str, Any]
                        ) -> list[str]:
    """Render (field, source, html) templates off the event loop, within the limits of
    time (RENDER_TIMEOUT_S), output (MAX_BODY) and memory (services.bounded); the first
    refusal is raised as ValidationFailed naming the field and the limit."""
    from services import bounded

    if not any(source for _field, source, _html in jobs):
        return ["" for _ in jobs]
    field = next((f for f, source, _h in jobs if source), "body")
    try:
        results = await bounded.run(_render_in_worker, jobs, context,
                                    timeout=RENDER_TIMEOUT_S)
    except bounded.LimitExceeded as exc:
        if exc.limit == "time":
            raise ValidationFailed(field, N_("takes longer than {render_timeout_s:g} s to render"),
                                   render_timeout_s=RENDER_TIMEOUT_S) from None
        raise ValidationFailed(field, N_("needs more than {value} MB to render"),
                               value=exc.value) from None
    return _texts(results)


RENDER_CHUNK = 100  # recipients per worker call of render_many


async def render_many(jobs: list[tuple[str, str, bool]], contexts: list[dict[str, Any]]
                      ) -> list[list[str] | ValidationFailed]:
    """:func:`render_fields` for many contexts (a mailing's recipients), each answer the
    texts or the ValidationFailed that one recipient's render would raise. Contexts go to
    the workers ``RENDER_CHUNK`` at a time, each chunk within the time one render is
    allowed; a chunk past a limit is rendered again one recipient at a time, so each
    recipient meets exactly the limits of :func:`render_fields` (issue 19: a call to a
    worker per recipient made the mailing's pump its slowest part)."""
    from services import bounded

    if not any(source for _field, source, _html in jobs):
        return [["" for _ in jobs] for _ in contexts]

    async def chunk(part: list[dict[str, Any]]) -> list:
        try:
            results = await bounded.run(_render_many_in_worker, jobs, part,
                                        timeout=RENDER_TIMEOUT_S)
        except bounded.LimitExceeded:
            return [await _one(context) for context in part]
        out: list = []
        for result in results:
            try:
                out.append(_texts(result))
            except ValidationFailed as exc:
                out.append(exc)
        return out

    async def _one(context: dict[str, Any]) -> list[str] | ValidationFailed:
        try:
            return await render_fields(jobs, context)
        except ValidationFailed as exc:
            return exc

    parts = await asyncio.gather(*(chunk(contexts[i:i + RENDER_CHUNK])
                                   for i in range(0, len(contexts), RENDER_CHUNK)))
    return [answer for part in parts for answer in part]


async def render(subject: str, body: str, html: str | None, context: dict[str, Any]
                 ) -> Rendered:
    subject_text, body_text, html_text = await render_fields(
        [("subject", subject or "", False), ("body", body, False),
         ("html", html or "", True)], context)
    # a subject is one line: a line break from a name or a template would end the headers
    return Rendered(" ".join(subject_text.split()), body_text, html_text if html else None)
