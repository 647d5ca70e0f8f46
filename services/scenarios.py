"""Campaign scenario templates (M-8): reusable lists of steps (prepare, launch, follow
up, measure, other), each with a title, a number of days from the campaign's start
(negative: before it) and optionally the department that does it.

* Admins and heads write, archive and delete templates; every staff member reads them
  (to apply one to a campaign: services.campaign_steps.do_apply_template).
* A template's steps are given whole (the form's rows) and replace the old ones; the
  campaign steps already made from it stay as they are.
"""

from __future__ import annotations

from typing import Any

from tortoise.transactions import in_transaction

from models import Department, ScenarioTemplate, ScenarioTemplateStep, StepKind, User
from services.errors import N_, NotFound, PermissionDenied, ValidationFailed
from services.permissions import is_admin_or_head, require_staff

MAX_STEPS = 40
MAX_OFFSET = 366
KIND_NAMES = {StepKind.PREPARE: N_("Prepare"), StepKind.LAUNCH: N_("Launch"),
              StepKind.FOLLOW_UP: N_("Follow up"), StepKind.MEASURE: N_("Measure results"),
              StepKind.OTHER: N_("Other")}


def may_write(actor: User | None) -> bool:
    return is_admin_or_head(actor)


def _require_writer(actor: User) -> None:
    require_staff(actor)
    if not may_write(actor):
        raise PermissionDenied("admins and heads write scenario templates")


def clean_title(raw: Any, where: str, limit: int = 300) -> str:
    title = " ".join(str(raw or "").split())
    if not title:
        raise ValidationFailed(where, N_("is empty"))
    if len(title) > limit:
        raise ValidationFailed(where, N_("is longer than {max} characters"), max=limit)
    return title


def clean_kind(raw: Any, where: str) -> StepKind:
    value = str(raw or "other")
    if value not in StepKind.__members__.values():
        raise ValidationFailed(where, N_("prepare, launch, follow up, measure or other"))
    return StepKind(value)


def clean_int(raw: Any, where: str, low: int, high: int) -> int:
    if raw is None or raw == "" or isinstance(raw, bool):
        raw = 0 if raw in (None, "") else raw
    try:
        value = int(str(raw).strip())
    except ValueError:
        raise ValidationFailed(where, N_("days from {low} to {high}"), low=low,
                               high=high) from None
    if not low <= value <= high:
        raise ValidationFailed(where, N_("days from {low} to {high}"), low=low, high=high)
    return value


async def clean_department(raw: Any, where: str) -> int | None:
    if raw in (None, "", 0, "0"):
        return None
    try:
        dept_id = int(raw)
    except (TypeError, ValueError):
        raise ValidationFailed(where, N_("no such department")) from None
    if not 0 < dept_id < 2**31 or not await Department.filter(id=dept_id).exists():
        raise ValidationFailed(where, N_("no such department"))
    return dept_id


async def _clean_steps(raw: Any) -> list[dict[str, Any]]:
    if not isinstance(raw, list) or not raw:
        raise ValidationFailed("steps", N_("give at least one step"))
    if len(raw) > MAX_STEPS:
        raise ValidationFailed("steps", N_("at most {max_steps} steps"), max_steps=MAX_STEPS)
    out = []
    for n, step in enumerate(raw, 1):
        if not isinstance(step, dict):
            raise ValidationFailed(f"steps.{n}", N_("a step is an object"))
        out.append({
            "kind": clean_kind(step.get("kind"), f"steps.{n}.kind"),
            "title": clean_title(step.get("title"), f"steps.{n}.title"),
            "offset_days": clean_int(step.get("offset_days"), f"steps.{n}.offset_days",
                                     -MAX_OFFSET, MAX_OFFSET),
            "department_id": await clean_department(step.get("department_id"),
                                                    f"steps.{n}.department_id")})
    return out


async def _name(raw: Any, current_id: int | None = None) -> str:
    name = clean_title(raw, "name", 200)
    others = ScenarioTemplate.filter(name=name)
    if current_id is not None:
        others = others.exclude(id=current_id)
    if await others.exists():
        raise ValidationFailed("name", N_("«{name}» already exists"), name=name)
    return name


async def _write_steps(template: ScenarioTemplate, steps: list[dict[str, Any]]) -> None:
    await ScenarioTemplateStep.filter(template_id=template.id).delete()
    await ScenarioTemplateStep.bulk_create([
        ScenarioTemplateStep(template_id=template.id, position=n, **s)
        for n, s in enumerate(steps)])


