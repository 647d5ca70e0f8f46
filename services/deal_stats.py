"""Win probability, the cohort funnel and lost-deal analysis (U-5, U-6). The rules:

* **Probability of an open deal** at stage *S* of process *P* is learnt from the
  company's own closed deals of *P* that reached at least *S* ("reached": the furthest
  open stage a deal was ever in, from its stage events):
  - with at least :data:`MIN_MODEL` of them: naive Bayes over the deal's source, owner,
    client kind and amount band (Laplace-smoothed), starting from the won/lost odds of
    those deals; the three features that move the odds most are kept as factors;
  - with at least :data:`MIN_STAGES`: the stage-to-stage conversion (the share won);
  - else the stage's own figure, set by an admin.
  A manager's override wins and is shown as such. Won is 100, lost 0. The counts are
  computed in SQL (one GROUP BY per feature) and kept per process for an hour
  (:func:`refresh`), so a move recomputes its deal without touching the history.
* **Honesty**: :func:`brier` scores the model against the stage-only baseline on the
  last closed deals, trained only on deals closed before them, predicting at each open
  stage each test deal went through.
* **Funnel by cohort**: deals that *entered* a stage in the period, not the current
  status: how many moved on (to a later stage or won), were lost there, are still
  there; conversion; median and 90th percentile of days in the stage (of those that
  left it); the bottlenecks are the lowest conversion and the longest median.
* **Weighted pipeline**: the open deals' amounts times their probability, per currency.
* **Lost deals**: counts and sums by reason, competitor, stage lost at and owner.
"""

from __future__ import annotations

import math
import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from tortoise import connections
from tortoise.transactions import in_transaction

from models import Deal, Department, DictionaryItem, Role, Stage, StageKind, User
from services.clock import utcnow
from services.permissions import department_subtree_ids

MIN_MODEL = 30  # closed deals past a stage before naive Bayes is trusted
MIN_STAGES = 10  # ... before the stage's conversion replaces the admin's figure
CACHE_SECONDS = 3600
FEATURES = ("source", "owner", "kind", "band")
BANDS = (Decimal(100_000), Decimal(1_000_000), Decimal(10_000_000))
BATCH = 1000


def band_of(amount: Decimal | None) -> str:
    if amount is None:
        return "none"
    for n, edge in enumerate(BANDS):
        if amount < edge:
            return f"b{n}"
    return f"b{len(BANDS)}"


BAND_SQL = ("CASE WHEN d.amount IS NULL THEN 'none' WHEN d.amount < 100000 THEN 'b0' "
            "WHEN d.amount < 1000000 THEN 'b1' WHEN d.amount < 10000000 THEN 'b2' "
            "ELSE 'b3' END")
FEATURE_SQL = {"source": "d.source_id", "owner": "d.owner_id", "kind": "c.kind",
               "band": BAND_SQL}


def _ph(conn, n: int) -> str:
    """The n-th placeholder of the backend (``?`` or ``$n``)."""
    return "?" if conn.capabilities.dialect == "sqlite" else f"${n}"


def _narrow(conn, where: list[str], params: list[Any], depts: list[int] | None,
            owner: int | None, dept_column: str, owner_column: str) -> None:
    """A raw query's conditions narrowed to whose deals a person may count
    (:func:`_scope`): the departments' ids written in (integers), the owner a parameter."""
    if depts is not None:
        where.append(f"{dept_column} IN ({', '.join(str(int(d)) for d in depts)})")
    if owner is not None:
        params.append(owner)
        where.append(f"{owner_column} = {_ph(conn, len(params))}")


# ---- the counts ---------------------------------------------------------------------

