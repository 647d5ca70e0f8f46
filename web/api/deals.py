"""/api/v1 deals (issue 12: U-1, U-2, U-6): the list with filters, the card with its
stages, moves, timeline and team, create, change, archive, move, win, lose, a task of
the deal, the pipeline of a process (count and sum per stage) and the reasons deals are
lost. Every rule is in services.deals and services.deal_moves. The models are in
web/api/deal_schemas.py; the process types and the admin's process editor are
web/api/process_types.py. Here too: the deal's environment (U-4), its people around it
and their ties.

Money is a string with a decimal point (``"150000.50"``), never a JSON number; a sum
sent in is a string too, as people type it (``"150 000,50"``)."""

from __future__ import annotations

from datetime import datetime

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from kontakt import labels
from kontakt.errors import error_message
from kontakt.formatting import local
from kontakt.history import SOURCES
from kontakt.i18n import translator
from models import DealEvent, ProcessType, Stage, User
from services import deal_cards, deal_lists, deal_moves, deal_stats
from services import deal_parties as parties
from services import deals as svc
from services.clock import utcnow
from services.dictionaries import SEEDED_ITEM_NAMES
from services.errors import ValidationFailed
from web.api.activities import ActivityIn, ActivityOut, Ref, after_change
from web.api.activities import _detail as activity_detail
from web.api.deal_schemas import (
    ABOUT_DEAL,
    ID,
    LINK_KIND,
    ROLE,
    STANCE,
    DealActivityOut,
    DealCardOut,
    DealIn,
    DealList,
    DealPatch,
    DealQuery,
    DealRowOut,
    EventOut,
    FactorOut,
    LoseIn,
    MoveIn,
    MoveOption,
    MoveOut,
    NextStepOut,
    Ok,
    PipelineOut,
    PipelineQuery,
    ProbabilityOut,
    ProcessOut,
    ProcessRef,
    ReasonList,
    ReasonQuery,
    StageFull,
    StageOut,
    StageSumOut,
    TeamIn,
    money,
)
from web.api.routes import api
from web.session import request_source

# ---- rendering -----------------------------------------------------------------------

def _stage(s: Stage, gettext) -> StageOut:
    return StageOut(id=s.id, name=labels.stage_name(s, gettext), kind=str(s.kind),
                    position=s.position, probability=s.probability,
                    requires=list(s.requires or []), skippable=s.skippable,
                    days_limit=s.days_limit)


def _process(p: ProcessType, stages: list[Stage], gettext) -> ProcessOut:
    return ProcessOut(
        id=p.id, code=p.code, name=labels.process_name(p, gettext), stored_name=p.name,
        kind=str(p.kind), kind_name=gettext(labels.PROCESS_KINDS[str(p.kind)]),
        mode=str(p.mode), mode_name=gettext(labels.PROCESS_MODES[str(p.mode)]),
        regulation=p.regulation, archived=p.archived, next_process_id=p.next_process_id,
        stages=[StageFull(**_stage(s, gettext).model_dump(), stored_name=s.name,
                          instructions=s.instructions, playbook_id=s.playbook_id)
                for s in stages])


def _days(since: datetime) -> int:
    return max(0, (utcnow() - since).days)


def _next(a, gettext) -> NextStepOut | None:
    """``a``: an activity with its type fetched, or None."""
    if a is None or a.starts_at is None:
        return None
    return NextStepOut(id=a.id, title=a.title, at=a.starts_at, type=_type(a, gettext))


def _type(a, gettext) -> str:
    return f"{a.type.icon} {labels.type_name(a.type.code, a.type.name, gettext)}".strip()


def _row(deal, stage: Stage, step, since: datetime, gettext) -> DealRowOut:
    nxt = _next(step, gettext)
    return DealRowOut(
        id=deal.id, title=deal.title, client=Ref(id=deal.client_id, name=deal.client.name),
        process_id=deal.process_id, stage=_stage(stage, gettext),
        owner=Ref(id=deal.owner_id, name=deal.owner.full_name), amount=money(deal.amount),
        currency=deal.currency, expected_close=deal.expected_close, next_step=nxt,
        no_next_step=nxt is None and str(stage.kind) == "open", in_stage_since=since,
        days_in_stage=_days(since))


