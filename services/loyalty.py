"""Loyalty cards (U-9): the program — tiers, a point's value, the share of an order
points may pay, how long points live — and who may do what. The cards and the points
are in :mod:`services.loyalty_cards` and :mod:`services.loyalty_points`, the nightly
recalculation in :mod:`services.loyalty_run`, the analysis in
:mod:`services.loyalty_analysis`.

Rules:

* **The program** is set by an admin in a form: ``point_value`` (what one point pays,
  in the company currency — the setting of services.ranking, default RUB; above 0),
  ``max_share`` (the percent of an order's total points may pay, 0..100) and
  ``expiry_months`` (1..120, or empty: points never expire); and the **tiers** as rows,
  each a name (unique, up to 60 characters), a spend threshold (≥ 0; the thresholds
  all different; the lowest must be 0, so every card has a tier), an accrual percent
  (0..100) and, optionally, a discount group of the catalogue (A-14, not archived). A
  tier left out of the form is archived (its cards move at the recalculation that the
  saving runs).
* **Spend** is the sum of the totals of the client's posted, shipped and closed orders
  posted in the last 12 months up to the recalculation (the same months as the
  ranking's), in the company currency; an order in another currency at the rate of its
  posting day (UTC), left out without one. **A card's tier** is the tier with the
  highest threshold not above its spend.
* **Accrual**: when an order is posted (after the commit), the client's current card
  (not archived, not blocked) gets ⌊total × tier's percent / 100⌋ points — one point
  for each whole unit of the company currency in that percent of the total (an order in
  another currency converted as for the spend); once per order, however often the hook
  runs. The points expire ``expiry_months`` after the accrual when the program says so.
* **Redemption**: a person who sees the client redeems whole points against one of its
  open (draft or posted) orders in the company currency: at most the card's balance,
  and the points of all redemptions on that order × the point's value at most
  ``max_share`` % of the order's total. The order's lines do not change (an invoice
  prints them as priced); the money is a **credit note** on the client's ledger
  (services.ledger: it pays the order's invoice like a payment), numbered as the order,
  noting the points. A draft's lines changed later leave a redemption made as it is.
  A blocked card neither accrues nor redeems; an archived one takes no moves at all.
* **Adjustment**: whole points up (+) or down (−), not 0, with a reason; down at most
  to a zero balance.
* **Cancelling an order** (in its transaction) reverses its accrual (the balance may
  go below 0 if the points were spent meanwhile; nothing can be redeemed until it is
  above 0 again) and gives back each of its redemptions, voiding their credit notes.
* **Expiry** (nightly, and with each recalculation): what goes out of a card (a
  redemption, a downward adjustment or reversal, an expiry) takes the oldest points
  first; an accrual whose time is up loses what of it is not taken yet — one expiry move
  per card and run.
* **Recalculation** (nightly, and on demand by admins and heads; saving the program
  runs it too): each current card's spend and tier. A changed tier is a line of the
  client's history; a tier with a discount group sets it on the client's terms (a line
  too); a tier without one takes away the previous tier's group if the client still has
  it (a group set by hand stays).
* **Who**: a card is issued, edited, blocked, archived, credited and debited by whoever
  sees its client (A-3: a manager their own clients, a head their departments', an
  admin all); the program by admins; the analysis covers the clients one sees, like
  services.analytics (an admin all, a head their departments', a manager their own).
* Every move of points is a line of the client's history (AuditLog, the field
  ``loyalty_<kind>``, the value the signed points with the order or the reason).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import ROUND_DOWN, Decimal, InvalidOperation
from typing import Any

from tortoise.transactions import in_transaction

from models import DiscountGroup, LoyaltyTier, Setting, User
from services.errors import N_, PermissionDenied, ValidationFailed
from services.permissions import is_admin_or_head, require_admin

KEY = "loyalty"
CENT = Decimal("0.01")
HUNDRED = Decimal(100)
MAX_TIERS = 20
MAX_MONEY = Decimal("999999999999")
MAX_EXPIRY = 120


@dataclass
class Program:
    point_value: Decimal = Decimal(1)
    max_share: Decimal = Decimal(50)
    expiry_months: int | None = None
    tiers: list[LoyaltyTier] = field(default_factory=list)  # by threshold
    currency: str = "RUB"

    def as_dict(self) -> dict[str, Any]:
        return {"point_value": _text(self.point_value), "max_share": _text(self.max_share),
                "expiry_months": self.expiry_months, "currency": self.currency,
                "tiers": [tier_dict(t) for t in self.tiers]}


def _text(v: Decimal) -> str:
    return format(v.normalize(), "f")


def tier_dict(t: LoyaltyTier) -> dict[str, Any]:
    return {"id": t.id, "name": t.name, "threshold": f"{t.threshold:.2f}",
            "accrual": _text(Decimal(t.accrual)), "discount_group_id": t.discount_group_id}


def number(raw: Any, name: str, low: Decimal, high: Decimal, *,
           low_open: bool = False) -> Decimal:
    """A decimal as typed ("1,5", "10 %"), within the bounds, to two places."""
    try:
        if isinstance(raw, bool) or raw is None:
            raise InvalidOperation
        value = Decimal(str(raw).strip().replace(" ", "").replace("\u00a0", "")
                        .replace(",", ".").rstrip("%"))
    except (InvalidOperation, ValueError):
        raise ValidationFailed(name, N_("«{value}» is not a number"),
                               value=str(raw)[:20]) from None
    if not value.is_finite() or value < low or value > high or (low_open and value == low):
        if low_open:
            raise ValidationFailed(name, N_("above {low} and at most {high}"), low=str(low),
                                   high=str(high))
        raise ValidationFailed(name, N_("from {low} to {high}"), low=str(low), high=str(high))
    return value.quantize(CENT, ROUND_DOWN)


@dataclass
class TierIn:
    id: int | None
    name: str
    threshold: Decimal
    accrual: Decimal
    discount_group_id: int | None


async def clean_tiers(rows: Any) -> list[TierIn]:
    """The tiers from the form's rows, checked and named when wrong (``tiers.N.x``)."""
    if not isinstance(rows, list) or not rows:
        raise ValidationFailed("tiers", N_("add at least one tier"))
    if len(rows) > MAX_TIERS:
        raise ValidationFailed("tiers", N_("at most {max} tiers"), max=MAX_TIERS)
    out: list[TierIn] = []
    names: set[str] = set()
    thresholds: set[Decimal] = set()
    groups = set(await DiscountGroup.filter(archived=False).values_list("id", flat=True))
    for n, row in enumerate(rows):
        if not isinstance(row, dict):
            raise ValidationFailed(f"tiers.{n}", N_("is required"))
        name = " ".join(str(row.get("name") or "").split())
        if not name:
            raise ValidationFailed(f"tiers.{n}.name", N_("is required"))
        if len(name) > 60:
            raise ValidationFailed(f"tiers.{n}.name", N_("at most {max} characters"), max=60)
        if name.casefold() in names:
            raise ValidationFailed(f"tiers.{n}.name", N_("two tiers named «{name}»"),
                                   name=name)
        names.add(name.casefold())
        threshold = number(row.get("threshold"), f"tiers.{n}.threshold", Decimal(0),
                           MAX_MONEY)
        if threshold in thresholds:
            raise ValidationFailed(f"tiers.{n}.threshold",
                                   N_("two tiers with the threshold {value}"),
                                   value=_text(threshold))
        thresholds.add(threshold)
        accrual = number(row.get("accrual"), f"tiers.{n}.accrual", Decimal(0), HUNDRED)
        group = row.get("discount_group_id") or None
        if group is not None:
            try:
                group = int(group)
            except (TypeError, ValueError):
                group = -1
            if group not in groups:
                raise ValidationFailed(f"tiers.{n}.discount_group_id",
                                       N_("choose a value from the list"))
        tid = row.get("id") or None
        out.append(TierIn(int(tid) if tid else None, name, threshold, accrual, group))
    if min(thresholds) != 0:
        raise ValidationFailed("tiers.0.threshold", N_("the lowest tier starts at 0"))
    return sorted(out, key=lambda t: t.threshold)


