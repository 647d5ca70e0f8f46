"""Currency rates (issue 14: A-15 credit limits in another currency, K-6 settlements).

A :class:`CurrencyRate` says how much of the ``base`` currency one unit of
``currency`` is worth on a day.

* Loaded from a central bank's daily XML, saved from its site (no internet here):
  the Bank of Russia's ``XML_daily`` (``<ValCurs Date="dd.mm.yyyy">`` with
  ``<Valute>``: ``CharCode``, ``Nominal``, ``Value`` with a decimal comma,
  windows-1251; base RUB, source ``cbr``; a rate is ``Value / Nominal``, rounded to six
  places) or the National Bank of Ukraine's ``statdirectory/exchange`` XML
  (``<exchange><currency>``: ``cc``, ``rate`` per one unit, ``exchangedate``; base UAH,
  source ``nbu``). Read with defusedxml (no DTD, no entities), at most
  :data:`MAX_FILE_BYTES`. The same file twice adds nothing; a changed rate is updated.
* Entered or deleted by admins (source ``manual``): a positive number with at most six
  decimals, the currency a three-letter code other than the base.
* :func:`convert` uses, for each currency, the latest rate on or before the day (a
  weekend uses Friday's): directly, through the base, or across two rates of one base
  (USD→EUR through RUB). Without a rate it raises ValidationFailed naming the currency
  and the day.
* Anyone on the staff may read rates and convert; loading, setting and deleting are
  for admins.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from xml.etree.ElementTree import ParseError

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring
from tortoise.transactions import in_transaction

from models import CurrencyRate, User
from services.commerceml_parse import decimal_of
from services.errors import N_, NotFound, ValidationFailed
from services.permissions import require_admin, require_staff

MAX_FILE_BYTES = 2 * 2**20
MAX_RATE = Decimal("1000000000")
SIX = Decimal("0.000001")
CENT = Decimal("0.01")
BASES = ("RUB", "UAH")
_CODE = re.compile(r"[A-Z]{3}")


@dataclass(slots=True)
class LoadReport:
    source: str
    base: str
    dated: date | None = None
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    skipped: list[str] = field(default_factory=list)  # currencies left out (no rate)


@dataclass(slots=True)
class ParsedRates:
    source: str
    base: str
    rates: list[tuple[date, str, Decimal]] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)


def _day(raw: str | None, where: str) -> date:
    try:
        return datetime.strptime((raw or "").strip(), "%d.%m.%Y").date()
    except ValueError:
        raise ValidationFailed("file", N_("{where}: «{value}» is not a date (dd.mm.yyyy)"),
                               where=where, value=(raw or "")[:20]) from None


def _text(elem, name: str) -> str:
    child = elem.find(name)
    return (child.text or "").strip() if child is not None and child.text else ""


def parse_rates(data: bytes) -> ParsedRates:
    """The rates of a CBR or NBU daily XML file."""
    if len(data) > MAX_FILE_BYTES:
        raise ValidationFailed("file", N_("the file is larger than {mb} MB"),
                               mb=MAX_FILE_BYTES // 2**20)
    try:
        root = fromstring(data, forbid_dtd=True)
    except ParseError as exc:
        line, column = exc.position
        raise ValidationFailed("file", N_("the file is not well-formed XML (line {line}, "
                                          "column {column})"), line=line, column=column
                               ) from None
    except DefusedXmlException:
        raise ValidationFailed("file", N_("the file declares a document type or "
                                          "entities, which are not accepted")) from None
    if root.tag == "ValCurs":
        return _cbr(root)
    if root.tag == "exchange":
        return _nbu(root)
    raise ValidationFailed("file", N_("this is neither the Bank of Russia's daily rates "
                                      "(ValCurs) nor the National Bank of Ukraine's "
                                      "(exchange): its root element is «{root}»"),
                           root=str(root.tag)[:40])


def _cbr(root) -> ParsedRates:
    out = ParsedRates(source="cbr", base="RUB")
    day = _day(root.get("Date"), "ValCurs Date")
    for valute in root.iter("Valute"):
        code = _text(valute, "CharCode").upper()
        if not _CODE.fullmatch(code):
            raise ValidationFailed("file", N_("«{value}» is not a currency code"),
                                   value=code[:10])
        value = decimal_of(_text(valute, "Value"))
        nominal = decimal_of(_text(valute, "Nominal") or "1")
        if value is None or nominal is None or nominal <= 0:
            raise ValidationFailed("file", N_("{currency}: «Value» or «Nominal» is not a "
                                              "number"), currency=code)
        per_unit = (value / nominal).quantize(SIX, ROUND_HALF_UP)
        if per_unit <= 0:
            out.skipped.append(code)
            continue
        out.rates.append((day, code, per_unit))
    if not out.rates:
        raise ValidationFailed("file", N_("the file has no rates"))
    return out


def _nbu(root) -> ParsedRates:
    out = ParsedRates(source="nbu", base="UAH")
    for item in root.iter("currency"):
        code = _text(item, "cc").upper()
        if not _CODE.fullmatch(code):
            raise ValidationFailed("file", N_("«{value}» is not a currency code"),
                                   value=code[:10])
        day = _day(_text(item, "exchangedate"), code)
        value = decimal_of(_text(item, "rate"))
        if value is None:
            raise ValidationFailed("file", N_("{currency}: «{key}» is not a number"),
                                   currency=code, key="rate")
        per_unit = value.quantize(SIX, ROUND_HALF_UP)
        if per_unit <= 0:
            out.skipped.append(code)
            continue
        out.rates.append((day, code, per_unit))
    if not out.rates:
        raise ValidationFailed("file", N_("the file has no rates"))
    return out


async def do_load_rates(actor: User, data: bytes) -> LoadReport:
    """Store a central bank's daily file: new rates created, changed ones updated."""
    require_admin(actor)
    parsed = parse_rates(data)
    report = LoadReport(source=parsed.source, base=parsed.base, skipped=parsed.skipped)
    days = {d for d, _c, _r in parsed.rates}
    report.dated = max(days)
    async with in_transaction():
        existing = {(r.dated, r.currency): r for r in await CurrencyRate.filter(
            dated__in=list(days), base=parsed.base,
            currency__in=[c for _d, c, _r in parsed.rates])}
        new: list[CurrencyRate] = []
        seen: set[tuple[date, str]] = set()
        for day, code, value in parsed.rates:
            if code == parsed.base or (day, code) in seen:
                continue
            seen.add((day, code))
            row = existing.get((day, code))
            if row is None:
                new.append(CurrencyRate(dated=day, currency=code, base=parsed.base,
                                        rate=value, source=parsed.source))
                report.created += 1
            elif Decimal(row.rate) != value or row.source != parsed.source:
                row.rate, row.source = value, parsed.source
                await row.save(update_fields=["rate", "source"])
                report.updated += 1
            else:
                report.unchanged += 1
        if new:
            await CurrencyRate.bulk_create(new)
    return report


