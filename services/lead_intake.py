"""K-10: a visitor's submission of a web lead form becomes an inbound request.

Rules:

* The page is public: no sign-in, no CSRF token. Against bots: a honeypot field (a
  hidden input; filled → the thanks page is shown and nothing is made) and a rate
  limit — an in-process token bucket per remote address and per form (the project has
  no shared Redis helper for this; each replica limits its own share).
* Validation: the fields the form asks (its ``fields_spec``); the phone becomes E.164
  (phonenumbers, the form's country guessed from its language), the email is checked;
  errors name the field and the values are kept.
* One transaction: the client is found by the phone's digits or the email, else made
  (an individual, or a company when a company name is given, the chosen manager its
  manager); an inbound request (activity type ``inbound_request``) assigned to the
  chosen manager, its time the submission's (M-16 reaction time counts from it); the
  :class:`LeadSubmission`; the touch (via the tracked link's cookie, a promo code, or
  the form). The front end announces the lead in Telegram after the commit.
* Assignment: round robin among the active people of the form's department (the
  cursor ``last_assigned_id`` moved by a conditional UPDATE, so two submissions at once
  never both take the same turn); by region: the region's route, else the round robin;
  a person: that person (a dismissed person: the round robin).
"""

from __future__ import annotations

import hashlib
import hmac
import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from tortoise.transactions import in_transaction

from models import (
    Activity,
    ActivityAssignee,
    ActivityState,
    Client,
    ClientKind,
    ClientManager,
    StaffStatus,
    User,
)
from models.marketing import AssignMode, LeadForm, LeadRoute, LeadSubmission, TouchVia
from services import attribution
from services.activities import get_type
from services.clock import utcnow
from services.errors import N_, Text, ValidationFailed

HONEYPOT = "website"  # the hidden input's name: people never see it, bots fill it
MAX_LEN = {"name": 200, "company": 300, "message": 4000, "promo": 40, "email": 254,
           "phone": 40}
PHONE_REGION = {"ru": "RU", "uk": "UA", "en": "RU"}