def _event_text(e: DealEvent, gettext, tz: str) -> str:
    when = local(e.at, tz).strftime("%d.%m.%Y %H:%M")
    who = e.user.full_name if e.user else gettext("Kontakt")
    where = gettext(SOURCES[e.source]) if e.source in SOURCES else e.source
    to = labels.stage_name(e.to_stage, gettext)
    if e.from_stage is None:
        what = gettext("created the deal at «{stage}»").format(stage=to)
    else:
        what = f"«{labels.stage_name(e.from_stage, gettext)}» → «{to}»"
    return f"{when} · {who} ({where}): {what}"


def ratio_text(ratio: float, lang: str) -> str:
    text = f"{ratio:.1f}" if ratio < 10 else f"{ratio:.0f}"
    return "×" + (text.replace(".", ",") if lang in ("ru", "uk") else text)


def _factor_value(factor: deal_stats.Factor, gettext) -> str:
    if factor.feature == "source":
        return labels.item_name(factor.subject, gettext, SEEDED_ITEM_NAMES) \
            if factor.subject is not None else gettext("no source")
    if factor.feature == "owner":
        return factor.subject.full_name if factor.subject is not None else "—"
    if factor.feature == "kind":
        return gettext(labels.CLIENT_KINDS[factor.value]) \
            if factor.value in labels.CLIENT_KINDS else factor.value
    return gettext(labels.AMOUNT_BANDS[factor.value]) \
        if factor.value in labels.AMOUNT_BANDS else factor.value


async def probability_out(deal, gettext, lang: str) -> ProbabilityOut:
    """U-5: what the card says of a deal's chances (``deal`` with its stage loaded):
    the figure, where it comes from, its top factors named readably, the override."""
    shown = deal_stats.shown(deal)
    estimate = deal.probability if deal.probability is not None else deal.stage.probability
    factors = []
    for f in await deal_stats.factors_of(shown) if shown.basis == "model" else []:
        name = gettext(labels.FACTOR_FEATURES.get(f.feature, f.feature))
        value = _factor_value(f, gettext)
        times = ratio_text(f.ratio, lang)
        factors.append(FactorOut(feature=f.feature, feature_name=name, value=f.value,
                                 value_name=value, ratio=f.ratio, ratio_text=times,
                                 text=f"{name}: {value} {times}"))
    basis = gettext(labels.PROBABILITY_BASES[shown.basis])
    text = " · ".join([f"{shown.value}\u00a0%", basis, *[f.text for f in factors]])
    if shown.basis == "override":
        text += " " + gettext("(Kontakt's estimate: {n} %)").format(n=estimate)
    return ProbabilityOut(value=shown.value, basis=shown.basis, basis_name=basis,
                          factors=factors, override=deal.probability_override,
                          estimate=estimate, text=text)


