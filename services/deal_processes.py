"""Process types and their stages (U-1, U-7, U-8): the two seeded ones, and the admin's
editor.

* :func:`ensure_processes` seeds "Продажа" (a sale, simple mode), "Исполнение" (what a
  won sale goes on as, U-7), "Претензия" (a claim, U-7) and "Партнёрство" (a partner
  relationship, U-8) once each, with stage codes so their names are shown in each
  language until an admin renames them (kontakt.labels).
* :func:`do_save_process` writes a type with its whole list of stages in one step:
  the order given is the order kept; exactly one won and one lost stage and at least
  one open stage; a stage left out is archived if a deal ever was in it, else deleted.
  Admins only.
"""

from __future__ import annotations

from typing import Any

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from models import (
    Deal,
    DealEvent,
    Playbook,
    ProcessKind,
    ProcessMode,
    ProcessType,
    Stage,
    StageKind,
    User,
)
from services.errors import N_, NotFound, Text, ValidationFailed
from services.permissions import require_admin

SEEDS: list[dict[str, Any]] = [
    {"code": "sale", "name": "Продажа", "kind": ProcessKind.SALE, "stages": [
        ("lead", "Первичный контакт", "open", 10, []),
        ("need", "Выявление потребности", "open", 25, []),
        ("offer", "Коммерческое предложение", "open", 50, ["amount"]),
        ("talks", "Переговоры", "open", 70, ["amount"]),
        ("contract", "Договор", "open", 90, ["amount", "expected_close"]),
        ("won", "Выиграна", "won", 100, []),
        ("lost", "Проиграна", "lost", 0, [])]},
    {"code": "execution", "name": "Исполнение", "kind": ProcessKind.EXECUTION, "stages": [
        ("payment", "Оплата", "open", 90, [], 5),
        ("delivery", "Поставка", "open", 95, [], 10),
        ("papers", "Закрывающие документы", "open", 98, [], 5),
        ("done", "Исполнено", "won", 100, []),
        ("failed", "Сорвано", "lost", 0, [])]},
    {"code": "claim", "name": "Претензия", "kind": ProcessKind.CLAIM, "stages": [
        ("received", "Получена", "open", 0, []),
        ("review", "Разбор", "open", 0, []),
        ("solution", "Решение", "open", 0, []),
        ("settled", "Урегулирована", "won", 100, []),
        ("rejected", "Отклонена", "lost", 0, [])]},
    # U-8: the strategy of a relationship with a partner (a dealer, an agent, a
    # subcontractor), a deal of its own with the partner as the client
    {"code": "partner", "name": "Партнёрство", "kind": ProcessKind.PARTNER, "stages": [
        ("partner_select", "Отбор партнёра", "open", 10, []),
        ("partner_terms", "Согласование условий", "open", 40, []),
        ("partner_pilot", "Пилотный проект", "open", 70, []),
        ("partner_active", "Действующий партнёр", "won", 100, []),
        ("partner_ended", "Сотрудничество прекращено", "lost", 0, [])]},
]
SEEDED_PROCESS_NAMES = {p["code"]: p["name"] for p in SEEDS}
SEEDED_STAGE_NAMES = {code: name for p in SEEDS for code, name, *_ in p["stages"]}
NEXT = {"sale": "execution"}  # U-7: a won sale goes on as its execution
# their names in English for the catalogs: shown in the reader's language until renamed
LABELS = {
    "process": {"sale": N_("Sale"), "claim": N_("Claim"), "execution": N_("Execution"),
                "partner": N_("Partnership")},
    "stage": {
        "lead": N_("First contact"), "need": N_("Needs analysis"),
        "offer": N_("Commercial offer"), "talks": N_("Negotiation"),
        "contract": N_("Contract"), "won": N_("Won"), "lost": N_("Lost"),
        "received": N_("Received"), "review": N_("Review"), "solution": N_("Solution"),
        "settled": N_("Settled"), "rejected": N_("Rejected"), "payment": N_("Payment"),
        "delivery": N_("Delivery"), "papers": N_("Closing documents"),
        "done": N_("Fulfilled"), "failed": N_("Failed"),
        "partner_select": N_("Choosing a partner"), "partner_terms": N_("Agreeing terms"),
        "partner_pilot": N_("Pilot project"), "partner_active": N_("Active partner"),
        "partner_ended": N_("Partnership ended")},
}