@dataclass
class Counts:
    """Closed deals of one process, by the furthest open stage position reached."""

    totals: dict[int, list[int]] = field(default_factory=dict)  # pos -> [lost, won]
    # feature -> pos -> value -> [lost, won]
    by: dict[str, dict[int, dict[str, list[int]]]] = field(default_factory=dict)
    positions: list[int] = field(default_factory=list)

    def past(self, pos: int) -> tuple[int, int]:
        lost = sum(v[0] for p, v in self.totals.items() if p >= pos)
        won = sum(v[1] for p, v in self.totals.items() if p >= pos)
        return lost, won

    def feature_past(self, feature: str, pos: int) -> dict[str, list[int]]:
        out: dict[str, list[int]] = defaultdict(lambda: [0, 0])
        for p, values in self.by.get(feature, {}).items():
            if p >= pos:
                for value, (lost, won) in values.items():
                    out[value][0] += lost
                    out[value][1] += won
        return out


async def _counts(process_id: int, *, closed_before: datetime | None = None,
                  exclude_ids: list[int] | None = None) -> Counts:
    conn = connections.get("default")
    params: list[Any] = [process_id]
    where = [f"d.process_id = {_ph(conn, 1)}", "st.kind IN ('won', 'lost')",
             "d.archived_at IS NULL"]
    if closed_before is not None:
        params.append(closed_before)
        where.append(f"d.closed_at < {_ph(conn, len(params))}")
    if exclude_ids:
        where.append(f"d.id NOT IN ({', '.join(str(int(i)) for i in exclude_ids)})")
    base = f"""
        WITH reached AS (
            SELECT e.deal_id, MAX(s.position) AS pos
            FROM deal_event e JOIN deal_stage s ON s.id = e.to_stage_id
            JOIN deal d ON d.id = e.deal_id
            WHERE s.kind = 'open' AND d.process_id = {int(process_id)} AND d.closed_at IS NOT NULL
            GROUP BY e.deal_id)
        SELECT r.pos AS pos, CASE WHEN st.kind = 'won' THEN 1 ELSE 0 END AS won, {{f}} AS v,
               COUNT(*) AS n
        FROM deal d JOIN deal_stage st ON st.id = d.stage_id
        JOIN client c ON c.id = d.client_id JOIN reached r ON r.deal_id = d.id
        WHERE {' AND '.join(where)}
        GROUP BY r.pos, CASE WHEN st.kind = 'won' THEN 1 ELSE 0 END, {{f}}"""
    counts = Counts()
    for feature in FEATURES:
        sql = base.replace("{f}", FEATURE_SQL[feature])
        _, rows = await conn.execute_query(sql, params)
        table: dict[int, dict[str, list[int]]] = defaultdict(lambda: defaultdict(
            lambda: [0, 0]))
        for row in rows:
            pos, won, value, n = int(row["pos"]), int(row["won"]), str(row["v"]), int(row["n"])
            table[pos][value][won] += n
            if feature == FEATURES[0]:
                counts.totals.setdefault(pos, [0, 0])[won] += n
        counts.by[feature] = table
    counts.positions = sorted(counts.totals)
    return counts


_CACHE: dict[int, tuple[float, Counts]] = {}


async def counts_for(process_id: int, *, fresh: bool = False) -> Counts:
    hit = _CACHE.get(process_id)
    if hit is None or fresh or time.monotonic() - hit[0] > CACHE_SECONDS:
        hit = (time.monotonic(), await _counts(process_id))
        _CACHE[process_id] = hit
    return hit[1]


def refresh() -> None:
    """Forget the counts (a nightly recompute, or a test that made history)."""
    _CACHE.clear()


# ---- one estimate ------------------------------------------------------------------------

@dataclass
class Estimate:
    value: int
    basis: str  # model | stages | default | override | closed
    factors: list[list[Any]] = field(default_factory=list)  # [feature, value, ratio]


def estimate(counts: Counts, stage: Stage, features: dict[str, str]) -> Estimate:
    if stage.kind == StageKind.WON:
        return Estimate(100, "closed")
    if stage.kind == StageKind.LOST:
        return Estimate(0, "closed")
    lost, won = counts.past(stage.position)
    n = lost + won
    if n < MIN_STAGES:
        return Estimate(stage.probability, "default")
    if n < MIN_MODEL or won == 0 or lost == 0:
        return Estimate(_clamp(100 * won / n), "stages")
    log_odds = math.log(won / lost)
    moves = []
    for feature in FEATURES:
        table = counts.feature_past(feature, stage.position)
        k = len(table) + 1
        seen = table.get(features.get(feature, "None"), [0, 0])
        ratio = ((seen[1] + 1) / (won + k)) / ((seen[0] + 1) / (lost + k))
        log_odds += math.log(ratio)
        moves.append([feature, features.get(feature, "None"), round(ratio, 2)])
    moves.sort(key=lambda m: -abs(math.log(m[2])))
    value = 100 / (1 + math.exp(-log_odds))
    return Estimate(_clamp(value), "model", [m for m in moves[:3] if m[2] != 1.0])