async def card_out(user: User, deal_id: int) -> DealCardOut:
    """The deal card as the API gives it (the Mini App's card page renders the same)."""
    lang = str(user.language)
    gettext = translator(lang)
    card = await deal_cards.deal_card(user, deal_id)
    deal = card.deal
    row = _row(deal, deal.stage, card.next_step, card.in_stage_since, gettext)
    detail = await probability_out(deal, gettext, lang)
    return DealCardOut(
        **row.model_dump(),
        contact=Ref(id=deal.contact.id, name=" ".join(
            x for x in (deal.contact.last_name, deal.contact.first_name) if x))
        if deal.contact else None,
        source=Ref(id=deal.source.id, name=labels.item_name(deal.source, gettext,
                                                            SEEDED_ITEM_NAMES))
        if deal.source else None,
        notes=deal.notes, probability=detail.value,
        probability_override=deal.probability_override, probability_detail=detail,
        parent=Ref(id=deal.parent.id, name=deal.parent.title) if deal.parent else None,
        product=Ref(id=deal.product.id, name=deal.product.name) if deal.product else None,
        resolution=deal.resolution, our_fault=deal.our_fault,
        process=ProcessRef(id=deal.process.id, name=labels.process_name(deal.process, gettext),
                           kind=str(deal.process.kind), mode=str(deal.process.mode)),
        stages=[_stage(s, gettext) for s in card.stages],
        moves=[MoveOption(stage=_stage(s, gettext),
                          refused=error_message(refusal, gettext) if refusal else None)
               for s, refusal in card.moves],
        events=[EventOut(seq=e.seq, at=e.at,
                         from_stage=labels.stage_name(e.from_stage, gettext)
                         if e.from_stage else None,
                         to_stage=labels.stage_name(e.to_stage, gettext),
                         to_kind=str(e.to_stage.kind),
                         user=e.user.full_name if e.user else None, source=e.source,
                         text=_event_text(e, gettext, user.timezone)) for e in card.events],
        activities=[DealActivityOut(
            id=a.id, title=a.title,
            type=_type(a, gettext),
            state=str(a.state), state_name=gettext(str(a.state)), starts_at=a.starts_at,
            result=a.result) for a in card.activities],
        team=[Ref(id=u.id, name=u.full_name) for u in card.team],
        lost_reason=Ref(id=deal.lost_reason.id, name=labels.item_name(
            deal.lost_reason, gettext, SEEDED_ITEM_NAMES)) if deal.lost_reason else None,
        competitor=Ref(id=deal.competitor.id, name=deal.competitor.name)
        if deal.competitor else None,
        closed_at=deal.closed_at, created_at=deal.created_at, version=deal.version)


async def rows_out(user: User, rows: list[deal_lists.DealRow]) -> list[DealRowOut]:
    gettext = translator(str(user.language))
    ids = [r.deal.id for r in rows]
    since = await deal_lists.stage_since(ids)
    steps = await deal_lists.next_step_activities(ids)
    return [_row(r.deal, r.deal.stage, steps.get(r.deal.id),
                 since.get(r.deal.id, r.deal.created_at), gettext) for r in rows]


def _source(request: web.Request) -> str:
    return request_source(request)


# ---- deals ---------------------------------------------------------------------------

@api.route("GET", "/deals", summary="Deals one may see (U-2): searched, filtered, paged; "
           "those without a next step first", query=DealQuery, response=DealList,
           tags=["deals"])
async def deals_list(request: web.Request, user: User, query: DealQuery):
    filters = deal_lists.DealFilters(q=query.q, process_id=query.process_id,
                                     stage_id=query.stage_id, owner_id=query.owner_id,
                                     client_id=query.client_id, state=query.state,
                                     mine=query.mine)
    rows, total = await deal_lists.deal_page(user, filters, query.page, query.per_page)
    return DealList(items=await rows_out(user, rows), total=total, page=query.page,
                    per_page=query.per_page)


@api.route("POST", "/deals", summary="Open a deal for a client (U-2): at the process's "
           "first stage, one's own", body=DealIn, response=DealCardOut, tags=["deals"],
           status=201)
async def deal_create(request: web.Request, user: User, body: DealIn):
    try:
        result = await svc.do_create_deal(user, body.model_dump(exclude_none=True),
                                          source=_source(request))
    except ValidationFailed as exc:
        if exc.field == "parent_id":
            exc.label = translator(str(user.language))(ABOUT_DEAL)
        raise
    await after_change(request, result.notices)
    return await card_out(user, result.deal.id)


@api.route("GET", "/deals/{deal_id}", summary="The deal card (U-2): stages, where it may "
           "move, the stage history, activities, next step, team, time in stage",
           response=DealCardOut, tags=["deals"])
async def deal_get(request: web.Request, user: User, deal_id: int):
    return await card_out(user, deal_id)


@api.route("PATCH", "/deals/{deal_id}", summary="Change a deal (audited field by field)",
           body=DealPatch, response=DealCardOut, tags=["deals"])