async def do_create_template(actor: User, name: Any, steps: Any,
                             description: str | None = None) -> ScenarioTemplate:
    _require_writer(actor)
    clean_name = await _name(name)
    clean = await _clean_steps(steps)
    async with in_transaction():
        template = await ScenarioTemplate.create(
            name=clean_name, description=(description or "").strip() or None)
        await _write_steps(template, clean)
    return template


async def do_update_template(actor: User, template_id: int, name: Any, steps: Any,
                             description: str | None = None) -> ScenarioTemplate:
    _require_writer(actor)
    template = await get_template(actor, template_id)
    clean_name = await _name(name, template.id)
    clean = await _clean_steps(steps)
    async with in_transaction():
        template.name = clean_name
        template.description = (description or "").strip() or None
        await template.save()
        await _write_steps(template, clean)
    return template


async def do_archive_template(actor: User, template_id: int, archived: bool = True
                              ) -> ScenarioTemplate:
    _require_writer(actor)
    template = await get_template(actor, template_id)
    template.archived = bool(archived)
    await template.save(update_fields=["archived", "updated_at"])
    return template


async def do_delete_template(actor: User, template_id: int) -> None:
    """Delete a template (the campaign steps made from it stay)."""
    _require_writer(actor)
    template = await get_template(actor, template_id)
    await template.delete()


async def get_template(actor: User, template_id: int, *, with_steps: bool = False
                       ) -> ScenarioTemplate:
    """One template; ``with_steps``: its steps loaded too (what a page or the API shows)."""
    require_staff(actor)
    template = await ScenarioTemplate.get_or_none(id=template_id)
    if template is None:
        raise NotFound("scenario template")
    if with_steps:
        await template.fetch_related("steps")
    return template


async def template_steps(template_id: int) -> list[ScenarioTemplateStep]:
    return await ScenarioTemplateStep.filter(template_id=template_id).order_by(
        "offset_days", "position", "id").select_related("department")


async def list_templates(actor: User, *, archived: bool = False) -> list[ScenarioTemplate]:
    """The templates with their steps (and the steps' departments) loaded."""
    require_staff(actor)
    return await ScenarioTemplate.filter(archived=archived).order_by("name").prefetch_related(
        "steps", "steps__department")


def sorted_steps(template: ScenarioTemplate) -> list[ScenarioTemplateStep]:
    return sorted(template.steps, key=lambda s: (s.offset_days, s.position, s.id))


# ---- the default templates (seeded by the demo, and on demand by an admin) -------------

DEFAULTS: dict[str, list[tuple[str, int, dict[str, str]]]] = {
    "launch": [
        ("prepare", -14, {"en": "Brief and budget agreed", "ru": "Бриф и бюджет согласованы",
                          "uk": "Бриф і бюджет погоджено"}),
        ("prepare", -7, {"en": "Creatives and landing page ready",
                         "ru": "Креативы и посадочная страница готовы",
                         "uk": "Креативи й посадкова сторінка готові"}),
        ("launch", 0, {"en": "Launch the campaign", "ru": "Запустить кампанию",
                       "uk": "Запустити кампанію"}),
        ("follow_up", 3, {"en": "Call back the first leads", "ru": "Обзвонить первые заявки",
                          "uk": "Обдзвонити перші заявки"}),
        ("measure", 14, {"en": "Measure: costs, contacts, cost per contact",
                         "ru": "Итоги: затраты, контакты, цена контакта",
                         "uk": "Підсумки: витрати, контакти, ціна контакту"}),
    ],
}
DEFAULT_NAMES = {"launch": {"en": "Campaign launch", "ru": "Запуск кампании",
                            "uk": "Запуск кампанії"}}


async def ensure_default_templates(language: str = "ru") -> list[ScenarioTemplate]:
    """Seed the default templates in ``language`` once (by name; idempotent)."""
    lang = language if language in ("ru", "uk", "en") else "en"
    made = []
    for key, steps in DEFAULTS.items():
        name = DEFAULT_NAMES[key][lang]
        template = await ScenarioTemplate.get_or_none(name=name)
        if template is None:
            async with in_transaction():
                template = await ScenarioTemplate.create(name=name)
                await _write_steps(template, [
                    {"kind": StepKind(kind), "title": titles[lang], "offset_days": days,
                     "department_id": None} for kind, days, titles in steps])
        made.append(template)
    return made
