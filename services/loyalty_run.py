"""The loyalty recalculation (U-9): each current card's spend over the last 12 months
and its tier, the tiers' discount groups on the clients' terms, and the expiry of
points — nightly and on demand (admins and heads). The rules are in
:mod:`services.loyalty`."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from tortoise import connections
from tortoise.transactions import in_transaction

from models import AuditLog, ClientTerms, DiscountGroup, LoyaltyCard, LoyaltyTier, Setting, User
from services import loyalty as program_svc
from services.clock import utcnow
from services.errors import ValidationFailed
from services.loyalty_cards import audit

log = logging.getLogger(__name__)
LAST_RUN_KEY = "loyalty.last_run"
SOLD = ("posted", "shipped", "closed")
MONTHS = 12
_lock = asyncio.Lock()


@dataclass
class RunReport:
    cards: int = 0
    moved: int = 0
    expired: int = 0
    missing: list[str] = field(default_factory=list)
    at: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {"cards": self.cards, "moved": self.moved, "expired": self.expired,
                "missing": self.missing, "at": self.at}


async def spend(client_ids: list[int] | None, home: str, now) -> tuple[dict[int, Decimal],
                                                                       list[str]]:
    """Each client's spend (the rules), summed per client, currency and (for other
    currencies) day by the database; the clients of current cards when None."""
    from services import rates
    from services.ledger_sql import as_date, cents, cur, ints
    from services.ranking import months_back

    conn = connections.get("default")
    sqlite = conn.capabilities.dialect == "sqlite"
    ph = ("?", "?") if sqlite else ("$1", "$2")
    day = "date(o.posted_at)" if sqlite else "CAST(o.posted_at AT TIME ZONE 'UTC' AS DATE)"
    which = (f"o.client_id IN ({ints(client_ids)})" if client_ids is not None else
             "o.client_id IN (SELECT k.client_id FROM loyalty_card k WHERE "
             "k.archived = FALSE)")
    home_sql = cur(home)
    sql = (f"SELECT o.client_id AS c, o.currency AS cur, CASE WHEN o.currency = {home_sql} "
           f"THEN NULL ELSE {day} END AS d, SUM({cents('o.total')}) AS s "
           f"FROM sales_order o WHERE o.state IN ({', '.join(repr(x) for x in SOLD)}) "
           f"AND o.posted_at <= {ph[0]} AND o.posted_at > {ph[1]} AND {which} "
           f"GROUP BY 1, 2, 3")
    _, rows = await conn.execute_query(sql, [now, months_back(now, MONTHS)])
    out: dict[int, Decimal] = {}
    missing: set[str] = set()
    found: dict[tuple[str, Any], Decimal | None] = {}
    for row in rows:
        amount = Decimal(int(row["s"] or 0)) / 100
        if row["cur"] != home:
            key = (row["cur"], as_date(row["d"]))
            if key not in found:
                try:
                    found[key] = await rates.rate(key[0], home, key[1])
                except ValidationFailed:
                    found[key] = None
            if found[key] is None:
                missing.add(f"{key[0]} {key[1].strftime('%d.%m.%Y')}")
                continue
            amount *= found[key]
        c = int(row["c"])
        out[c] = out.get(c, Decimal(0)) + amount
    return ({c: v.quantize(Decimal("0.01"), ROUND_HALF_UP) for c, v in out.items()},
            sorted(missing))


async def recalculate(actor: User | None = None, *, source: str = "system",
                      card_ids: list[int] | None = None) -> RunReport:
    """Expiry, then every current card's spend and tier (or only ``card_ids``')."""
    program_svc.check_runner(actor if card_ids is None else None)
    async with _lock:
        return await _run(actor, source, card_ids)


async def _run(actor: User | None, source: str, card_ids: list[int] | None) -> RunReport:
    from services import loyalty_points

    now = utcnow().replace(microsecond=0)
    report = RunReport(at=now.isoformat())
    report.expired = await loyalty_points.expire(now, source=source, card_ids=card_ids)
    qs = LoyaltyCard.filter(archived=False)
    if card_ids is not None:
        qs = qs.filter(id__in=card_ids)
    cards = await qs.select_related("tier")
    report.cards = len(cards)
    if not cards:
        return await _done(report, card_ids)
    prog = await program_svc.program()
    tiers = prog.tiers
    sums, report.missing = await spend([c.client_id for c in cards] if card_ids else None,
                                       prog.currency, now)
    archived_groups = {t.id: t.discount_group_id for t in await LoyaltyTier.filter(
        archived=True)}
    for card in cards:
        value = sums.get(card.client_id, Decimal(0))
        tier = program_svc.tier_for(value, tiers)
        new_id = tier.id if tier else None
        if new_id == card.tier_id:
            if Decimal(card.spend) != value:
                await LoyaltyCard.filter(id=card.id).update(spend=value)
            continue
        report.moved += 1
        old_group = card.tier.discount_group_id if card.tier else \
            archived_groups.get(card.tier_id)
        rows = [audit(actor, card, "loyalty_tier", card.tier.name if card.tier else None,
                      tier.name if tier else None, source=source)]
        async with in_transaction():
            await LoyaltyCard.filter(id=card.id).update(tier_id=new_id, spend=value,
                                                        updated_at=now)
            rows += await _group(actor, card, old_group,
                                 tier.discount_group_id if tier else None, source)
            await AuditLog.bulk_create(rows)
    return await _done(report, card_ids)


async def _group(actor: User | None, card: LoyaltyCard, old: int | None, new: int | None,
                 source: str) -> list[AuditLog]:
    """The client's discount group after a tier move (the rules)."""
    terms = await ClientTerms.get_or_none(client_id=card.client_id)
    current = terms.discount_group_id if terms else None
    if new is not None:
        target = new
    elif old is not None and current == old:
        target = None
    else:
        return []
    if target == current:
        return []
    if terms is None:
        await ClientTerms.create(client_id=card.client_id, discount_group_id=target)
    else:
        await ClientTerms.filter(id=terms.id).update(discount_group_id=target)
    names = dict(await DiscountGroup.filter(id__in=[g for g in (current, target) if g]
                                            ).values_list("id", "name"))
    return [AuditLog(user_id=actor.id if actor else None, source=source[:16],
                     entity="client_terms", object_id=card.client_id,
                     client_id=card.client_id, action="update", field="discount_group_id",
                     old_value=names.get(current), new_value=names.get(target))]


async def _done(report: RunReport, card_ids: list[int] | None) -> RunReport:
    if card_ids is None:
        await Setting.update_or_create(key=LAST_RUN_KEY, defaults={"value": report.as_dict()})
        log.info("loyalty: %d cards, %d moved, %d points expired", report.cards,
                 report.moved, report.expired)
    return report


async def last_run() -> dict | None:
    row = await Setting.get_or_none(key=LAST_RUN_KEY)
    return row.value if row is not None and isinstance(row.value, dict) else None


async def nightly() -> RunReport:
    """The scheduler's job: expiry and tiers, as the system."""
    return await recalculate(None, source="system")