async def deal_patch(request: web.Request, user: User, deal_id: int, body: DealPatch):
    try:
        await svc.do_update_deal(user, deal_id,
                                 body.model_dump(include=body.model_fields_set),
                                 source=_source(request))
    except ValidationFailed as exc:
        if exc.field == "parent_id":  # "parent" alone would not say which
            exc.label = translator(str(user.language))(ABOUT_DEAL)
        raise
    return await card_out(user, deal_id)


@api.route("POST", "/deals/{deal_id}/archive", summary="Archive a deal: it leaves every "
           "list", response=Ok, tags=["deals"])
async def deal_archive(request: web.Request, user: User, deal_id: int):
    await svc.do_archive_deal(user, deal_id, source=_source(request))
    return Ok()


@api.route("POST", "/deals/{deal_id}/restore", summary="Restore an archived deal (admins)",
           response=DealCardOut, tags=["deals"])
async def deal_restore(request: web.Request, user: User, deal_id: int):
    await svc.do_archive_deal(user, deal_id, archived=False, source=_source(request))
    return await card_out(user, deal_id)


@api.route("POST", "/deals/{deal_id}/move", summary="Move to a stage (U-1): refused naming "
           "what the stage requires; once under a double tap; to lost with a reason",
           body=MoveIn, response=MoveOut, tags=["deals"])
async def deal_move(request: web.Request, user: User, deal_id: int, body: MoveIn):
    result = await deal_moves.do_move(user, deal_id, body.stage_id, source=_source(request),
                               lost_reason_id=body.lost_reason_id,
                               competitor_id=body.competitor_id)
    await after_change(request, result.notices)
    return MoveOut(moved=result.moved, deal=await card_out(user, deal_id))


@api.route("POST", "/deals/{deal_id}/win", summary="Won", response=MoveOut, tags=["deals"])
async def deal_win(request: web.Request, user: User, deal_id: int):
    result = await deal_moves.do_win(user, deal_id, source=_source(request))
    await after_change(request, result.notices)
    return MoveOut(moved=result.moved, deal=await card_out(user, deal_id))


@api.route("POST", "/deals/{deal_id}/lose", summary="Lost (U-6): the reason, and the "
           "competitor who won if known", body=LoseIn, response=MoveOut, tags=["deals"])
async def deal_lose(request: web.Request, user: User, deal_id: int, body: LoseIn):
    result = await deal_moves.do_lose(user, deal_id, body.lost_reason_id, body.competitor_id,
                               source=_source(request))
    await after_change(request, result.notices)
    return MoveOut(moved=result.moved, deal=await card_out(user, deal_id))


@api.route("POST", "/deals/{deal_id}/activities", summary="A task or a logged contact of "
           "the deal (its client is the deal's)", body=ActivityIn, response=ActivityOut,
           tags=["deals"], status=201)
async def deal_activity(request: web.Request, user: User, deal_id: int, body: ActivityIn):
    data = body.model_dump(exclude_none=True)
    data.pop("client_id", None)
    result = await svc.do_add_activity(user, deal_id, data, source=_source(request))
    await after_change(request, result.notices)
    return await activity_detail(user, result.activity.id)


@api.route("PUT", "/deals/{deal_id}/team", summary="The deal's team besides its owner: "
           "they see it and its tasks", body=TeamIn, response=DealCardOut, tags=["deals"])
async def deal_team(request: web.Request, user: User, deal_id: int, body: TeamIn):
    await svc.do_set_team(user, deal_id, body.user_ids, source=_source(request))
    return await card_out(user, deal_id)


@api.route("GET", "/deal-pipeline", summary="A process's stages with the count and sum of "
           "the deals one sees at each", query=PipelineQuery, response=PipelineOut,
           tags=["deals"])
async def deal_pipeline(request: web.Request, user: User, query: PipelineQuery):
    gettext = translator(str(user.language))
    types = await svc.process_types()
    process = next((p for p in types if p.id == query.process_id), None) \
        if query.process_id else (types[0] if types else None)
    if process is None:
        from services.errors import NotFound

        raise NotFound("process")
    summary = await deal_lists.pipeline(user, process.id, mine=query.mine, owner_id=query.owner_id)
    return PipelineOut(
        process=_process(process, [s.stage for s in summary], gettext),
        stages=[StageSumOut(stage=_stage(s.stage, gettext), count=s.count,
                            amount=money(s.amount),
                            amounts={k: money(v) for k, v in s.amounts.items()})
                for s in summary])