def seeded_label(obj: Any, what: str) -> str | None:
    """The English label of a seeded process type or stage an admin has not renamed."""
    code = getattr(obj, "code", None)
    seeded = SEEDED_PROCESS_NAMES if what == "process" else SEEDED_STAGE_NAMES
    if code in LABELS[what] and seeded.get(code) == obj.name:
        return LABELS[what][code]
    return None


def named(obj: Any, what: str) -> Text | str:
    """A stage's or process's name to put into a message: a seeded one as a Text the
    front end translates, any other as it is."""
    label = seeded_label(obj, what)
    return Text(label) if label else obj.name
MAX_STAGES = 20
# what a stage may require of a deal entering it (services.deal_moves checks them)
REQUIREMENTS = ("amount", "expected_close", "contact", "tasks_done", "order_posted")


async def ensure_processes() -> None:
    """The seeded process types, each once: a type seeded later (partnership) is added to
    a database that has the others; one an admin archived keeps its code and stays
    archived (safe to call from two replicas at once)."""
    have = set(await ProcessType.all().values_list("code", flat=True))
    made: set[str] = set()
    for order, seed in enumerate(SEEDS):
        if seed["code"] in have:
            continue
        try:
            async with in_transaction():
                process = await ProcessType.create(code=seed["code"], name=seed["name"],
                                                   kind=seed["kind"],
                                                   mode=ProcessMode.SIMPLE, sort_order=order)
                await Stage.bulk_create([
                    Stage(process_id=process.id, code=code, name=name, kind=kind,
                          position=n, probability=prob, requires=req,
                          days_limit=rest[0] if rest else None)
                    for n, (code, name, kind, prob, req, *rest) in enumerate(seed["stages"])])
            made.add(seed["code"])
        except IntegrityError:  # seeded meanwhile by another process
            pass
    # the follow-on process is linked when either side is seeded now: a page view never
    # writes, and an admin who took a link away keeps it away
    for code, after in NEXT.items():
        if code not in made and after not in made:
            continue
        following = await ProcessType.get_or_none(code=after)
        if following is not None:
            await ProcessType.filter(code=code, next_process_id=None).update(
                next_process_id=following.id)


def _name(raw: Any, field: str, limit: int = 100) -> str:
    name = " ".join(str(raw or "").split())
    if not name:
        raise ValidationFailed(field, N_("is empty"))
    if len(name) > limit:
        raise ValidationFailed(field, N_("is longer than {max} characters"), max=limit)
    return name


def _int(raw: Any, field: str, low: int, high: int, *, nullable: bool = False) -> int | None:
    if raw is None or raw == "":
        if nullable:
            return None
        raise ValidationFailed(field, N_("is required"))
    if isinstance(raw, bool) or not isinstance(raw, int) or not low <= raw <= high:
        raise ValidationFailed(field, N_("a whole number from {low} to {high}"),
                               low=low, high=high)
    return raw


async def _clean_stages(raw: Any, existing: dict[int, Stage]) -> list[dict[str, Any]]:
    if not isinstance(raw, list) or not raw:
        raise ValidationFailed("stages", N_("give at least one stage"))
    if len(raw) > MAX_STAGES:
        raise ValidationFailed("stages", N_("at most {max} stages"), max=MAX_STAGES)
    out, names = [], set()
    playbooks = set(await Playbook.filter(archived=False).values_list("id", flat=True))
    for n, item in enumerate(raw):
        where = f"stages.{n + 1}"
        if not isinstance(item, dict):
            raise ValidationFailed(where, N_("choose a value from the list"))
        stage_id = item.get("id")
        if stage_id is not None and stage_id not in existing:
            raise ValidationFailed(f"{where}.id", N_("choose a value from the list"))
        name = _name(item.get("name"), f"{where}.name")
        if name.casefold() in names:
            raise ValidationFailed(f"{where}.name", N_("«{name}» is used twice"), name=name)
        names.add(name.casefold())
        kind = str(item.get("kind") or "open")
        if kind not in StageKind.__members__.values():
            raise ValidationFailed(f"{where}.kind", N_("choose a value from the list"))
        requires = item.get("requires") or []
        if not isinstance(requires, list) or any(r not in REQUIREMENTS for r in requires):
            raise ValidationFailed(f"{where}.requires", N_("choose a value from the list"))
        playbook_id = item.get("playbook_id")
        if playbook_id is not None and playbook_id not in playbooks:
            raise ValidationFailed(f"{where}.playbook_id", N_("choose a value from the list"))
        instructions = str(item.get("instructions") or "").strip()
        if len(instructions) > 5000:
            raise ValidationFailed(f"{where}.instructions",
                                   N_("is longer than {max} characters"), max=5000)
        out.append({"id": stage_id, "name": name, "kind": StageKind(kind), "position": n,
                    "probability": _int(item.get("probability", 0), f"{where}.probability",
                                        0, 100),
                    "requires": list(dict.fromkeys(requires)),
                    "skippable": bool(item.get("skippable", True)),
                    "advance_when_done": bool(item.get("advance_when_done", False)),
                    "instructions": instructions or None, "playbook_id": playbook_id,
                    "days_limit": _int(item.get("days_limit"), f"{where}.days_limit", 1, 365,
                                       nullable=True)})
    kinds = [s["kind"] for s in out]
    if kinds.count(StageKind.WON) != 1 or kinds.count(StageKind.LOST) != 1:
        raise ValidationFailed("stages", N_("a process has exactly one won and one lost "
                                            "stage"))
    if StageKind.OPEN not in kinds:
        raise ValidationFailed("stages", N_("give at least one open stage"))
    for s in out:
        old = existing.get(s["id"]) if s["id"] else None
        if old is not None and old.kind != s["kind"] and await Deal.filter(
                stage_id=old.id).exists():
            raise ValidationFailed("stages", N_("«{name}» has deals; its kind cannot change"),
                                   name=old.name)
    return out


