"""K-10 web lead forms: the fields a form may ask, and the designer's operations.

A form belongs to a campaign variant. Admins and heads design forms: the title, the
introduction, the thanks text, the page's language, which fields the page asks and
which of them are required (``fields_spec``, set from the designer's checkboxes), and
whom the leads go to: round robin among the active people of a department, by the
region the visitor chose (a :class:`LeadRoute` per region; a region without a route
falls back to the round robin) or always one person. A form may be archived (its page
then says it is closed) or deleted when it has had no submission.

The submission itself (the public page) is :mod:`services.lead_intake`.
"""

from __future__ import annotations

import secrets
from typing import Any

from tortoise.transactions import in_transaction

from models import Department, DictionaryItem, StaffStatus, User
from models.marketing import (
    AssignMode,
    Campaign,
    CampaignVariant,
    LeadForm,
    LeadRoute,
    LeadSubmission,
)
from services.clock import utcnow
from services.errors import N_, NotFound, PermissionDenied, ValidationFailed
from services.permissions import is_admin_or_head

# name → its label (translated by the page); the page order
FIELDS: dict[str, str] = {
    "name": N_("Your name"),
    "phone": N_("Phone"),
    "email": N_("Email"),
    "company": N_("Company"),
    "region": N_("Region"),
    "message": N_("Message"),
    "promo": N_("Promo code"),
}
LANGUAGES = ("ru", "uk", "en")
DEFAULT_SPEC = [{"name": "name", "required": True}, {"name": "phone", "required": True},
                {"name": "message", "required": False}]
MAX_ROUTES = 200


def new_token() -> str:
    return secrets.token_urlsafe(12)[:16]


def may_design(actor: User | None) -> bool:
    return is_admin_or_head(actor)


def require_designer(actor: User | None) -> User:
    if not may_design(actor):
        raise PermissionDenied("lead forms: admins and heads")
    return actor


def spec_from_checkboxes(shown: list[str] | set[str], required: list[str] | set[str]
                         ) -> list[dict[str, Any]]:
    """The fields_spec from the designer's two columns of checkboxes (a required field
    is shown too); unknown names are ignored, the page order is FIELDS'."""
    shown, required = set(shown or []), set(required or [])
    return [{"name": n, "required": n in required} for n in FIELDS
            if n in shown or n in required]


def spec_of(form: LeadForm) -> list[dict[str, Any]]:
    return [f for f in (form.fields_spec or []) if isinstance(f, dict)
            and f.get("name") in FIELDS]


async def _validated(data: dict[str, Any], current: LeadForm | None) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if "title" in data or current is None:
        title = " ".join(str(data.get("title") or "").split())
        if not title:
            raise ValidationFailed("title", N_("is empty"))
        if len(title) > 200:
            raise ValidationFailed("title", N_("is longer than {limit} characters"), limit=200)
        out["title"] = title
    for key in ("intro", "thanks"):
        if key in data:
            text = str(data.get(key) or "").strip()
            if len(text) > 2000:
                raise ValidationFailed(key, N_("is longer than {limit} characters"), limit=2000)
            out[key] = text or None
    if "language" in data or current is None:
        lang = str(data.get("language") or "ru")
        if lang not in LANGUAGES:
            raise ValidationFailed("language", N_("choose a value from the list"))
        out["language"] = lang
    if "shown" in data or "required" in data or current is None:
        spec = spec_from_checkboxes(data.get("shown") or [], data.get("required") or []) \
            if ("shown" in data or "required" in data) else list(DEFAULT_SPEC)
        names = {f["name"] for f in spec}
        if not names & {"phone", "email"}:
            raise ValidationFailed("fields", N_("ask at least a phone or an email"))
        out["fields_spec"] = spec
    mode = str(data.get("assign_mode") or (current.assign_mode if current else
                                            AssignMode.ROUND_ROBIN))
    if mode not in AssignMode.__members__.values():
        raise ValidationFailed("assign_mode", N_("choose a value from the list"))
    out["assign_mode"] = AssignMode(mode)
    department_id = data.get("department_id", current.department_id if current else None) \
        or None
    person_id = data.get("person_id", current.person_id if current else None) or None
    if department_id is not None:
        if not await Department.filter(id=int(department_id)).exists():
            raise ValidationFailed("department", N_("choose a value from the list"))
    if person_id is not None:
        if not await User.filter(id=int(person_id), status=StaffStatus.ACTIVE).exists():
            raise ValidationFailed("person", N_("choose a value from the list"))
    if out["assign_mode"] == AssignMode.PERSON and person_id is None:
        raise ValidationFailed("person", N_("choose the person who gets the leads"))
    if out["assign_mode"] != AssignMode.PERSON and department_id is None:
        raise ValidationFailed("department", N_("choose the department whose people get "
                                                "the leads"))
    out["department_id"] = int(department_id) if department_id else None
    out["person_id"] = int(person_id) if person_id else None
    return out