@api.route("GET", "/lost-reasons", summary="Why deals are lost (U-6) or claims rejected "
           "(U-7): the list to choose from", query=ReasonQuery, response=ReasonList,
           tags=["deals"])
async def lost_reasons(request: web.Request, user: User, query: ReasonQuery):
    gettext = translator(str(user.language))
    return ReasonList(items=[Ref(id=r.id, name=labels.item_name(r, gettext, SEEDED_ITEM_NAMES))
                             for r in await svc.lost_reasons(query.kind)])


# ---- the deal's environment (U-4) ---------------------------------------------------------

class Choice(BaseModel):
    code: str
    name: str = Field(description="in the reader's language")


class PartyOut(BaseModel):
    id: int
    role: ROLE
    role_name: str
    stance: STANCE
    stance_name: str
    client: Ref | None = Field(description="a client from the base (a competitor, a "
                                           "subcontractor, a partner must be one)")
    contact: Ref | None = Field(description="a contact person of the deal's client")
    name: str | None = Field(description="a person or a company only named")
    note: str | None
    who: str = Field(description="the client's, the contact's or the given name")


class LinkOut(BaseModel):
    id: int
    from_id: int = Field(description="the party whose tie it is")
    to_id: int
    kind: LINK_KIND
    kind_name: str
    text: str = Field(description="e.g. \"CFO → influences → Director\"")


class EnvironmentOut(BaseModel):
    deal_id: int
    parties: list[PartyOut]
    links: list[LinkOut]
    roles: list[Choice] = Field(description="the roles to choose from")
    company_roles: list[ROLE] = Field(description="roles that must be a client from the "
                                                  "base")
    stances: list[Choice]
    link_kinds: list[Choice]


class PartyIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    role: ROLE
    stance: STANCE = "unknown"
    client_id: int | None = Field(default=None, **ID, description="a client one sees, not "
                                  "the deal's own")
    contact_id: int | None = Field(default=None, **ID, description="a contact person of "
                                   "the deal's client")
    name: str | None = Field(default=None, max_length=200, description="when neither a "
                             "client nor a contact")
    note: str | None = Field(default=None, max_length=2000)


class PartyPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")
    role: ROLE | None = None
    stance: STANCE | None = None
    client_id: int | None = Field(default=None, **ID, description="null clears it")
    contact_id: int | None = Field(default=None, **ID, description="null clears it")
    name: str | None = Field(default=None, max_length=200)
    note: str | None = Field(default=None, max_length=2000)


class LinkIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    from_id: int = Field(**ID, description="a party of this deal")
    to_id: int = Field(**ID, description="another party of this deal")
    kind: LINK_KIND


def contact_name(contact) -> str:
    return " ".join(x for x in (contact.last_name, contact.first_name, contact.middle_name)
                    if x) or "—"


def party_who(p) -> str:
    """``p`` with its client and contact fetched."""
    if p.client_id and p.client:
        return p.client.name
    if p.contact_id and p.contact:
        return contact_name(p.contact)
    return p.name or "—"


