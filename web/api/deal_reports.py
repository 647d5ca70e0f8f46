"""/api/v1 deal reports (issue 12: U-5, U-6, U-7): the cohort funnel of a process for a
period with the weighted pipeline, lost deals by reason, competitor, stage or owner,
the probability model's Brier score against the stage-only baseline, and claims per
client or product. Every number comes from services.deal_stats and
services.deal_execution; the Mini App's deal reports page renders these same models.

Whose deals are counted: a manager's own (a department or a colleague asked for is not
theirs to see, so their own are counted and the answer says so), a head's departments
(one of them, or one person in them, if asked), an admin's anyone's. A period is
``start`` (inclusive) to ``end`` (exclusive), this quarter in the person's time zone by
default. Money is a string with a decimal point, per currency."""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Literal
from zoneinfo import ZoneInfo

from aiohttp import web
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from kontakt import labels
from kontakt.i18n import translator
from models import User
from services import deal_execution, deal_stats
from services import deals as svc
from services.clock import utcnow
from services.dictionaries import SEEDED_ITEM_NAMES
from services.errors import N_, NotFound, ValidationFailed
from web.api.deal_schemas import ID, MONEY, ProcessRef, StageOut, money
from web.api.deals import _stage
from web.api.routes import api

LOST_BY = Literal["reason", "competitor", "stage", "owner"]
CLAIMS_BY = Literal["client", "product"]
NOT_AFTER = N_("must be after the start")


def quarter(day: date) -> tuple[date, date]:
    """The first day of ``day``'s quarter and of the next one."""
    first = date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)
    nxt = date(first.year + (first.month == 10), (first.month + 2) % 12 + 1, 1)
    return first, nxt


def period(user: User, start: datetime | None, end: datetime | None
           ) -> tuple[datetime, datetime]:
    """The period asked for, this quarter in the person's zone for what is missing."""
    tz = ZoneInfo(user.timezone)
    first, nxt = quarter(utcnow().astimezone(tz).date())
    start = start or datetime.combine(first, time(0), tz)
    end = end or datetime.combine(nxt, time(0), tz)
    if end <= start:
        raise ValidationFailed("end", NOT_AFTER)
    return start, end


async def process_of(process_id: int | None):
    """The process asked for, else the first sale process (404 for one that is not)."""
    types = await svc.process_types()
    if process_id is None:
        found = next((p for p in types if str(p.kind) == "sale"), types[0] if types else None)
    else:
        found = next((p for p in types if p.id == process_id), None)
    if found is None:
        raise NotFound("process")
    return found


def _ref(p, gettext) -> ProcessRef:
    return ProcessRef(id=p.id, name=labels.process_name(p, gettext), kind=str(p.kind),
                      mode=str(p.mode))


# ---- the funnel (U-5) -----------------------------------------------------------------------

class FunnelQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")
    process_id: int | None = Field(default=None, **ID, description="the first sale process "
                                   "by default")
    start: AwareDatetime | None = Field(default=None, description="this quarter's start in "
                                        "one's zone by default")
    end: AwareDatetime | None = Field(default=None, description="exclusive; the next "
                                      "quarter's start by default")
    department_id: int | None = Field(default=None, **ID, description="heads and admins: "
                                      "one department (with those under it)")
    owner_id: int | None = Field(default=None, **ID, description="heads and admins: one "
                                 "person's deals")


class FunnelRowOut(BaseModel):
    stage: StageOut
    entered: int = Field(description="deals that entered the stage in the period (the "
                                     "cohort)")
    moved_on: int = Field(description="... and went on to a later stage or won")
    lost: int = Field(description="... and were lost there")
    still: int = Field(description="... and are there still")
    conversion: float | None = Field(description="moved on / (moved on + lost), 0..1; null "
                                                 "while none has left")
    median_days: float | None = Field(description="days at the stage of those that left it")
    p90_days: float | None
    bottleneck: list[Literal["conversion", "time"]] = Field(
        description="the lowest conversion, the longest median (stages with 5 entries or "
                    "more)")


class FunnelOut(BaseModel):
    process: ProcessRef
    start: datetime
    end: datetime
    department_id: int | None = Field(description="as counted")
    owner_id: int | None = Field(description="as counted: a manager's own id always")
    rows: list[FunnelRowOut]
    weighted: dict[str, str] = Field(description="open deals' amount × probability, per "
                                                 "currency; " + MONEY)
    open_total: dict[str, str] = Field(description="open deals' amount, per currency")