async def _validated_routes(raw: Any) -> list[tuple[int, int]] | None:
    """[(region item id, user id)] from [{"region_id": .., "user_id": ..}], or None."""
    if raw is None:
        return None
    if not isinstance(raw, list) or len(raw) > MAX_ROUTES:
        raise ValidationFailed("routes", N_("choose values from the list"))
    from services.dictionaries import REGION, get_dictionary

    regions = await get_dictionary(REGION)
    out: dict[int, int] = {}
    for row in raw:
        if not isinstance(row, dict):
            raise ValidationFailed("routes", N_("choose values from the list"))
        region_id, user_id = row.get("region_id"), row.get("user_id")
        if not region_id and not user_id:
            continue  # an empty row of the form
        if not region_id or not await DictionaryItem.filter(
                id=int(region_id), dictionary_id=regions.id).exists():
            raise ValidationFailed("routes", N_("choose a region in each row"))
        if not user_id or not await User.filter(id=int(user_id),
                                                status=StaffStatus.ACTIVE).exists():
            raise ValidationFailed("routes", N_("choose a person in each row"))
        if int(region_id) in out:
            raise ValidationFailed("routes", N_("a region is in two rows"))
        out[int(region_id)] = int(user_id)
    return list(out.items())


async def create_form(actor: User, variant_id: int, data: dict[str, Any]) -> LeadForm:
    require_designer(actor)
    variant = await CampaignVariant.get_or_none(id=variant_id)
    if variant is None:
        raise NotFound("variant")
    values = await _validated(data, None)
    routes = await _validated_routes(data.get("routes"))
    async with in_transaction():
        form = await LeadForm.create(variant_id=variant.id, token=new_token(), **values)
        for region_id, user_id in routes or []:
            await LeadRoute.create(form_id=form.id, region_id=region_id, user_id=user_id)
    await form.fetch_related("variant__campaign")  # as get_form gives it
    return form


async def get_form(actor: User, form_id: int) -> LeadForm:
    """One form with its variant and campaign (as every function here returns a form)."""
    require_designer(actor)
    form = await LeadForm.get_or_none(id=form_id).prefetch_related("variant__campaign")
    if form is None:
        raise NotFound("form")
    return form


async def update_form(actor: User, form_id: int, data: dict[str, Any]) -> LeadForm:
    form = await get_form(actor, form_id)
    values = await _validated(data, form)
    routes = await _validated_routes(data.get("routes"))
    async with in_transaction():
        if "active" in data:
            values["active"] = bool(data["active"])
        await LeadForm.filter(id=form.id).update(**values)
        if routes is not None:
            await LeadRoute.filter(form_id=form.id).delete()
            for region_id, user_id in routes:
                await LeadRoute.create(form_id=form.id, region_id=region_id, user_id=user_id)
    return await get_form(actor, form.id)


async def archive_form(actor: User, form_id: int, archived: bool = True) -> LeadForm:
    form = await get_form(actor, form_id)
    await LeadForm.filter(id=form.id).update(archived_at=utcnow() if archived else None,
                                             active=not archived)
    return await get_form(actor, form.id)


async def delete_form(actor: User, form_id: int) -> None:
    form = await get_form(actor, form_id)
    if await LeadSubmission.filter(form_id=form.id).exists():
        raise ValidationFailed("form", N_("the form has leads; archive it instead"))
    await form.delete()


async def forms_of_campaign(actor: User, campaign_id: int, *, archived: bool = False
                            ) -> list[LeadForm]:
    require_designer(actor)
    qs = LeadForm.filter(variant__campaign_id=campaign_id)
    qs = qs.filter(archived_at__isnull=not archived)
    return await qs.order_by("variant_id", "id").prefetch_related("variant")


async def first_active_form(variant_id: int) -> LeadForm | None:
    """Where a tracked link without a landing page leads: the variant's first active
    form."""
    return await LeadForm.filter(variant_id=variant_id, active=True,
                                 archived_at__isnull=True).order_by("id").first()


async def campaign_for_design(campaign_id: int) -> tuple[Campaign, list[CampaignVariant]]:
    """The campaign whose forms are designed, with its variants not archived;
    NotFound when there is no such campaign."""
    campaign = await Campaign.get_or_none(id=campaign_id)
    if campaign is None:
        raise NotFound("campaign")
    return campaign, await CampaignVariant.filter(campaign_id=campaign.id, archived=False)


async def routes_of(form_id: int) -> list[LeadRoute]:
    return await LeadRoute.filter(form_id=form_id).order_by("id").prefetch_related(
        "region", "user")


async def submission_counts(form_ids: list[int]) -> dict[int, int]:
    from tortoise.functions import Count

    if not form_ids:
        return {}
    rows = await LeadSubmission.filter(form_id__in=form_ids).group_by("form_id").annotate(
        n=Count("id")).values("form_id", "n")
    return {r["form_id"]: r["n"] for r in rows}