def _clamp(value: float) -> int:
    return max(1, min(99, round(value)))


def features_of(source_id: Any, owner_id: Any, kind: Any, amount: Any) -> dict[str, str]:
    return {"source": str(source_id), "owner": str(owner_id), "kind": str(kind),
            "band": band_of(None if amount is None else Decimal(str(amount)))}


async def recompute_deal(deal: Deal) -> Estimate:
    """The deal's probability anew (after a move or a change of its fields); ``deal``
    with its ``stage`` and ``client`` loaded, as the caller has them."""
    result = estimate(await counts_for(deal.process_id), deal.stage, features_of(
        deal.source_id, deal.owner_id, deal.client.kind, deal.amount))
    await Deal.filter(id=deal.id).update(probability=result.value,
                                         probability_basis=result.basis,
                                         probability_factors=result.factors)
    deal.probability, deal.probability_basis, deal.probability_factors = (
        result.value, result.basis, result.factors)
    return result


async def recompute_all(*, process_id: int | None = None,
                        deal_ids: list[int] | None = None) -> int:
    """Every open deal's probability, process by process, in batches (nightly);
    ``deal_ids``: only those (their owner changed: A-5's hand-over), counts as cached."""
    if deal_ids is None:
        refresh()
    conn, done = connections.get("default"), 0
    mine = Deal.filter(archived_at=None, closed_at=None, **(
        {} if deal_ids is None else {"id__in": deal_ids}))
    processes = [process_id] if process_id else await mine.distinct().values_list(
        "process_id", flat=True)
    for pid in processes:
        counts = await counts_for(pid, fresh=deal_ids is None)
        stages = {s.id: s for s in await Stage.filter(process_id=pid)}
        last_id = 0
        while True:
            rows = await mine.filter(process_id=pid, id__gt=last_id).order_by("id").limit(
                BATCH).values_list(
                "id", "stage_id", "source_id", "owner_id", "client__kind", "amount")
            if not rows:
                break
            last_id = rows[-1][0]
            updates = []
            for deal_id, stage_id, source_id, owner_id, kind, amount in rows:
                est = estimate(counts, stages[stage_id],
                               features_of(source_id, owner_id, kind, amount))
                updates.append((est.value, est.basis, _json(est.factors), deal_id))
            p = [_ph(conn, i) for i in (1, 2, 3, 4)]
            async with in_transaction() as tx:
                await tx.execute_many(
                    f"UPDATE deal SET probability = {p[0]}, probability_basis = {p[1]}, "
                    f"probability_factors = {p[2]} WHERE id = {p[3]}", updates)
            done += len(rows)
    return done


def _json(value: Any) -> str:
    import json

    return json.dumps(value, separators=(",", ":"))


def shown(deal: Deal) -> Estimate:
    """What the card shows: the override as such, else the stored estimate."""
    if deal.probability_override is not None:
        return Estimate(deal.probability_override, "override")
    if deal.probability is None:
        return Estimate(getattr(deal.stage, "probability", 0), "default")
    return Estimate(deal.probability, deal.probability_basis or "default",
                    deal.probability_factors or [])


@dataclass
class Factor:
    """One of an estimate's top factors with what it names: the source (a dictionary
    item), the owner (a person); a client kind or an amount band is a code."""

    feature: str  # source | owner | kind | band
    value: str  # the source's or owner's id, "company"/"individual", "b0".."b3"/"none"
    ratio: float  # how it moves the odds of winning (above 1: towards a win)
    subject: Any = None  # the DictionaryItem or the User; None when not given or gone

    @property
    def item(self) -> Any:  # the advertising source
        return self.subject if self.feature == "source" else None

    @property
    def person(self) -> Any:  # the owner
        return self.subject if self.feature == "owner" else None