# --- rate limit ------------------------------------------------------------------------
class TokenBucket:
    """``capacity`` requests at once, then ``per_s`` a second, per key (in-process)."""

    def __init__(self, capacity: float, per_s: float, max_keys: int = 20_000) -> None:
        self.capacity, self.per_s, self.max_keys = capacity, per_s, max_keys
        self._state: dict[str, tuple[float, float]] = {}

    def take(self, key: str, now: float | None = None) -> bool:
        now = time.monotonic() if now is None else now
        tokens, last = self._state.get(key, (self.capacity, now))
        tokens = min(self.capacity, tokens + (now - last) * self.per_s)
        allowed = tokens >= 1
        self._state[key] = (tokens - 1 if allowed else tokens, now)
        if len(self._state) > self.max_keys:  # forget the oldest half
            for k in sorted(self._state, key=lambda k: self._state[k][1])[:self.max_keys // 2]:
                self._state.pop(k, None)
        return allowed

    def reset(self) -> None:
        self._state.clear()


PER_ADDRESS = TokenBucket(capacity=5, per_s=1 / 60)   # 5 at once, then one a minute
PER_FORM = TokenBucket(capacity=120, per_s=2)          # a burst of 120, then 2 a second


def remote_hash(secret: str, address: str) -> str:
    return hmac.new(secret.encode() or b"k", (address or "?").encode(),
                    hashlib.sha256).hexdigest()[:16]


def allowed(form_id: int, address_hash: str) -> bool:
    return PER_FORM.take(f"f{form_id}") and PER_ADDRESS.take(f"a{address_hash}")


# --- the form --------------------------------------------------------------------------
async def public_form(token: str) -> LeadForm | None:
    """The form behind /f/<token> (archived or inactive ones too: the page says so)."""
    token = (token or "").strip()
    if not token or len(token) > 24:
        return None
    return await LeadForm.get_or_none(token=token).prefetch_related("variant__campaign")


def is_open(form: LeadForm) -> bool:
    return form.active and form.archived_at is None and not form.variant.archived \
        and form.variant.campaign.archived_at is None


@dataclass
class Outcome:
    kind: str  # "thanks" | "invalid" | "limited" | "closed"
    errors: dict[str, Text] = field(default_factory=dict)
    values: dict[str, str] = field(default_factory=dict)
    submission: LeadSubmission | None = None
    activity: Activity | None = None
    assigned: User | None = None
    client: Client | None = None


def _fail(errors: dict[str, Text], name: str, template: str, **params: Any) -> None:
    errors.setdefault(name, Text(template, **params))


async def validate(form: LeadForm, raw: dict[str, Any]) -> tuple[dict[str, Any],
                                                                 dict[str, Text]]:
    """(clean values, errors by field) of what the visitor typed."""
    from services.clients import normalize_email, normalize_phone

    errors: dict[str, Text] = {}
    clean: dict[str, Any] = {}
    from services.lead_forms import spec_of

    for spec in spec_of(form):
        name, required = spec["name"], bool(spec.get("required"))
        value = " ".join(str(raw.get(name) or "").split()) if name != "message" else \
            str(raw.get(name) or "").strip()
        if not value:
            if required:
                _fail(errors, name, N_("is required"))
            continue
        if len(value) > MAX_LEN.get(name, 300):
            _fail(errors, name, N_("is longer than {limit} characters"),
                  limit=MAX_LEN.get(name, 300))
            continue
        try:
            if name == "phone":
                value = normalize_phone(value, PHONE_REGION.get(form.language, "RU"))
            elif name == "email":
                value = normalize_email(value)
            elif name == "region":
                from models import DictionaryItem
                from services.dictionaries import REGION, get_dictionary

                regions = await get_dictionary(REGION)
                item = await DictionaryItem.get_or_none(
                    id=int(value) if value.isdigit() and len(value) < 10 else 0,
                    dictionary_id=regions.id, archived=False)
                if item is None:
                    raise ValidationFailed("region", N_("choose a value from the list"))
                value = item.id
            elif name == "promo":
                if await attribution.variant_for_promo(value) is None:
                    raise ValidationFailed("promo", N_("there is no such promo code"))
                value = attribution.normalize_promo(value)
        except ValidationFailed as exc:
            _fail(errors, name, exc.template, **exc.params)
            continue
        clean[name] = value
    return clean, errors


# --- assignment ------------------------------------------------------------------------
async def _round_robin(form: LeadForm) -> User | None:
    if form.department_id is None:
        return None
    for _ in range(8):
        people = await User.filter(department_id=form.department_id,
                                   status=StaffStatus.ACTIVE).order_by("id")
        if not people:
            return None
        cursor = (await LeadForm.filter(id=form.id).values_list(
            "last_assigned_id", flat=True))[0]
        chosen = next((p for p in people if cursor is None or p.id > cursor), people[0])
        qs = LeadForm.filter(id=form.id)
        qs = qs.filter(last_assigned_id__isnull=True) if cursor is None else \
            qs.filter(last_assigned_id=cursor)
        if await qs.update(last_assigned_id=chosen.id):
            form.last_assigned_id = chosen.id
            return chosen
    return people[0]  # a storm of submissions: give up fairness, not the lead


async def choose_manager(form: LeadForm, region_id: int | None) -> User | None:
    if form.assign_mode == AssignMode.PERSON and form.person_id:
        person = await User.get_or_none(id=form.person_id, status=StaffStatus.ACTIVE)
        if person is not None:
            return person
    if form.assign_mode == AssignMode.REGION and region_id:
        route = await LeadRoute.get_or_none(form_id=form.id, region_id=region_id)
        if route is not None:
            person = await User.get_or_none(id=route.user_id, status=StaffStatus.ACTIVE)
            if person is not None:
                return person
    return await _round_robin(form)


# --- the client ------------------------------------------------------------------------
async def _find_or_make_client(clean: dict[str, Any], manager: User | None) -> Client:
    from services.clients import _refresh_derived  # noqa: PLC2701 - the card's derived fields
    from services.derived import digits

    found = None
    if clean.get("phone"):
        found = await Client.filter(phone_digits=digits(clean["phone"]),
                                    archived_at=None).order_by("id").first()
    if found is None and clean.get("email"):
        found = await Client.filter(email__iexact=clean["email"], archived_at=None
                                    ).order_by("id").first()
    if found is not None:
        if manager is not None:  # the person who gets the lead may see its client
            from services.lead_work import ensure_client_manager

            await ensure_client_manager(found.id, manager)
        return found
    company = clean.get("company")
    name = company or clean.get("name") or clean.get("email") or clean.get("phone")
    client = await Client.create(
        kind=ClientKind.COMPANY if company else ClientKind.INDIVIDUAL, name=name[:300],
        first_name=None if company else (clean.get("name") or None),
        phone=clean.get("phone"), email=clean.get("email"),
        region_id=clean.get("region"), created_by=manager)
    if manager is not None:
        await ClientManager.create(client=client, user=manager, assigned_by=None,
                                   is_primary=True)
    await _refresh_derived(client)
    await client.save()
    return client


def _request_text(form: LeadForm, clean: dict[str, Any]) -> str:
    lines = [f"{key}: {clean[key]}" for key in ("name", "phone", "email", "company", "promo")
             if clean.get(key)]
    if clean.get("message"):
        lines.append(str(clean["message"]))
    return "\n".join(lines)


async def submit(form: LeadForm, raw: dict[str, Any], *, address_hash: str,
                 link_variant_id: int | None = None, at: datetime | None = None,
                 check_limit: bool = True) -> Outcome:
    """Handle one POST of the public page (see the module's rules)."""
    values = {k: str(raw.get(k) or "")[:4000] for k in ("name", "phone", "email", "company",
                                                        "region", "message", "promo")}
    if not is_open(form):
        return Outcome("closed", values=values)
    if check_limit and not allowed(form.id, address_hash):
        return Outcome("limited", values=values)
    if str(raw.get(HONEYPOT) or "").strip():
        return Outcome("thanks")  # a bot: it sees the thanks page, nothing is made
    clean, errors = await validate(form, raw)
    if errors:
        return Outcome("invalid", errors=errors, values=values)
    at = at or utcnow()
    kind = await get_type("inbound_request")
    promo_variant = await attribution.variant_for_promo(clean.get("promo")) \
        if clean.get("promo") else None
    async with in_transaction():
        manager = await choose_manager(form, clean.get("region"))
        client = await _find_or_make_client(clean, manager)
        title = f"{form.title}: {clean.get('name') or client.name}"[:300]
        activity = await Activity.create(
            kind=kind.kind,
            type_id=kind.id, title=title, goal=_request_text(form, clean) or None,
            client_id=client.id, author_id=None, state=ActivityState.PLANNED,
            starts_at=at, timezone=manager.timezone if manager else "Europe/Moscow",
            source="leadform")
        if manager is not None:
            await ActivityAssignee.create(activity_id=activity.id, user_id=manager.id)
        submission = await LeadSubmission.create(
            form_id=form.id, at=at, client_id=client.id, activity_id=activity.id,
            assigned_id=manager.id if manager else None, data=values,
            remote_hash=address_hash)
        if promo_variant is not None:
            variant, via = promo_variant, TouchVia.PROMO
        elif link_variant_id and (await _variant(link_variant_id)) is not None:
            variant, via = await _variant(link_variant_id), TouchVia.LINK
        else:
            variant, via = form.variant, TouchVia.FORM
        await attribution.record_touch(client, campaign=variant.campaign_id, variant=variant,
                                       via=via, at=at, activity=activity)
    return Outcome("thanks", submission=submission, activity=activity, assigned=manager,
                   client=client)


async def _variant(variant_id: int):
    from models.marketing import CampaignVariant

    return await CampaignVariant.get_or_none(id=variant_id)