def clean_numbers(data: dict[str, Any]) -> tuple[Decimal, Decimal, int | None]:
    value = number(data.get("point_value", 1), "point_value", Decimal(0), Decimal(1_000_000),
                   low_open=True)
    share = number(data.get("max_share", 50), "max_share", Decimal(0), HUNDRED)
    raw = data.get("expiry_months")
    months = None
    if raw not in (None, "", 0, "0"):
        try:
            months = int(str(raw).strip())
        except ValueError:
            raise ValidationFailed("expiry_months", N_("«{value}» is not a number"),
                                   value=str(raw)[:20]) from None
        if not 1 <= months <= MAX_EXPIRY:
            raise ValidationFailed("expiry_months", N_("from 1 to {max} months"),
                                   max=MAX_EXPIRY)
    return value, share, months


async def company_currency() -> str:
    from services.ranking import rank_settings

    return (await rank_settings()).currency


async def program() -> Program:
    row = await Setting.get_or_none(key=KEY)
    value = row.value if row is not None and isinstance(row.value, dict) else {}
    try:
        point_value, share, months = clean_numbers(value)
    except ValidationFailed:
        point_value, share, months = Decimal(1), Decimal(50), None
    tiers = await LoyaltyTier.filter(archived=False).order_by("threshold", "id")
    return Program(point_value, share, months, list(tiers), await company_currency())