async def factors_of(est: Estimate) -> list[Factor]:
    """``est``'s factors with their sources and owners fetched (two queries at most);
    a stored shape this version does not know is left out."""
    known = []
    for raw in est.factors or []:
        try:
            known.append((str(raw[0]), str(raw[1]), float(raw[2])))
        except (IndexError, TypeError, ValueError):
            continue

    def ids(feature: str) -> list[int]:
        return [int(v) for f, v, _ in known if f == feature and v.isdigit()]

    sources = {i.id: i for i in await DictionaryItem.filter(id__in=ids("source"))} \
        if ids("source") else {}
    owners = {u.id: u for u in await User.filter(id__in=ids("owner"))} \
        if ids("owner") else {}
    out = []
    for feature, value, ratio in known:
        subject = None
        if value.isdigit():
            subject = (sources if feature == "source" else owners if feature == "owner"
                       else {}).get(int(value))
        out.append(Factor(feature, value, ratio, subject))
    return out


async def report_departments(actor: User) -> list[Department]:
    """The departments a person may narrow the deal reports to: an admin every one, a
    head those of their subtree, a manager none (they see their own deals only)."""
    if actor.role == Role.ADMIN:
        return await Department.all().order_by("name")
    if actor.role == Role.HEAD and actor.department_id is not None:
        ids = await department_subtree_ids(actor.department_id)
        return await Department.filter(id__in=list(ids)).order_by("name")
    return []


async def explained(deal: Deal) -> tuple[Estimate, list[Factor]]:
    """What the card shows (:func:`shown`) with its factors' sources and owners named."""
    est = shown(deal)
    return est, await factors_of(est)


# ---- honesty -------------------------------------------------------------------------------

@dataclass
class Brier:
    deals: int
    points: int
    model: float | None
    baseline: float | None


async def brier(process_id: int, *, last: int = 200) -> Brier:
    """The model's and the stage-only baseline's Brier scores on the last ``last``
    closed deals, each trained on deals closed before the first of them."""
    test = await Deal.filter(process_id=process_id, archived_at=None,
                             stage__kind__in=[StageKind.WON, StageKind.LOST]).order_by(
        "-closed_at", "-id").limit(last).values(
        "id", "stage__kind", "source_id", "owner_id", "client__kind", "amount", "closed_at")
    if not test:
        return Brier(0, 0, None, None)
    cutoff = min(t["closed_at"] for t in test)
    counts = await _counts(process_id, closed_before=cutoff,
                           exclude_ids=[t["id"] for t in test])
    stages = {s.id: s for s in await Stage.filter(process_id=process_id)}
    conn = connections.get("default")
    ids = ", ".join(str(int(t["id"])) for t in test)
    _, rows = await conn.execute_query(
        f"SELECT DISTINCT deal_id, to_stage_id FROM deal_event WHERE deal_id IN ({ids})")
    passed: dict[int, list[Stage]] = defaultdict(list)
    for row in rows:
        stage = stages.get(row["to_stage_id"])
        if stage is not None and stage.kind == StageKind.OPEN:
            passed[row["deal_id"]].append(stage)
    model_err, base_err, points = 0.0, 0.0, 0
    for t in test:
        outcome = 1.0 if t["stage__kind"] == StageKind.WON else 0.0
        feats = features_of(t["source_id"], t["owner_id"], t["client__kind"], t["amount"])
        for stage in passed.get(t["id"], []):
            est = estimate(counts, stage, feats)
            lost, won = counts.past(stage.position)
            base = won / (lost + won) if lost + won else stage.probability / 100
            model_err += (est.value / 100 - outcome) ** 2
            base_err += (base - outcome) ** 2
            points += 1
    if not points:
        return Brier(len(test), 0, None, None)
    return Brier(len(test), points, round(model_err / points, 4),
                 round(base_err / points, 4))


