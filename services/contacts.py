"""Contact persons of a client (S-3): add, change, archive, restore, list.

Rules:

* whoever may see a client (A-3) may see, add, change, archive and restore its contact
  persons; a contact of a client one cannot see is "not found", like the client;
* a contact has a first name; phones are stored in E.164 (the person's region decides
  numbers typed without a country code), emails normalised; both are lists;
* archiving hides a contact from the card, the pickers and the search, and keeps it
  (history, activities and messages still name it); restoring brings it back;
* every change is audited field by field with who, when and from where; the client's
  search tokens and completeness follow (a contact counts for both).
"""

from __future__ import annotations

from datetime import date
from typing import Any

from tortoise.transactions import in_transaction

from models import ContactPerson, User
from services import customfields
from services.clients import (
    _audit,
    _clean,
    _refresh_derived,
    get_client,
    normalize_email,
    normalize_phone,
)
from services.clock import utcnow
from services.errors import N_, NotFound, ValidationFailed
from services.text import digits, search_blob

EDITABLE = ("first_name", "last_name", "middle_name", "position", "phones", "emails",
            "birthday", "notes", "custom")
_LIMITS = {"first_name": 100, "last_name": 100, "middle_name": 100, "position": 200,
           "notes": 10000}


def _name_of(contact: ContactPerson) -> str:
    return " ".join(x for x in (contact.last_name, contact.first_name, contact.middle_name)
                    if x)


def _birthday(raw: Any) -> date | None:
    if raw in (None, ""):
        return None
    if isinstance(raw, date):
        return raw
    text = str(raw).strip()
    for parse in (date.fromisoformat,
                  lambda t: date(*reversed([int(x) for x in t.split(".")]))):
        try:
            value = parse(text)
        except (ValueError, TypeError):
            continue
        if value > utcnow().date() or value.year < 1900:
            raise ValidationFailed("birthday", N_("is not a real birthday"))
        return value
    raise ValidationFailed("birthday", N_("a date like 31.12.1980"))


def _validated(data: dict[str, Any], region: str, current: ContactPerson | None = None
               ) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, limit in _LIMITS.items():
        if key in data:
            value = _clean(data.get(key))
            if value is not None and len(str(value)) > limit:
                raise ValidationFailed(key, N_("at most {limit} characters"), limit=limit)
            out[key] = value
    if "first_name" in out or current is None:
        if not out.get("first_name"):
            raise ValidationFailed("first_name", N_("is empty"))
    if "phones" in data:
        raw = data.get("phones") or []
        if isinstance(raw, str):
            raw = [p for p in raw.replace(";", ",").split(",")]
        out["phones"] = list(dict.fromkeys(
            normalize_phone(str(p), region, "phones") for p in raw if str(p).strip()))[:10]
    if "emails" in data:
        raw = data.get("emails") or []
        if isinstance(raw, str):
            raw = [e for e in raw.replace(";", ",").split(",")]
        out["emails"] = list(dict.fromkeys(
            normalize_email(str(e), "emails") for e in raw if str(e).strip()))[:10]
    if "birthday" in data:
        out["birthday"] = _birthday(data.get("birthday"))
    return out


def _derive(contact: ContactPerson) -> None:
    contact.phone_digits = " ".join(digits(p) for p in contact.phones)
    contact.search_text = search_blob(contact.first_name, contact.last_name, *contact.emails)


async def get_contact(actor: User, contact_id: int) -> ContactPerson:
    """A contact of a client ``actor`` may see (archived ones too), else NotFound."""
    contact = await ContactPerson.get_or_none(id=contact_id)
    if contact is None:
        raise NotFound("contact")
    try:
        await get_client(actor, contact.client_id)
    except NotFound:
        raise NotFound("contact") from None
    return contact


async def find_contact(contact_id: int) -> ContactPerson | None:
    """A contact person by id without an access check (one a service found for the
    person, e.g. named in a quick log)."""
    return await ContactPerson.get_or_none(id=contact_id)


async def list_contacts(actor: User, client_id: int, *, archived: bool = False
                        ) -> list[ContactPerson]:
    """The client's contact persons by name; ``archived``: the archived ones instead."""
    client = await get_client(actor, client_id)
    return await ContactPerson.filter(client_id=client.id,
                                      archived_at__isnull=not archived).order_by(
        "last_name", "first_name", "id")


async def do_add_contact(actor: User, client_id: int, data: dict[str, Any], *,
                         source: str = "web", region: str = "RU") -> ContactPerson:
    """S-3: a contact person with phones, emails and messengers, validated."""
    client = await get_client(actor, client_id)
    values = _validated({**data, "phones": data.get("phones") or [],
                         "emails": data.get("emails") or []}, region)
    async with in_transaction():
        contact = ContactPerson(client=client, messengers=data.get("messengers") or {},
                                telegram_id=data.get("telegram_id"), **values)
        _derive(contact)
        await contact.save()
        await _audit(actor, source, "contact", contact.id, client.id, "create",
                     new=_name_of(contact))
        if data.get("custom"):  # its extra parameters (S-3); refused: nothing is saved
            await customfields.do_set_values(actor, "contact", contact.id, data["custom"],
                                             source=source)
        await _refresh_derived(client)
        await client.save()
    return contact


async def do_update_contact(actor: User, contact_id: int, changes: dict[str, Any], *,
                            source: str = "web", region: str = "RU") -> ContactPerson:
    """Change a contact's fields (those in ``changes``), audited field by field."""
    contact = await get_contact(actor, contact_id)
    unknown = set(changes) - set(EDITABLE)
    if unknown:
        raise ValidationFailed(sorted(unknown)[0], N_("cannot be changed"))
    values = _validated(changes, region, contact)
    changed = {k: v for k, v in values.items() if getattr(contact, k) != v}
    custom = changes.get("custom")
    if not changed and not custom:
        return contact
    async with in_transaction():
        if custom:
            await customfields.do_set_values(actor, "contact", contact.id, custom,
                                             source=source)
        for key, value in changed.items():
            old = getattr(contact, key)
            setattr(contact, key, value)
            await _audit(actor, source, "contact", contact.id, contact.client_id, "update",
                         key, _shown(old), _shown(value))
        _derive(contact)
        await contact.save()
        client = await contact.client
        await _refresh_derived(client)
        await client.save()
    return contact


def _shown(value: Any) -> Any:
    if isinstance(value, list):
        return ", ".join(str(v) for v in value) or None
    return value


async def _set_archived(actor: User, contact_id: int, archived: bool, source: str
                        ) -> ContactPerson:
    contact = await get_contact(actor, contact_id)
    if (contact.archived_at is not None) == archived:
        return contact
    async with in_transaction():
        contact.archived_at = utcnow() if archived else None
        await contact.save(update_fields=["archived_at"])
        await _audit(actor, source, "contact", contact.id, contact.client_id,
                     "archive" if archived else "restore", old=None, new=_name_of(contact))
        client = await contact.client
        await _refresh_derived(client)
        await client.save()
    return contact


async def do_archive_contact(actor: User, contact_id: int, *, source: str = "web"
                             ) -> ContactPerson:
    return await _set_archived(actor, contact_id, True, source)


async def do_restore_contact(actor: User, contact_id: int, *, source: str = "web"
                             ) -> ContactPerson:
    return await _set_archived(actor, contact_id, False, source)