async def do_save_process(actor: User, process_id: int | None, data: dict[str, Any]
                          ) -> ProcessType:
    """Create (``process_id`` None) or change a process type with its stages."""
    require_admin(actor)
    await ensure_processes()
    process = None
    existing: dict[int, Stage] = {}
    if process_id is not None:
        process = await ProcessType.get_or_none(id=process_id)
        if process is None:
            raise NotFound("process")
        existing = {s.id: s for s in await Stage.filter(process_id=process.id, archived=False)}
    name = _name(data.get("name", process.name if process else None), "name")
    clash = ProcessType.filter(name=name)
    if process is not None:
        clash = clash.exclude(id=process.id)
    if await clash.exists():
        raise ValidationFailed("name", N_("«{name}» is taken"), name=name)
    kind = str(data.get("kind") or (process.kind if process else "sale"))
    mode = str(data.get("mode") or (process.mode if process else "simple"))
    if kind not in ProcessKind.__members__.values():
        raise ValidationFailed("kind", N_("choose a value from the list"))
    if mode not in ProcessMode.__members__.values():
        raise ValidationFailed("mode", N_("choose a value from the list"))
    next_id = data.get("next_process_id", process.next_process_id if process else None)
    if next_id is not None and (next_id == process_id or not await ProcessType.filter(
            id=next_id, archived=False).exists()):
        raise ValidationFailed("next_process_id", N_("choose a value from the list"))
    regulation = str(data.get("regulation") or "").strip() or None
    if regulation and len(regulation) > 20000:
        raise ValidationFailed("regulation", N_("is longer than {max} characters"), max=20000)
    stages = await _clean_stages(data.get("stages"), existing) if "stages" in data or \
        process is None else None
    async with in_transaction():
        if process is None:
            process = await ProcessType.create(name=name, kind=kind, mode=mode,
                                               regulation=regulation, next_process_id=next_id,
                                               sort_order=await ProcessType.all().count())
        else:
            await ProcessType.filter(id=process.id).update(
                name=name, kind=kind, mode=mode, next_process_id=next_id,
                regulation=regulation if "regulation" in data else process.regulation)
        if stages is not None:
            kept = set()
            for s in stages:
                values = {k: v for k, v in s.items() if k != "id"}
                if s["id"]:
                    kept.add(s["id"])
                    await Stage.filter(id=s["id"]).update(**values)
                else:
                    await Stage.create(process_id=process.id, **values)
            for old_id in set(existing) - kept:
                used = await Deal.filter(stage_id=old_id).exists() or \
                    await DealEvent.filter(to_stage_id=old_id).exists()
                if used:
                    await Stage.filter(id=old_id).update(archived=True, position=999)
                else:
                    await Stage.filter(id=old_id).delete()
    return await ProcessType.get(id=process.id)


async def do_archive_process(actor: User, process_id: int, archived: bool = True) -> None:
    require_admin(actor)
    process = await ProcessType.get_or_none(id=process_id)
    if process is None:
        raise NotFound("process")
    if archived and await ProcessType.filter(archived=False).exclude(
            id=process_id).count() == 0:
        raise ValidationFailed("process", N_("the last process type cannot be archived"))
    await ProcessType.filter(id=process_id).update(archived=archived)