# ---- the funnel ----------------------------------------------------------------------------

@dataclass
class FunnelRow:
    stage: Stage
    entered: int = 0
    moved_on: int = 0
    lost: int = 0
    still: int = 0
    median_days: float | None = None
    p90_days: float | None = None
    bottleneck: list[str] = field(default_factory=list)  # conversion | time

    @property
    def conversion(self) -> float | None:
        decided = self.moved_on + self.lost
        return None if not decided else round(self.moved_on / decided, 3)


@dataclass
class Funnel:
    rows: list[FunnelRow]
    weighted: dict[str, Decimal]  # currency -> sum of amount x probability
    open_total: dict[str, Decimal]


def counted_for(actor: User, department_id: int | None, owner_id: int | None) -> tuple:
    """(department, person) a report says it counts: a manager's own whatever they asked
    (as :func:`_scope` counts), else what was asked."""
    return (None, actor.id) if actor.role == Role.MANAGER else (department_id, owner_id)


async def _scope(actor: User, department_id: int | None, owner_id: int | None
                 ) -> tuple[list[int] | None, int | None]:
    """Whose deals a person may count: a manager their own, a head their departments'
    (one of them if asked), an admin anyone's."""
    if actor.role == Role.MANAGER:
        return None, actor.id
    if actor.role == Role.HEAD:
        mine = await department_subtree_ids(actor.department_id) if actor.department_id \
            else set()
        if department_id is not None:
            depts = (await department_subtree_ids(department_id)) & mine
        else:
            depts = mine
        return sorted(depts) or [-1], owner_id
    if department_id is not None:
        return sorted(await department_subtree_ids(department_id)), owner_id
    return None, owner_id


