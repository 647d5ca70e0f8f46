"""Reading a JSON body: bad input is a 422 naming the problem, never a 500 (issue 18).

Python's parser raises RecursionError on deeply nested arrays, and the validators
after it recurse too, so nesting is checked right after parsing (iteratively):
nothing Kontakt accepts is nested deeper than ``MAX_DEPTH``."""

from __future__ import annotations

from typing import Any

from aiohttp import web

MAX_DEPTH = 32


def N_(text: str) -> str:  # noqa: N802 - marks a string for extraction only
    return text


class BadJSON(ValueError):
    """The body cannot be taken; the message says why, for the person (``template``
    translated and filled with ``params`` by kontakt.errors)."""

    def __init__(self, template: str, **params: Any) -> None:
        super().__init__(template.format(**params))
        self.template, self.params = template, params


def _deeper_than(value: Any, limit: int) -> bool:
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict | list):
            if depth > limit:
                return True
            children = item.values() if isinstance(item, dict) else item
            stack.extend((child, depth + 1) for child in children
                         if isinstance(child, dict | list))
    return False


async def read_json(request: web.Request) -> Any:
    try:
        data = await request.json()
    except RecursionError:
        raise BadJSON(N_("body is nested deeper than {max_depth} levels"),
                      max_depth=MAX_DEPTH) from None
    except (ValueError, UnicodeDecodeError):
        raise BadJSON(N_("body is not valid JSON")) from None
    if _deeper_than(data, MAX_DEPTH):
        raise BadJSON(N_("body is nested deeper than {max_depth} levels"), max_depth=MAX_DEPTH)
    return data