def _code(raw: str | None, where: str) -> str:
    code = (raw or "").strip().upper()
    if not _CODE.fullmatch(code):
        raise ValidationFailed(where, N_("a currency is three Latin letters, such as USD"))
    return code


def _rate_value(raw) -> Decimal:
    try:
        value = raw if isinstance(raw, Decimal) else decimal_of(str(raw))
    except (InvalidOperation, ValueError):
        value = None
    if value is None or not value.is_finite():
        raise ValidationFailed("rate", N_("«{value}» is not a number"), value=str(raw)[:20])
    if value <= 0 or value >= MAX_RATE:
        raise ValidationFailed("rate", N_("a rate is more than 0 and less than {max}"),
                               max="1 000 000 000")
    if value != value.quantize(SIX):
        raise ValidationFailed("rate", N_("at most {places} decimal places"), places=6)
    return value


async def do_set_rate(actor: User, currency: str, rate, dated: date,
                      base: str = "RUB") -> CurrencyRate:
    """An admin's rate of a day (replaces that day's rate from any source)."""
    require_admin(actor)
    code, base_code = _code(currency, "currency"), _code(base, "base")
    if code == base_code:
        raise ValidationFailed("currency", N_("a currency's rate to itself is always 1"))
    value = _rate_value(rate)
    if not isinstance(dated, date):
        raise ValidationFailed("dated", N_("choose a day"))
    row = await CurrencyRate.get_or_none(dated=dated, currency=code, base=base_code)
    if row is None:
        return await CurrencyRate.create(dated=dated, currency=code, base=base_code,
                                         rate=value, source="manual")
    row.rate, row.source = value, "manual"
    await row.save(update_fields=["rate", "source"])
    return row