async def funnel(actor: User, process_id: int, start: datetime, end: datetime, *,
                 department_id: int | None = None, owner_id: int | None = None) -> Funnel:
    depts, owner = await _scope(actor, department_id, owner_id)
    conn = connections.get("default")
    params: list[Any] = [process_id, start, end]
    where = [f"e.process_id = {_ph(conn, 1)}", f"e.at >= {_ph(conn, 2)}",
             f"e.at < {_ph(conn, 3)}", "s.kind = 'open'"]
    _narrow(conn, where, params, depts, owner, "e.department_id", "e.owner_id")
    sqlite = conn.capabilities.dialect == "sqlite"
    days = ("(julianday(nx.at) - julianday(e.at))" if sqlite
            else "(EXTRACT(EPOCH FROM (nx.at - e.at)) / 86400.0)")
    # the cohort: each entry into an open stage in the period, with what came next (the
    # next event's columns all in the index on (deal, seq), so no row is read); archived
    # deals are few — one set to leave out, not a look-up of each entry's deal
    cohort = f"""
        WITH c AS (
          SELECT e.to_stage_id AS sid, s.position AS pos, nx.seq AS nid, ns.kind AS nk,
                 ns.position AS np, {days} AS dur
          FROM deal_event e JOIN deal_stage s ON s.id = e.to_stage_id
          LEFT JOIN deal_event nx ON nx.deal_id = e.deal_id AND nx.seq = e.seq + 1
          LEFT JOIN deal_stage ns ON ns.id = nx.to_stage_id
          WHERE {' AND '.join(where)} AND e.deal_id NOT IN (
            SELECT id FROM deal WHERE archived_at IS NOT NULL))"""
    counts = """COUNT(*) AS entered, COUNT(nid) AS n_left,
            SUM(CASE WHEN nk = 'lost' THEN 1 ELSE 0 END) AS lost,
            SUM(CASE WHEN nk = 'won' OR (nk = 'open' AND np > pos) THEN 1 ELSE 0 END)
              AS moved"""
    medians: dict[int, tuple[float, float]] = {}
    if not sqlite:
        # PostgreSQL: the quantiles are ordered-set aggregates of the same one pass
        # (linear interpolation between the nearest ranks; stays still going are NULL)
        _, rows = await conn.execute_query(cohort + f"""
            SELECT sid, {counts},
              percentile_cont(0.5) WITHIN GROUP (ORDER BY dur) AS med,
              percentile_cont(0.9) WITHIN GROUP (ORDER BY dur) AS p90
            FROM c GROUP BY sid""", params)
        medians = {r["sid"]: (round(float(r["med"]), 1), round(float(r["p90"]), 1))
                   for r in rows if r["med"] is not None}
    else:
        # SQLite has no percentile: each stage's counts (window sums) on its first row,
        # and the rows around the median and the 90th percentile of the stays that ended
        # (numbered first, by length) — one sort, one pass
        _, ranked = await conn.execute_query(cohort + """
            SELECT sid, dur, nid, rn, n_left, entered, lost, moved FROM (
              SELECT sid, dur, nid, ROW_NUMBER() OVER w AS rn,
                COUNT(*) OVER a AS entered, COUNT(nid) OVER a AS n_left,
                SUM(CASE WHEN nk = 'lost' THEN 1 ELSE 0 END) OVER a AS lost,
                SUM(CASE WHEN nk = 'won' OR (nk = 'open' AND np > pos) THEN 1 ELSE 0 END)
                  OVER a AS moved
              FROM c
              WINDOW w AS (PARTITION BY sid ORDER BY CASE WHEN nid IS NULL THEN 1 ELSE 0 END,
                                                     dur),
                     a AS (w ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING)) r
            WHERE rn = 1 OR (nid IS NOT NULL AND rn - 1 IN (
              (n_left - 1) * 5 / 10, (n_left - 1) * 5 / 10 + 1,
              (n_left - 1) * 9 / 10, (n_left - 1) * 9 / 10 + 1))""", params)
        rows = [r for r in ranked if int(r["rn"]) == 1]
        around: dict[int, dict[int, float]] = defaultdict(dict)
        sizes: dict[int, int] = {}
        for row in ranked:
            if row["nid"] is not None and int(row["n_left"] or 0) > 0:
                around[row["sid"]][int(row["rn"]) - 1] = float(row["dur"])
                sizes[row["sid"]] = int(row["n_left"])
        medians = {sid: (_between(around[sid], n, 0.5), _between(around[sid], n, 0.9))
                   for sid, n in sizes.items()}
    stages = [s for s in await Stage.filter(process_id=process_id, archived=False).order_by(
        "position", "id") if s.kind == StageKind.OPEN]
    by_id = {s.id: FunnelRow(s) for s in stages}
    for row in rows:
        item = by_id.get(row["sid"])
        if item is not None:
            item.entered, item.lost = int(row["entered"]), int(row["lost"] or 0)
            item.still = item.entered - int(row["n_left"] or 0)
            item.moved_on = int(row["moved"] or 0)
            item.median_days, item.p90_days = medians.get(row["sid"], (None, None))
    rated = [r for r in by_id.values() if r.conversion is not None and r.entered >= 5]
    if rated:
        min(rated, key=lambda r: r.conversion).bottleneck.append("conversion")
    timed = [r for r in by_id.values() if r.median_days is not None and r.entered >= 5]
    if timed:
        max(timed, key=lambda r: r.median_days).bottleneck.append("time")
    weighted, totals = await _weighted(process_id, depts, owner)
    return Funnel([by_id[s.id] for s in stages], weighted, totals)


def _between(values: dict[int, float], n: int, q: float) -> float:
    """The q-quantile of n sorted values of which those around it are given by index
    (linear interpolation between the two nearest ranks)."""
    k = (n - 1) * q
    lo = int(k)
    hi = min(lo + 1, n - 1)
    return round(values[lo] + (values.get(hi, values[lo]) - values[lo]) * (k - lo), 1)


def _aware(value: Any) -> datetime:
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value if value.tzinfo else value.replace(tzinfo=utcnow().tzinfo)