async def funnel_out(user: User, query: FunnelQuery) -> FunnelOut:
    gettext = translator(str(user.language))
    start, end = period(user, query.start, query.end)
    process = await process_of(query.process_id)
    department_id, owner_id = deal_stats.counted_for(user, query.department_id, query.owner_id)
    result = await deal_stats.funnel(user, process.id, start, end,
                                     department_id=department_id, owner_id=owner_id)
    return FunnelOut(
        process=_ref(process, gettext), start=start, end=end, department_id=department_id,
        owner_id=owner_id,
        rows=[FunnelRowOut(stage=_stage(r.stage, gettext), entered=r.entered,
                           moved_on=r.moved_on, lost=r.lost, still=r.still,
                           conversion=r.conversion, median_days=r.median_days,
                           p90_days=r.p90_days, bottleneck=list(r.bottleneck))
              for r in result.rows],
        weighted={k: money(v) for k, v in sorted(result.weighted.items())},
        open_total={k: money(v) for k, v in sorted(result.open_total.items())})


@api.route("GET", "/deal-reports/funnel", summary="The cohort funnel (U-5): deals that "
           "entered each stage in the period — moved on, lost, still there, conversion, "
           "median and 90th percentile of days at the stage, bottlenecks — and the weighted "
           "pipeline per currency", query=FunnelQuery, response=FunnelOut,
           tags=["deal reports"])
async def funnel_report(request: web.Request, user: User, query: FunnelQuery):
    return await funnel_out(user, query)


# ---- lost deals (U-6) ----------------------------------------------------------------------

class LostQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")
    by: LOST_BY = "reason"
    start: AwareDatetime | None = None
    end: AwareDatetime | None = None
    process_id: int | None = Field(default=None, **ID, description="every process by "
                                   "default")
    department_id: int | None = Field(default=None, **ID, description="heads and admins")
    owner_id: int | None = Field(default=None, **ID, description="heads and admins")


class LostLineOut(BaseModel):
    key: int | None = Field(description="the reason's, competitor's, stage's or owner's id; "
                                        "null: not given (no competitor named)")
    name: str = Field(description="in the reader's language")
    count: int
    amounts: dict[str, str] = Field(description="the lost sums per currency; " + MONEY)


class LostOut(BaseModel):
    by: LOST_BY
    start: datetime
    end: datetime
    process: ProcessRef | None
    total: int
    lines: list[LostLineOut]


def _lost_name(line: deal_stats.LostLine, by: str, gettext) -> str:
    if line.key is None:
        return gettext({"competitor": N_("no competitor named"),
                        "reason": N_("no reason given")}.get(by, N_("not given")))
    if by == "reason" and line.subject is not None:
        return labels.item_name(line.subject, gettext, SEEDED_ITEM_NAMES)
    if by == "stage" and line.subject is not None:
        return labels.stage_name(line.subject, gettext)
    return line.name or "—"


async def lost_out(user: User, query: LostQuery) -> LostOut:
    gettext = translator(str(user.language))
    start, end = period(user, query.start, query.end)
    process = await process_of(query.process_id) if query.process_id else None
    department_id, owner_id = deal_stats.counted_for(user, query.department_id, query.owner_id)
    lines = await deal_stats.lost_analysis(
        user, start, end, query.by, process_id=process.id if process else None,
        department_id=department_id, owner_id=owner_id)
    return LostOut(by=query.by, start=start, end=end,
                   process=_ref(process, gettext) if process else None,
                   total=sum(line.count for line in lines),
                   lines=[LostLineOut(key=line.key, name=_lost_name(line, query.by, gettext),
                                      count=line.count,
                                      amounts={k: money(v) for k, v in
                                               sorted(line.amounts.items())})
                          for line in lines])


@api.route("GET", "/deal-reports/lost", summary="Deals lost in the period (U-6) by reason, "
           "competitor, the stage they were lost at, or owner: how many, how much",
           query=LostQuery, response=LostOut, tags=["deal reports"])
async def lost_report(request: web.Request, user: User, query: LostQuery):
    return await lost_out(user, query)


