"""Text formatting helpers: Telegram HTML parse_mode -> plain text + entities.

Offsets and lengths of Telegram entities are measured in UTF-16 code units.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

from .errors import BadRequest


def utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


_SIMPLE_TAGS = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "tg-spoiler": "spoiler",
    "code": "code",
    "pre": "pre",
    "blockquote": "blockquote",
}


class _TelegramHTMLParser(HTMLParser):
    def __init__(self, raw: str) -> None:
        super().__init__(convert_charrefs=True)
        self.raw = raw
        self.parts: list[str] = []
        self.pos = 0  # utf-16 position in output
        self.stack: list[tuple[str, dict | None, int]] = []  # (tag, entity, start)
        self.entities: list[dict] = []

    def _byte_offset(self) -> int:
        line, col = self.getpos()
        lines = self.raw.split("\n")
        prefix = "\n".join(lines[: line - 1])
        if line > 1:
            prefix += "\n"
        prefix += lines[line - 1][:col]
        return len(prefix.encode("utf-8"))

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: (v or "") for k, v in attrs}
        entity: dict | None = None
        if tag in _SIMPLE_TAGS:
            etype = _SIMPLE_TAGS[tag]
            if tag == "code" and self.stack and self.stack[-1][0] == "pre":
                cls = a.get("class", "")
                pre_entity = self.stack[-1][1]
                if cls.startswith("language-") and pre_entity is not None:
                    pre_entity["language"] = cls[len("language-") :]
                entity = None  # merged into the <pre> entity
                self.stack.append((tag, None, self.pos))
                return
            if tag == "blockquote" and "expandable" in a:
                etype = "expandable_blockquote"
            entity = {"type": etype}
        elif tag == "span":
            if a.get("class") != "tg-spoiler":
                raise BadRequest(
                    "Bad Request: can't parse entities: Tag \"span\" must have class "
                    f"\"tg-spoiler\" at byte offset {self._byte_offset()}"
                )
            entity = {"type": "spoiler"}
        elif tag == "a":
            href = a.get("href", "")
            m = re.match(r"^tg://user\?id=(\d+)$", href)
            if m:
                entity = {"type": "text_mention", "user": {"id": int(m.group(1))}}
            else:
                entity = {"type": "text_link", "url": href}
        elif tag == "tg-emoji":
            entity = {"type": "custom_emoji", "custom_emoji_id": a.get("emoji-id", "")}
        elif tag == "br":
            raise BadRequest(
                "Bad Request: can't parse entities: Unsupported start tag \"br\" "
                f"at byte offset {self._byte_offset()}"
            )
        else:
            raise BadRequest(
                f"Bad Request: can't parse entities: Unsupported start tag \"{tag}\" "
                f"at byte offset {self._byte_offset()}"
            )
        self.stack.append((tag, entity, self.pos))

    def handle_endtag(self, tag: str) -> None:
        if not self.stack or self.stack[-1][0] != tag:
            raise BadRequest(
                f"Bad Request: can't parse entities: Unexpected end tag at byte offset "
                f"{self._byte_offset()}"
            )
        _tag, entity, start = self.stack.pop()
        if entity is not None and self.pos > start:
            entity["offset"] = start
            entity["length"] = self.pos - start
            self.entities.append(entity)

    def handle_data(self, data: str) -> None:
        self.parts.append(data)
        self.pos += utf16_len(data)


def parse_html(raw: str) -> tuple[str, list[dict]]:
    """Return (plain text, entities) for a Telegram-HTML string."""
    p = _TelegramHTMLParser(raw)
    p.feed(raw)
    p.close()
    if p.stack:
        raise BadRequest(
            "Bad Request: can't parse entities: Can't find end tag corresponding to start tag "
            f"\"{p.stack[-1][0]}\""
        )
    ents = sorted(p.entities, key=lambda e: (e["offset"], -e["length"]))
    return "".join(p.parts), [_order(e) for e in ents]


def _order(e: dict) -> dict:
    out = {"offset": e["offset"], "length": e["length"], "type": e["type"]}
    for k, v in e.items():
        if k not in out:
            out[k] = v
    return out


_MDV2_RESERVED = set("_*[]()~`>#+-=|{}.!")
_MDV2_ESCAPE = re.compile(r"\\([_*\[\]()~`>#+\-=|{}.!\\])")


def parse_markdown(raw: str, v2: bool) -> tuple[str, list[dict]]:
    """Very small Markdown support: bold/italic/code/links; enough for a fake."""
    text_parts: list[str] = []
    entities: list[dict] = []
    pos = 0
    i = 0
    stack: dict[str, int] = {}
    marks = {"*": "bold", "_": "italic", "`": "code"}
    if v2:
        marks.update({"~": "strikethrough", "||": "spoiler", "__": "underline"})
    while i < len(raw):
        ch = raw[i]
        if raw.startswith("```", i) and "`" not in stack:
            end = raw.find("```", i + 3)
            if end < 0:
                raise BadRequest(
                    "Bad Request: can't parse entities: Can't find end of Pre entity at byte "
                    f"offset {len(raw[:i].encode())}"
                )
            body = raw[i + 3 : end]
            language = None
            first, sep, rest = body.partition("\n")
            if sep and first and not any(c.isspace() for c in first):
                language, body = first, rest
            if v2:
                body = re.sub(r"\\([`\\])", r"\1", body)
            ent: dict = {"offset": pos, "length": utf16_len(body), "type": "pre"}
            if language:
                ent["language"] = language
            if body:
                entities.append(ent)
            text_parts.append(body)
            pos += utf16_len(body)
            i = end + 3
            continue
        if v2 and ch == "\\" and i + 1 < len(raw):
            text_parts.append(raw[i + 1])
            pos += utf16_len(raw[i + 1])
            i += 2
            continue
        if "`" in stack and ch != "`":  # inside inline code everything is literal
            text_parts.append(ch)
            pos += utf16_len(ch)
            i += 1
            continue
        two = raw[i : i + 2]
        mark = two if two in marks and v2 else ch if ch in marks else None
        if mark is not None:
            if mark in stack:
                start = stack.pop(mark)
                if pos > start:
                    entities.append({"offset": start, "length": pos - start, "type": marks[mark]})
            else:
                stack[mark] = pos
            i += len(mark)
            continue
        if ch == "[":
            m = re.match(r"\[([^\]]*)\]\(([^)]*)\)", raw[i:])
            if m:
                label = _MDV2_ESCAPE.sub(r"\1", m.group(1)) if v2 else m.group(1)
                text_parts.append(label)
                entities.append(
                    {"offset": pos, "length": utf16_len(label), "type": "text_link",
                     "url": m.group(2)}
                )
                pos += utf16_len(label)
                i += m.end()
                continue
        if v2 and ch in _MDV2_RESERVED and "`" not in stack:
            raise BadRequest(
                f"Bad Request: can't parse entities: Character '{ch}' is reserved and must be "
                "escaped with the preceding '\\'"
            )
        text_parts.append(ch)
        pos += utf16_len(ch)
        i += 1
    if stack:
        raise BadRequest(
            "Bad Request: can't parse entities: Can't find end of the entity starting at "
            f"byte offset {min(stack.values())}"
        )
    entities.sort(key=lambda e: (e["offset"], -e["length"]))
    return "".join(text_parts), entities


_AUTO_PATTERNS = [
    ("bot_command", re.compile(r"(?<![\w/])/[A-Za-z0-9_]{1,64}(?:@[A-Za-z0-9_]{3,32})?")),
    ("url", re.compile(r"(?<![\w@])(?:https?://|www\.|t\.me/)[^\s<>\"]+[^\s<>\".,;:!?)\]]")),
    ("email", re.compile(r"(?<![\w.])[\w.+-]+@[\w-]+\.[\w.-]*\w")),
    ("mention", re.compile(r"(?<![\w@])@[A-Za-z][A-Za-z0-9_]{3,31}")),
    ("hashtag", re.compile(r"(?<![\w#])#\w*[^\W\d]\w*")),
]


def auto_entities(text: str, existing: list[dict] | None = None) -> list[dict]:
    """Detect bot commands, urls, e-mails, mentions and hashtags like Telegram does."""
    found: list[dict] = []
    taken: list[tuple[int, int]] = []
    for e in existing or []:
        if e["type"] in ("code", "pre", "text_link", "url", "bot_command", "email", "mention"):
            taken.append((e["offset"], e["offset"] + e["length"]))
    for etype, rx in _AUTO_PATTERNS:
        for m in rx.finditer(text):
            start = utf16_len(text[: m.start()])
            length = utf16_len(m.group(0))
            end = start + length
            if any(s < end and start < t for s, t in taken):
                continue
            taken.append((start, end))
            found.append({"offset": start, "length": length, "type": etype})
    merged = list(existing or []) + found
    merged.sort(key=lambda e: (e["offset"], -e["length"]))
    return merged


def format_text(
    text: str, parse_mode: str | None, entities: list[dict] | None
) -> tuple[str, list[dict], str | None]:
    """Return (plain text, entities, raw html or None)."""
    if entities:
        return text, auto_entities(text, entities), None
    mode = (parse_mode or "").lower()
    if mode == "html":
        plain, ents = parse_html(text)
        return plain, auto_entities(plain, ents), text
    if mode in ("markdown", "markdownv2"):
        plain, ents = parse_markdown(text, mode == "markdownv2")
        return plain, auto_entities(plain, ents), None
    if mode:
        raise BadRequest(f"Bad Request: unsupported parse_mode \"{parse_mode}\"")
    return text, auto_entities(text), None
