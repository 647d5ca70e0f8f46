"""Sums of money as people type them (U-2): in a form ("150 000", "1 250,50") and in a
chat, with a multiplier and a currency ("150к", "1,5 млн ₽", "$5000")."""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from typing import Any

from services.errors import N_, ValidationFailed

MAX_AMOUNT = Decimal("99999999999999.99")


# ---- a sum typed in a form ------------------------------------------------------------

def parse_amount(raw: Any) -> Decimal | None:
    """A sum as people type it: "150 000", "1 250,50", "2500.5" → Decimal."""
    if raw is None or raw == "":
        return None
    if isinstance(raw, bool):
        raise ValidationFailed("amount", N_("must be a number"))
    text = "".join(str(raw).split()).replace("\u00a0", "").replace(",", ".")
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise ValidationFailed("amount", N_("«{value}» is not a sum of money"),
                               value=str(raw)[:40]) from None
    if not value.is_finite() or value < 0 or value > MAX_AMOUNT:
        raise ValidationFailed("amount", N_("a sum from 0 to {max}"), max="99 999 999 999 999")
    return value.quantize(Decimal("0.01"))


# ---- a sum typed in a chat ------------------------------------------------------------

CURRENCY_WORDS = {
    "₽": "RUB", "р": "RUB", "руб": "RUB", "рублей": "RUB", "рубля": "RUB", "rub": "RUB",
    "₴": "UAH", "грн": "UAH", "гривень": "UAH", "гривен": "UAH", "uah": "UAH",
    "$": "USD", "usd": "USD", "долл": "USD", "€": "EUR", "eur": "EUR", "евро": "EUR",
    "євро": "EUR", "₸": "KZT", "тг": "KZT", "тенге": "KZT", "kzt": "KZT", "byn": "BYN",
    "br": "BYN",
}
_MULTIPLIERS = {"к": 1000, "k": 1000, "тыс": 1000, "тис": 1000, "млн": 1000000,
                "m": 1000000}
_MONEY = re.compile(r"(?P<pre>[$€₽₴₸])?\s*(?P<num>\d[\d\s.,]*?)\s*"
                    r"(?P<mult>тыс|тис|млн|к|k|m)?\.?\s*(?P<cur>[^\d\s.,][^\d]*?)?\.?")


def parse_money(raw: Any) -> tuple[Decimal | None, str | None]:
    """A sum as a salesperson types it in a chat: "150 000", "1 250,50 грн", "$5000",
    "150к", "1,5 млн ₽" → (amount, currency code or None when none was named)."""
    text = " ".join(str(raw or "").split()).lower()
    if not text:
        return None, None
    found = _MONEY.fullmatch(text)
    currency = None
    if found is not None and (found["cur"] or found["pre"]):
        currency = CURRENCY_WORDS.get((found["cur"] or found["pre"]).strip())
    if found is None or (found["cur"] and currency is None) or (
            found["pre"] and found["cur"]):
        raise ValidationFailed("amount", N_("«{value}» is not a sum of money"),
                               value=str(raw)[:40])
    amount = parse_amount(found["num"])
    if amount is not None and found["mult"]:
        amount = parse_amount(amount * _MULTIPLIERS[found["mult"]])
    return amount, currency