async def environment_out(user: User, deal_id: int) -> EnvironmentOut:
    gettext = translator(str(user.language))
    env = await parties.environment(user, deal_id)
    order = list(labels.PARTY_ROLES)  # decision makers first, as people read them
    env.parties.sort(key=lambda p: (order.index(str(p.role)), p.id))
    who = {p.id: party_who(p) for p in env.parties}
    return EnvironmentOut(
        deal_id=deal_id,
        parties=[PartyOut(
            id=p.id, role=str(p.role), role_name=gettext(labels.PARTY_ROLES[str(p.role)]),
            stance=str(p.stance), stance_name=gettext(labels.STANCES[str(p.stance)]),
            client=Ref(id=p.client.id, name=p.client.name) if p.client_id else None,
            contact=Ref(id=p.contact.id, name=contact_name(p.contact))
            if p.contact_id else None,
            name=p.name, note=p.note, who=who[p.id]) for p in env.parties],
        links=[LinkOut(id=lnk.id, from_id=lnk.source_id, to_id=lnk.target_id,
                       kind=str(lnk.kind), kind_name=gettext(labels.LINK_KINDS[str(lnk.kind)]),
                       text=f"{who.get(lnk.source_id, '—')} → "
                            f"{gettext(labels.LINK_KINDS[str(lnk.kind)])} → "
                            f"{who.get(lnk.target_id, '—')}") for lnk in env.links],
        roles=[Choice(code=k, name=gettext(v)) for k, v in labels.PARTY_ROLES.items()],
        company_roles=[str(r) for r in parties.COMPANY_ROLES],
        stances=[Choice(code=k, name=gettext(v)) for k, v in labels.STANCES.items()],
        link_kinds=[Choice(code=k, name=gettext(v)) for k, v in labels.LINK_KINDS.items()])


@api.route("GET", "/deals/{deal_id}/environment", summary="The deal's environment (U-4): "
           "people and companies around it with their role and stance, and who influences "
           "whom", response=EnvironmentOut, tags=["deals"])
async def environment_get(request: web.Request, user: User, deal_id: int):
    return await environment_out(user, deal_id)


@api.route("POST", "/deals/{deal_id}/parties", summary="Add someone around the deal (U-4): "
           "a client from the base (competitors, subcontractors and partners must be), a "
           "contact person of the deal's client, or a name", body=PartyIn,
           response=EnvironmentOut, tags=["deals"], status=201)
async def party_add(request: web.Request, user: User, deal_id: int, body: PartyIn):
    await parties.do_add_party(user, deal_id, body.model_dump(exclude_none=True),
                               source=_source(request))
    return await environment_out(user, deal_id)


@api.route("PATCH", "/deals/{deal_id}/parties/{party_id}", summary="Change someone around "
           "the deal (U-4): role, stance, who, note", body=PartyPatch,
           response=EnvironmentOut, tags=["deals"])
async def party_patch(request: web.Request, user: User, deal_id: int, party_id: int,
                      body: PartyPatch):
    await parties.do_update_party(user, party_id, body.model_dump(
        include=body.model_fields_set), source=_source(request), deal_id=deal_id)
    return await environment_out(user, deal_id)


@api.route("DELETE", "/deals/{deal_id}/parties/{party_id}", summary="Remove someone from "
           "around the deal (U-4), with their links", response=EnvironmentOut,
           tags=["deals"])
async def party_remove(request: web.Request, user: User, deal_id: int, party_id: int):
    await parties.do_remove_party(user, party_id, source=_source(request), deal_id=deal_id)
    return await environment_out(user, deal_id)


@api.route("POST", "/deals/{deal_id}/links", summary="Tie two people around the deal (U-4): "
           "who influences, reports to, works or competes with whom; once per kind",
           body=LinkIn, response=EnvironmentOut, tags=["deals"], status=201)
async def link_add(request: web.Request, user: User, deal_id: int, body: LinkIn):
    try:
        await parties.do_link(user, body.from_id, body.to_id, body.kind,
                              source=_source(request), deal_id=deal_id)
    except ValidationFailed as exc:  # the service's names for the two ends
        renamed = {"source_id": "from_id", "target_id": "to_id"}.get(exc.field)
        if renamed is None:
            raise
        raise ValidationFailed(renamed, exc.template, **exc.params) from None
    return await environment_out(user, deal_id)


@api.route("DELETE", "/deals/{deal_id}/links/{link_id}", summary="Remove a tie between two "
           "people around the deal (U-4)", response=EnvironmentOut, tags=["deals"])
async def link_remove(request: web.Request, user: User, deal_id: int, link_id: int):
    await parties.do_unlink(user, link_id, deal_id=deal_id)
    return await environment_out(user, deal_id)
