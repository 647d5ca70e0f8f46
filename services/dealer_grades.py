"""Dealer grades (M-7): A, B or C from a dealer's numbers, by the admin's thresholds.

Rules:

* The settings (admins, the "dealer grades" form) say the period — the last
  ``period_days`` days up to now —, the currency whose revenue is compared, and for A
  and for B the least revenue and the least won rate (whole percent). They are kept in
  the ``setting`` row ``dealer_grades``; a row that does not parse gives the defaults.
* A dealer is **A** when both its revenue and its won rate reach A's thresholds, else
  **B** when both reach B's, else **C**. A dealer with no closed deal has a won rate of
  0 for the grade.
* A grade set by hand (services.dealers) stays until reset; the computation skips it.
  Grades are computed on demand (the button on the dealers list, heads and admins) and
  every night (notifications.scheduler); :func:`grade_reason` says why, from the same
  numbers.
* Computing all grades takes the bounded queries of services.dealer_figures and one
  update per grade (A, B, C), never a query per dealer.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from models import PartnerKind, PartnerRole, Setting, User
from services.clock import utcnow
from services.dealer_figures import DealerFigures, dealer_figures
from services.errors import N_, Text, ValidationFailed
from services.permissions import require_admin

KEY = "dealer_grades"
PERIODS = (30, 90, 180, 365)
CURRENCIES = ("RUB", "UAH", "USD", "EUR", "KZT", "BYN")
MAX_MONEY = Decimal("1000000000000")


@dataclass
class GradeSettings:
    period_days: int = 365
    currency: str = "RUB"
    a_revenue: Decimal = Decimal("1000000")
    a_won_rate: int = 50
    b_revenue: Decimal = Decimal("200000")
    b_won_rate: int = 25

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["a_revenue"], out["b_revenue"] = str(self.a_revenue), str(self.b_revenue)
        return out


def _money(raw: Any, name: str) -> Decimal:
    text = str(raw if raw is not None else "").replace(" ", "").replace(",", ".")
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise ValidationFailed(name, N_("a sum of money, like 150000.50")) from None
    if not value.is_finite() or value < 0 or value > MAX_MONEY:
        raise ValidationFailed(name, N_("a sum of money, like 150000.50"))
    return value.quantize(Decimal("0.01"))


def _rate(raw: Any, name: str) -> int:
    try:
        value = int(str(raw).strip())
    except (TypeError, ValueError):
        raise ValidationFailed(name, N_("a percent from 0 to 100")) from None
    if not 0 <= value <= 100:
        raise ValidationFailed(name, N_("a percent from 0 to 100"))
    return value


def _clean(data: dict[str, Any], current: GradeSettings) -> GradeSettings:
    merged = {**current.as_dict(), **{k: v for k, v in data.items() if v is not None}}
    try:
        period = int(str(merged["period_days"]))
    except ValueError:
        period = -1
    if period not in PERIODS:
        raise ValidationFailed("period_days", N_("choose a value from the list"))
    currency = str(merged["currency"] or "").upper()
    if currency not in CURRENCIES:
        raise ValidationFailed("currency", N_("choose one of: {choices}"),
                               choices=", ".join(CURRENCIES))
    out = GradeSettings(period, currency, _money(merged["a_revenue"], "a_revenue"),
                        _rate(merged["a_won_rate"], "a_won_rate"),
                        _money(merged["b_revenue"], "b_revenue"),
                        _rate(merged["b_won_rate"], "b_won_rate"))
    if out.b_revenue > out.a_revenue:
        raise ValidationFailed("b_revenue", N_("must not be more than grade A's"))
    if out.b_won_rate > out.a_won_rate:
        raise ValidationFailed("b_won_rate", N_("must not be more than grade A's"))
    return out


async def grade_settings() -> GradeSettings:
    row = await Setting.get_or_none(key=KEY)
    if row is None or not isinstance(row.value, dict):
        return GradeSettings()
    try:
        return _clean(row.value, GradeSettings())
    except ValidationFailed:
        return GradeSettings()


async def do_set_grade_settings(actor: User, data: dict[str, Any]) -> GradeSettings:
    """Admins: the period, the currency and the thresholds of A and B."""
    require_admin(actor)
    out = _clean(data, await grade_settings())
    await Setting.update_or_create(key=KEY, defaults={"value": out.as_dict()})
    return out


def grade_of(f: DealerFigures, s: GradeSettings) -> str:
    revenue, rate = f.revenue_in(s.currency), f.won_rate or 0
    if revenue >= s.a_revenue and rate >= s.a_won_rate:
        return "A"
    if revenue >= s.b_revenue and rate >= s.b_won_rate:
        return "B"
    return "C"


def _amount(value: Decimal) -> str:
    return f"{value:,.0f}".replace(",", " ")


def grade_reason(role: PartnerRole, f: DealerFigures | None, s: GradeSettings) -> Text | None:
    """Why the dealer has its grade, to be translated by the front end."""
    if role.grade is None:
        return None
    if role.grade_manual:
        return Text(N_("set by hand"))
    f = f or DealerFigures(client_id=role.client_id)
    params = dict(revenue=_amount(f.revenue_in(s.currency)), currency=s.currency,
                  rate=f.won_rate or 0, days=s.period_days)
    if role.grade == "A":
        return Text(N_("revenue {revenue} {currency} and won rate {rate} percent in "
                       "{days} days reach grade A ({min} {currency}, {min_rate} percent)"),
                    min=_amount(s.a_revenue), min_rate=s.a_won_rate, **params)
    if role.grade == "B":
        return Text(N_("revenue {revenue} {currency} and won rate {rate} percent in "
                       "{days} days reach grade B ({min} {currency}, {min_rate} percent) "
                       "but not A"), min=_amount(s.b_revenue), min_rate=s.b_won_rate,
                    **params)
    return Text(N_("revenue {revenue} {currency} and won rate {rate} percent in {days} "
                   "days are below grade B ({min} {currency}, {min_rate} percent)"),
                min=_amount(s.b_revenue), min_rate=s.b_won_rate, **params)


def grade_period(s: GradeSettings):
    end = utcnow()
    return end - timedelta(days=s.period_days), end


async def grade_dealers(*, client_ids: list[int] | None = None) -> dict[str, int]:
    """The grades of every active dealer not graded by hand (or of ``client_ids``)
    worked out anew; how many got each grade."""
    s = await grade_settings()
    qs = PartnerRole.filter(kind=PartnerKind.DEALER, archived_at=None, grade_manual=False)
    if client_ids is not None:
        qs = qs.filter(client_id__in=list(client_ids))
    ids = list(await qs.values_list("client_id", flat=True))
    if not ids:
        return {}
    start, end = grade_period(s)
    figures = await dealer_figures(start, end, ids if client_ids is not None else None)
    by_grade: dict[str, list[int]] = {}
    for cid in ids:
        f = figures.get(cid) or DealerFigures(client_id=cid)
        by_grade.setdefault(grade_of(f, s), []).append(cid)
    now = utcnow()
    for grade, cids in by_grade.items():
        await PartnerRole.filter(kind=PartnerKind.DEALER, grade_manual=False,
                                 client_id__in=cids).update(grade=grade, graded_at=now)
    return {g: len(c) for g, c in by_grade.items()}


async def do_grade_now(actor: User) -> dict[str, int]:
    """The button: heads and admins grade every dealer now."""
    from services.dealers import require_manager

    require_manager(actor)
    return await grade_dealers()


async def nightly() -> None:
    """The scheduler's job (notifications.scheduler.add_dealer_grade_job)."""
    await grade_dealers()