async def do_delete_rate(actor: User, rate_id: int) -> None:
    require_admin(actor)
    deleted = await CurrencyRate.filter(id=rate_id).delete()
    if not deleted:
        raise NotFound("rate")


async def list_rates(actor: User, *, currency: str | None = None, on: date | None = None,
                     limit: int = 100) -> list[CurrencyRate]:
    """Rates, the newest day first (one currency's history, or one day's rates)."""
    require_staff(actor)
    qs = CurrencyRate.all()
    if currency:
        qs = qs.filter(currency=_code(currency, "currency"))
    if on:
        qs = qs.filter(dated=on)
    return await qs.order_by("-dated", "currency").limit(max(1, min(limit, 500)))


async def _latest(currency: str, base: str, on: date) -> Decimal | None:
    row = await CurrencyRate.filter(currency=currency, base=base, dated__lte=on) \
        .order_by("-dated").first()
    return Decimal(row.rate) if row is not None else None


async def rate(from_cur: str, to_cur: str, on: date) -> Decimal:
    """How much of ``to_cur`` one ``from_cur`` is worth on the day (unrounded)."""
    src, dst = _code(from_cur, "currency"), _code(to_cur, "currency")
    if src == dst:
        return Decimal(1)
    bases = list(BASES) + sorted(set(await CurrencyRate.filter(dated__lte=on)
                                     .distinct().values_list("base", flat=True))
                                 - set(BASES))
    missing = None
    for base in bases:
        r_src = Decimal(1) if src == base else await _latest(src, base, on)
        r_dst = Decimal(1) if dst == base else await _latest(dst, base, on)
        if r_src is not None and r_dst is not None:
            return r_src / r_dst
        if missing is None and (r_src is not None or r_dst is not None
                                or base in (src, dst)):
            missing = src if r_src is None else dst
    raise ValidationFailed("currency", N_("there is no rate of {currency} on {day} or "
                                          "before: load the central bank's rates or enter "
                                          "one"),
                           currency=missing or src, day=on.strftime("%d.%m.%Y"))


async def rates_on(from_cur: str, to_cur: str, days) -> dict[date, Decimal | None]:
    """:func:`rate` for many days at once, in two queries rather than a few per day
    (the ranking converts a year of daily sums): each day's answer is the one
    :func:`rate` gives, None where it would raise for want of a rate."""
    from bisect import bisect_right

    from tortoise.functions import Min

    src, dst = _code(from_cur, "currency"), _code(to_cur, "currency")
    wanted = sorted(set(days))
    if not wanted:
        return {}
    if src == dst:
        return dict.fromkeys(wanted, Decimal(1))
    last = wanted[-1]
    since = dict(await CurrencyRate.filter(dated__lte=last).annotate(
        first=Min("dated")).group_by("base").values_list("base", "first"))
    series: dict[tuple[str, str], tuple[list[date], list[Decimal]]] = {}
    for code, base, dated, value in await CurrencyRate.filter(
            currency__in=[src, dst], dated__lte=last).order_by("dated").values_list(
            "currency", "base", "dated", "rate"):
        known = series.setdefault((code, base), ([], []))
        known[0].append(_as_day(dated))
        known[1].append(Decimal(value))

    def latest(code: str, base: str, on: date) -> Decimal | None:
        dates, values = series.get((code, base), ([], []))
        at = bisect_right(dates, on)
        return values[at - 1] if at else None

    out: dict[date, Decimal | None] = {}
    for on in wanted:
        out[on] = None
        for base in list(BASES) + sorted({b for b, first in since.items()
                                          if _as_day(first) <= on} - set(BASES)):
            r_src = Decimal(1) if src == base else latest(src, base, on)
            r_dst = Decimal(1) if dst == base else latest(dst, base, on)
            if r_src is not None and r_dst is not None:
                out[on] = r_src / r_dst
                break
    return out


def _as_day(value) -> date:
    return date.fromisoformat(value[:10]) if isinstance(value, str) else value


async def convert(amount: Decimal, from_cur: str, to_cur: str, on: date) -> Decimal:
    """``amount`` of ``from_cur`` in ``to_cur`` on the day, to the cent."""
    return (Decimal(amount) * await rate(from_cur, to_cur, on)).quantize(CENT, ROUND_HALF_UP)