# ---- the model's honesty (U-5) -------------------------------------------------------------

class BrierQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")
    process_id: int | None = Field(default=None, **ID)
    last: int = Field(default=200, ge=10, le=2000, description="the last closed deals "
                                                               "scored")


class BrierOut(BaseModel):
    process: ProcessRef
    deals: int = Field(description="closed deals scored")
    points: int = Field(description="forecasts scored: one per open stage each went "
                                    "through")
    model: float | None = Field(description="the model's Brier score (0 perfect, 0.25 a "
                                            "coin toss); null with no closed deals")
    baseline: float | None = Field(description="the stage-only baseline's")
    verdict: Literal["better", "worse", "same"] | None = Field(
        description="the model against the baseline")
    explanation: str = Field(description="one line in the reader's language")


BRIER_WHAT = N_("The Brier score is the mean squared gap between the forecast chance and "
                "what happened: 0 is perfect, 0.25 is a coin toss, lower is better.")
BRIER_VERDICTS = {"better": N_("The model forecasts better than the stages alone."),
                  "worse": N_("The model forecasts worse than the stages alone."),
                  "same": N_("The model forecasts as well as the stages alone."),
                  None: N_("Too few closed deals to score yet.")}


async def brier_out(user: User, query: BrierQuery) -> BrierOut:
    gettext = translator(str(user.language))
    process = await process_of(query.process_id)
    result = await deal_stats.brier(process.id, last=query.last)
    verdict = None  # too few to tell: the model has not had its minimum to learn from
    if result.model is not None and result.baseline is not None and \
            result.deals >= deal_stats.MIN_STAGES:
        gap = result.model - result.baseline
        verdict = "same" if abs(gap) < 0.005 else "better" if gap < 0 else "worse"
    return BrierOut(process=_ref(process, gettext), deals=result.deals, points=result.points,
                    model=result.model, baseline=result.baseline, verdict=verdict,
                    explanation=f"{gettext(BRIER_VERDICTS[verdict])} {gettext(BRIER_WHAT)}")


@api.route("GET", "/deal-reports/brier", summary="How good the win probability is (U-5): "
           "the Brier score on the last closed deals, each forecast made from deals closed "
           "before them, against the stage-only baseline", query=BrierQuery,
           response=BrierOut, tags=["deal reports"])
async def brier_report(request: web.Request, user: User, query: BrierQuery):
    return await brier_out(user, query)


# ---- claims (U-7) --------------------------------------------------------------------------

class ClaimQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")
    by: CLAIMS_BY = "client"
    start: AwareDatetime | None = None
    end: AwareDatetime | None = None
    department_id: int | None = Field(default=None, **ID, description="heads and admins")
    owner_id: int | None = Field(default=None, **ID, description="heads and admins")


class ClaimLineOut(BaseModel):
    key: int | None = Field(description="the client's or product's id; null: no product")
    name: str
    claims: int = Field(description="claims opened in the period")
    our_fault: int
    open: int = Field(description="not closed yet")
    median_days: float | None = Field(description="days from opening to closing")


class ClaimsOut(BaseModel):
    by: CLAIMS_BY
    start: datetime
    end: datetime
    total: int
    lines: list[ClaimLineOut]


async def claims_out(user: User, query: ClaimQuery) -> ClaimsOut:
    gettext = translator(str(user.language))
    start, end = period(user, query.start, query.end)
    department_id, owner_id = deal_stats.counted_for(user, query.department_id, query.owner_id)
    lines = await deal_execution.claim_stats(user, query.by, start, end,
                                             department_id=department_id, owner_id=owner_id)
    return ClaimsOut(by=query.by, start=start, end=end,
                     total=sum(line.claims for line in lines),
                     lines=[ClaimLineOut(key=line.key,
                                         name=line.name or gettext("no product"),
                                         claims=line.claims, our_fault=line.our_fault,
                                         open=line.open, median_days=line.median_days)
                            for line in lines])


@api.route("GET", "/deal-reports/claims", summary="Claims opened in the period (U-7) per "
           "client or product: how many, how many our fault, still open, median days to "
           "close", query=ClaimQuery, response=ClaimsOut, tags=["deal reports"])
async def claims_report(request: web.Request, user: User, query: ClaimQuery):
    return await claims_out(user, query)

