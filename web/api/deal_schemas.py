"""The /api/v1 deals' models (issue 12: U-1, U-2, U-5, U-6, U-7): what goes out (a
deal's row and card, its probability, moves, the pipeline, process types) and what comes
in (filters, a new deal, a change, a move, lost, the team, a process type with its
stages). The routes are in web/api/deals.py and web/api/process_types.py.

Money is a string with a decimal point (``"150000.50"``), never a JSON number; a sum
sent in is a string too, as people type it (``"150 000,50"``)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from kontakt import labels
from models import PartyLinkKind, PartyRole, Stance
from services import deal_processes as processes
from services import deal_stats
from services import deals as svc
from services.deal_processes import REQUIREMENTS
from services.errors import N_
from web.api.activities import Ref
from web.api.framework import MAX_ID

CURRENCY = Literal["RUB", "UAH", "USD", "EUR", "KZT", "BYN"]
STATE = Literal["open", "won", "lost", "all"]
STAGE_KIND = Literal["open", "won", "lost"]
ROLE = Literal["decision_maker", "influencer", "user", "competitor", "subcontractor",
               "partner", "dealer"]
STANCE = Literal["supporter", "neutral", "opponent", "unknown"]
LINK_KIND = Literal["influences", "reports_to", "works_with", "competes_with"]
BASIS = Literal["model", "stages", "default", "override", "closed"]
FEATURE = Literal["source", "owner", "kind", "band"]
REQUIREMENT = Literal["amount", "expected_close", "contact", "tasks_done", "order_posted"]
ABOUT_DEAL = N_("the deal the claim is about")
MONEY = "a sum of money as a string with a decimal point, e.g. \"150000.50\""
ID = {"ge": 1, "le": MAX_ID}

assert set(CURRENCY.__args__) == set(svc.CURRENCIES)
assert set(REQUIREMENT.__args__) == set(REQUIREMENTS)
assert set(ROLE.__args__) == set(PartyRole) == set(labels.PARTY_ROLES)
assert set(STANCE.__args__) == set(Stance) == set(labels.STANCES)
assert set(LINK_KIND.__args__) == set(PartyLinkKind) == set(labels.LINK_KINDS)
assert set(FEATURE.__args__) == set(deal_stats.FEATURES) == set(labels.FACTOR_FEATURES)


def money(value: Decimal | None) -> str | None:
    return None if value is None else f"{value:.2f}"


# ---- what goes out -------------------------------------------------------------------

class StageOut(BaseModel):
    id: int
    name: str = Field(description="as the reader reads it (a seeded stage in their "
                                  "language)")
    kind: STAGE_KIND
    position: int
    probability: int
    requires: list[str]
    skippable: bool
    days_limit: int | None


class StageFull(StageOut):
    stored_name: str = Field(description="the name as stored (what the editor keeps when "
                                         "it is not changed)")
    instructions: str | None
    playbook_id: int | None


class ProcessOut(BaseModel):
    id: int
    code: str | None
    name: str = Field(description="as the reader reads it")
    stored_name: str
    kind: Literal["sale", "claim", "partner", "execution"]
    kind_name: str
    mode: Literal["managed", "simple"]
    mode_name: str
    regulation: str | None
    archived: bool
    next_process_id: int | None = Field(description="U-7: what a won deal goes on as")
    stages: list[StageFull]


class ProcessList(BaseModel):
    items: list[ProcessOut]


class NextStepOut(BaseModel):
    id: int
    title: str
    at: datetime
    type: str = Field(description="the activity type's icon and name")


class DealRowOut(BaseModel):
    id: int
    title: str
    client: Ref
    process_id: int
    stage: StageOut
    owner: Ref
    amount: str | None = Field(description=MONEY)
    currency: str
    expected_close: date | None
    next_step: NextStepOut | None
    no_next_step: bool = Field(description="an open deal with no open next step: flagged")
    in_stage_since: datetime
    days_in_stage: int


class DealList(BaseModel):
    items: list[DealRowOut]
    total: int
    page: int
    per_page: int


class MoveOption(BaseModel):
    stage: StageOut
    refused: str | None = Field(description="why a move there is refused now, in the "
                                            "reader's language; null: it may go there")


class EventOut(BaseModel):
    seq: int
    at: datetime
    from_stage: str | None
    to_stage: str
    to_kind: STAGE_KIND
    user: str | None
    source: str
    text: str = Field(description="the event as the reader reads it: their language, "
                                  "their time zone")


class DealActivityOut(BaseModel):
    id: int
    title: str
    type: str
    state: str
    state_name: str
    starts_at: datetime | None
    result: str | None


class ProcessRef(BaseModel):
    id: int
    name: str
    kind: str
    mode: str


class FactorOut(BaseModel):
    feature: FEATURE
    feature_name: str = Field(description="in the reader's language: source, owner, "
                                          "client, amount")
    value: str = Field(description="the source's or owner's id, the client's kind "
                                   "(company, individual), the amount band (none, b0..b3)")
    value_name: str = Field(description="readable: the source's name, the person's name, "
                                        "company or individual, \"under 100 000\"...")
    ratio: float = Field(description="how it moves the odds of winning: above 1 towards "
                                     "a win, below 1 away from it")
    ratio_text: str = Field(description="e.g. \"×2.7\" (a decimal comma in Russian and "
                                        "Ukrainian)")
    text: str = Field(description="e.g. \"source: Referral ×2.7\"")


class ProbabilityOut(BaseModel):
    value: int = Field(description="what the card shows, percent")
    basis: BASIS = Field(description="model: naive Bayes over the company's closed deals; "
                         "stages: the share of deals won past this stage; default: the "
                         "stage's own figure; override: set by the manager; closed: won or "
                         "lost")
    basis_name: str
    factors: list[FactorOut] = Field(description="the strongest reasons (basis model)")
    override: int | None = Field(description="the manager's own figure, if set")
    estimate: int = Field(description="what Kontakt estimates, whatever the override")
    text: str = Field(description="one line as the card shows it: \"62 % · from closed "
                                  "deals · source: Referral ×2.7\"")


class DealCardOut(DealRowOut):
    contact: Ref | None
    source: Ref | None
    notes: str | None
    probability: int = Field(description="what the card shows: the manager's override if "
                             "set, else Kontakt's estimate (see probability_detail)")
    probability_override: int | None
    probability_detail: ProbabilityOut
    parent: Ref | None = Field(description="U-7: the deal a claim is about (or the sale an "
                                           "execution follows)")
    product: Ref | None = Field(description="U-7: the product a claim is about")
    resolution: str | None = Field(description="U-7: how a claim was settled")
    our_fault: bool | None = Field(description="U-7: was the claim's cause ours; null: not "
                                               "decided yet")
    process: ProcessRef
    stages: list[StageOut]
    moves: list[MoveOption]
    events: list[EventOut]
    activities: list[DealActivityOut]
    team: list[Ref]
    lost_reason: Ref | None
    competitor: Ref | None
    closed_at: datetime | None
    created_at: datetime
    version: int


class MoveOut(BaseModel):
    moved: bool = Field(description="false: the deal was already there (a double tap)")
    deal: DealCardOut


class StageSumOut(BaseModel):
    stage: StageOut
    count: int
    amount: str = Field(description=MONEY + "; all currencies added, see amounts")
    amounts: dict[str, str] = Field(description="the sum per currency")


class PipelineOut(BaseModel):
    process: ProcessOut
    stages: list[StageSumOut]


class ReasonList(BaseModel):
    items: list[Ref]


class Ok(BaseModel):
    ok: bool = True


# ---- what comes in -------------------------------------------------------------------

class DealQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")
    q: str | None = Field(default=None, max_length=100, description="in the title or the "
                                                                    "client's name")
    process_id: int | None = Field(default=None, **ID)
    stage_id: int | None = Field(default=None, **ID)
    owner_id: int | None = Field(default=None, **ID)
    client_id: int | None = Field(default=None, **ID)
    state: STATE = "open"
    mine: bool = Field(default=False, description="only one's own and those one is on "
                                                  "the team of")
    page: int = Field(default=1, ge=1, le=100000)
    per_page: int = Field(default=20, ge=1, le=100)


class DealIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    client_id: int = Field(**ID)
    process_id: int | None = Field(default=None, **ID, description="a sale by default")
    title: str | None = Field(default=None, max_length=200, description="the client's "
                                                                         "name by default")
    amount: str | None = Field(default=None, max_length=40, description=MONEY +
                               " (spaces and a decimal comma are fine)")
    currency: CURRENCY | None = None
    expected_close: date | None = None
    contact_id: int | None = Field(default=None, **ID)
    source_id: int | None = Field(default=None, **ID)
    notes: str | None = Field(default=None, max_length=5000)
    probability_override: int | None = Field(default=None, ge=0, le=100)
    owner_id: int | None = Field(default=None, **ID)
    parent_id: int | None = Field(default=None, **ID, description="U-7: for a claim, the "
                                  "deal it is about (one of the same client's)")
    product_id: int | None = Field(default=None, **ID, description="U-7: for a claim")


class DealPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")
    title: str | None = Field(default=None, max_length=200)
    amount: str | None = Field(default=None, max_length=40, description=MONEY +
                               "; null clears it")
    currency: CURRENCY | None = None
    expected_close: date | None = None
    contact_id: int | None = Field(default=None, **ID, description="null clears it")
    source_id: int | None = Field(default=None, **ID)
    notes: str | None = Field(default=None, max_length=5000)
    probability_override: int | None = Field(default=None, ge=0, le=100,
                                             description="null: Kontakt's estimate")
    owner_id: int | None = Field(default=None, **ID)
    parent_id: int | None = Field(default=None, **ID, description="U-7: the deal a claim "
                                  "is about, one of the same client's; null clears it")
    product_id: int | None = Field(default=None, **ID, description="U-7: null clears it")
    resolution: str | None = Field(default=None, max_length=5000, description="U-7: how "
                                   "the claim was settled; needed to close a claim")
    our_fault: bool | None = Field(default=None, description="U-7: needed to close a "
                                   "claim; null: not decided")


class MoveIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    stage_id: int = Field(**ID)
    lost_reason_id: int | None = Field(default=None, **ID, description="to the lost stage: "
                                       "required")
    competitor_id: int | None = Field(default=None, **ID, description="to the lost stage: "
                                      "the client who won, if known")


class LoseIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    lost_reason_id: int | None = Field(default=None, **ID, description="required: one of "
                                       "/lost-reasons")
    competitor_id: int | None = Field(default=None, **ID)


class TeamIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    user_ids: list[Annotated[int, Field(ge=1, le=MAX_ID)]] = Field(
        max_length=50, description="the team besides the owner")


class PipelineQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")
    process_id: int | None = Field(default=None, **ID, description="the first process "
                                   "type by default")
    mine: bool = False
    owner_id: int | None = Field(default=None, **ID)


class ReasonQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")
    kind: Literal["sale", "claim", "partner", "execution"] = Field(
        default="sale", description="the kind of the deal's process: a claim has its own "
        "reasons for rejection (U-7)")


class ProcessQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")
    archived: bool = Field(default=False, description="the archived ones instead")


class StageIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: int | None = Field(default=None, **ID, description="an existing stage; none: new")
    name: str = Field(max_length=100)
    kind: STAGE_KIND = "open"
    probability: int = Field(default=0, ge=0, le=100)
    requires: list[REQUIREMENT] = Field(default_factory=list, max_length=4)
    skippable: bool = True
    instructions: str | None = Field(default=None, max_length=5000)
    playbook_id: int | None = Field(default=None, **ID)
    days_limit: int | None = Field(default=None, ge=1, le=365)


class ProcessIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(max_length=100)
    kind: Literal["sale", "claim", "partner", "execution"] = "sale"
    mode: Literal["managed", "simple"] = "simple"
    next_process_id: int | None = Field(default=None, **ID, description="U-7: a won deal "
                                        "goes on as a deal of this type")
    regulation: str | None = Field(default=None, max_length=20000)
    stages: list[StageIn] = Field(min_length=1, max_length=processes.MAX_STAGES,
                                  description="in order; a stage left out is archived if "
                                              "a deal was ever in it, else deleted")