async def _weighted(process_id: int, depts: list[int] | None, owner: int | None
                    ) -> tuple[dict[str, Decimal], dict[str, Decimal]]:
    conn = connections.get("default")
    params: list[Any] = [process_id]
    where = [f"d.process_id = {_ph(conn, 1)}", "s.kind = 'open'", "d.archived_at IS NULL",
             "d.amount IS NOT NULL"]
    _narrow(conn, where, params, depts, owner, "u.department_id", "d.owner_id")
    _, rows = await conn.execute_query(f"""
        SELECT d.currency AS cur, SUM(d.amount) AS total,
          SUM(d.amount * COALESCE(d.probability_override, d.probability, s.probability))
            AS weighted
        FROM deal d JOIN deal_stage s ON s.id = d.stage_id
        JOIN staff_user u ON u.id = d.owner_id
        WHERE {' AND '.join(where)} GROUP BY d.currency""", params)
    weighted = {r["cur"]: (Decimal(str(r["weighted"] or 0)) / 100).quantize(Decimal("0.01"))
                for r in rows}
    totals = {r["cur"]: Decimal(str(r["total"] or 0)).quantize(Decimal("0.01")) for r in rows}
    return weighted, totals


# ---- lost deals ------------------------------------------------------------------------------

@dataclass
class LostLine:
    key: Any  # a reason's, competitor's, stage's or owner's id (None: not given)
    name: str
    count: int
    amount: Decimal  # every currency added (see amounts)
    amounts: dict[str, Decimal] = field(default_factory=dict)  # the sum per currency
    subject: Any = None  # the reason (a DictionaryItem) or the Stage, to name them


async def lost_analysis(actor: User, start: datetime, end: datetime, by: str, *,
                        process_id: int | None = None, department_id: int | None = None,
                        owner_id: int | None = None) -> list[LostLine]:
    """U-6: deals lost in the period by ``by`` (reason, competitor, stage, owner); whose
    as in :func:`funnel` (a manager's own, whatever they ask)."""
    column = {"reason": ("d.lost_reason_id", "r.name"),
              "competitor": ("d.competitor_id", "k.name"),
              "stage": ("e.from_stage_id", "fs.name"),
              "owner": ("d.owner_id", "u.full_name")}[by]
    depts, owner = await _scope(actor, department_id, owner_id)
    conn = connections.get("default")
    params: list[Any] = [start, end]
    where = ["s.kind = 'lost'", f"d.closed_at >= {_ph(conn, 1)}",
             f"d.closed_at < {_ph(conn, 2)}", "d.archived_at IS NULL"]
    if process_id is not None:
        params.append(process_id)
        where.append(f"d.process_id = {_ph(conn, len(params))}")
    _narrow(conn, where, params, depts, owner, "u.department_id", "d.owner_id")
    _, rows = await conn.execute_query(f"""
        SELECT {column[0]} AS k, d.currency AS cur, MAX({column[1]}) AS name,
               COUNT(*) AS n, SUM(COALESCE(d.amount, 0)) AS total
        FROM deal d JOIN deal_stage s ON s.id = d.stage_id
        JOIN staff_user u ON u.id = d.owner_id
        LEFT JOIN deal_event e ON e.deal_id = d.id AND e.seq = d.version
        LEFT JOIN deal_stage fs ON fs.id = e.from_stage_id
        LEFT JOIN dictionary_item r ON r.id = d.lost_reason_id
        LEFT JOIN client k ON k.id = d.competitor_id
        WHERE {' AND '.join(where)}
        GROUP BY {column[0]}, d.currency""", params)
    lines: dict[Any, LostLine] = {}
    for r in rows:
        line = lines.setdefault(r["k"], LostLine(r["k"], r["name"] or "", 0, Decimal(0)))
        total = Decimal(str(r["total"] or 0)).quantize(Decimal("0.01"))
        line.count += int(r["n"])
        line.amount += total
        if total:
            line.amounts[r["cur"]] = line.amounts.get(r["cur"], Decimal(0)) + total
    keys = [k for k in lines if k is not None]
    if keys and by in ("reason", "stage"):
        model = DictionaryItem if by == "reason" else Stage
        for obj in await model.filter(id__in=keys):
            lines[obj.id].subject = obj
    return sorted(lines.values(), key=lambda line: (-line.count, line.name))
