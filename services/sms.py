"""SMS texts (A-18): how many segments a text costs. GSM-7 (Latin) fits 160
characters in one SMS and 153 per part of a long one; anything outside GSM-7 —
Cyrillic included — is sent as UCS-2: 70, and 67 per part. Characters of the GSM-7
extension table (€ [ ] { } ~ ^ | \\) count twice."""

from __future__ import annotations

from dataclasses import dataclass

GSM7 = set("@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNO"
           "PQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà")
GSM7_EXT = set("^{}\\[~]|€\f")
MAX_SEGMENTS = 8  # SMS.ru refuses longer texts; other gateways allow at least as many


@dataclass
class Segments:
    encoding: str  # "GSM-7" | "UCS-2"
    characters: int
    parts: int


def segments(text: str) -> Segments:
    if all(ch in GSM7 or ch in GSM7_EXT for ch in text):
        units = sum(2 if ch in GSM7_EXT else 1 for ch in text)
        single, multi, encoding = 160, 153, "GSM-7"
    else:
        # UCS-2 counts UTF-16 code units: an emoji takes two
        units = len(text.encode("utf-16-le")) // 2
        single, multi, encoding = 70, 67, "UCS-2"
    parts = 1 if units <= single else -(-units // multi)
    return Segments(encoding, units, parts)