async def do_set_program(actor: User, data: dict[str, Any], *, source: str = "web"
                         ) -> Program:
    """Admins: the numbers and the tiers (rows with ``id`` change those tiers, rows
    without make new ones, tiers left out are archived); then the cards' tiers are
    recalculated."""
    require_admin(actor)
    point_value, share, months = clean_numbers(data)
    tiers = await clean_tiers(data.get("tiers"))
    known = {t.id: t for t in await LoyaltyTier.filter(archived=False)}
    for n, t in enumerate(tiers):
        if t.id is not None and t.id not in known:
            raise ValidationFailed(f"tiers.{n}.id", N_("choose a value from the list"))
    async with in_transaction():
        kept: set[int] = set()
        for t in tiers:
            values = {"name": t.name, "threshold": t.threshold, "accrual": t.accrual,
                      "discount_group_id": t.discount_group_id}
            if t.id is not None:
                await LoyaltyTier.filter(id=t.id).update(**values)
                kept.add(t.id)
            else:
                await LoyaltyTier.create(**values)
        gone = set(known) - kept
        if gone:
            await LoyaltyTier.filter(id__in=list(gone)).update(archived=True)
        await Setting.update_or_create(key=KEY, defaults={"value": {
            "point_value": _text(point_value), "max_share": _text(share),
            "expiry_months": months}})
    from services import loyalty_run

    await loyalty_run.recalculate(actor, source=source)
    return await program()


def may_run(actor: User | None) -> bool:
    return is_admin_or_head(actor)


def check_runner(actor: User | None) -> None:
    if actor is not None and not may_run(actor):
        raise PermissionDenied("only admins and heads recalculate the loyalty tiers")


def tier_for(spend: Decimal, tiers: list[LoyaltyTier]) -> LoyaltyTier | None:
    """The tier with the highest threshold not above ``spend``."""
    best = None
    for t in sorted(tiers, key=lambda t: t.threshold):
        if Decimal(t.threshold) <= spend:
            best = t
    return best


def accrual_points(total: Decimal, percent: Decimal) -> int:
    """⌊total × percent / 100⌋ (not below 0)."""
    return max(0, int((Decimal(total) * Decimal(percent) / HUNDRED).to_integral_value(
        ROUND_DOWN)))
