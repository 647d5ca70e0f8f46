"""The client dossier: create, change, see (S-1, S-3, S-6, S-10, A-3, A-5); its search
(S-11) is services.client_search, over the tokens written here.

Access (A-3): a manager sees and edits the clients assigned to them; a head, those
assigned to anyone in their department or below; an admin, all. Every change is in
the audit log with who, when, where from, old and new value.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, quote_plus

import phonenumbers
from email_validator import EmailNotValidError, validate_email
from tortoise.expressions import Q, Subquery
from tortoise.queryset import QuerySet
from tortoise.transactions import in_transaction

from models import (
    AuditLog,
    Client,
    ClientKind,
    ClientManager,
    ClientSearchToken,
    ContactPerson,
    LegalEntity,
    Role,
    Setting,
    User,
)
from services import dictionaries as dicts
from services.bulk_rows import insert_rows
from services.derived import derived_fields, search_tokens
from services.errors import N_, NotFound, PermissionDenied, ValidationFailed
from services.permissions import department_subtree_ids
from services.requisites import (
    check_account,
    check_bik,
    check_edrpou,
    check_iban,
    check_inn,
    check_ipn,
    check_kpp,
    check_mfo,
    check_ogrn,
)

SOURCES = ("bot", "web", "miniapp", "api", "import", "system")
DEFAULT_WEIGHTS = {"name": 10, "phone": 20, "email": 15, "address": 15, "requisites": 20,
                   "contact": 20}


# --- validation --------------------------------------------------------------------
def normalize_phone(raw: str, region: str = "RU", field: str = "phone") -> str:
    """Any way people write a phone → E.164 (+79161234567)."""
    try:
        number = phonenumbers.parse(raw or "", region)
    except phonenumbers.NumberParseException:
        raise ValidationFailed(field, N_("«{raw}» is not a phone number"), raw=raw)
    if not phonenumbers.is_possible_number(number) or not phonenumbers.is_valid_number(number):
        raise ValidationFailed(field, N_("«{raw}» is not a valid phone number"), raw=raw)
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def normalize_email(raw: str, field: str = "email") -> str:
    try:
        return validate_email((raw or "").strip(), check_deliverability=False).normalized
    except EmailNotValidError:  # the library's own words are English: ours instead
        if "@" not in (raw or ""):
            raise ValidationFailed(field, N_("«{raw}» is not an email address: it has no @"),
                                   raw=raw) from None
        raise ValidationFailed(field, N_("«{raw}» is not a valid email address"),
                               raw=raw) from None


def _clean(value: Any) -> Any:
    if isinstance(value, str):
        value = value.strip()
        return value or None
    return value


# --- access ------------------------------------------------------------------------
async def visible_clients(actor: User, *, archived: bool | None = False) -> QuerySet[Client]:
    """The clients ``actor`` may see (A-3), as a query to filter further in SQL:
    the current ones (every list and search), with ``archived=True`` the archived ones
    instead (services.client_archive), with ``archived=None`` both."""
    return (await visible_clients_and_rows(actor, archived=archived))[0]


async def visible_clients_and_rows(actor: User, *, archived: bool | None = False
                                   ) -> tuple[QuerySet[Client], Subquery | None]:
    """:func:`visible_clients`, and the subquery of the ids of the clients ``actor``
    manages it was made with (None for an admin), for a caller that filters other rows
    by it too (the search's index walk) without working it out again."""
    if actor is None or not actor.is_active:
        raise PermissionDenied("not staff")
    qs = Client.all() if archived is None else Client.filter(archived_at__isnull=not archived)
    managed = await _managed_rows(actor)
    return (qs if managed is None else qs.filter(id__in=managed)), managed


async def _managed_rows(actor: User) -> Subquery | None:
    """The ids of the clients ``actor`` manages (a head: their departments'), as a
    subquery; None for an admin, who sees every client."""
    if actor.role == Role.ADMIN:
        return None
    if actor.role == Role.HEAD and actor.department_id is not None:
        depts = await department_subtree_ids(actor.department_id)
        managed = ClientManager.filter(unassigned_at=None, user__department_id__in=list(depts))
    else:
        managed = ClientManager.filter(unassigned_at=None, user_id=actor.id)
    return Subquery(managed.values("client_id"))


async def visible_filter(actor: User, relation: str | None = "client") -> Q:
    """A filter for rows of another model that belong to a current client ``actor`` sees
    through its foreign key ``relation``: a join on the client for an admin, the
    managers' rows for the others — never a subquery listing every client (sorted by
    name, as the model orders them) for each row asked. ``relation=None``: the filter
    for clients themselves (to exclude the ones a person sees, say)."""
    if actor is None or not actor.is_active:
        raise PermissionDenied("not staff")
    prefix, key = (f"{relation}__", f"{relation}_id") if relation else ("", "id")
    current = Q(**{f"{prefix}archived_at__isnull": True})
    managed = await _managed_rows(actor)
    return current if managed is None else current & Q(**{f"{key}__in": managed})


# a client found for a person by get_client, which the sections of one page read again
_CHECKED: ContextVar[tuple[int, Client] | None] = ContextVar("checked_client", default=None)


@contextmanager
def checked_client(actor: User, client: Client) -> Iterator[None]:
    """Within the block, ``get_client(actor, client.id)`` returns ``client`` — found for
    ``actor`` by :func:`get_client` just before — without asking the database again
    (a page's sections each check the client they show). Another person or client is
    checked as ever; the block is one request's (a context variable)."""
    token = _CHECKED.set((actor.id, client))
    try:
        yield
    finally:
        _CHECKED.reset(token)


async def get_client(actor: User, client_id: int, *, with_archived: bool = False) -> Client:
    """A current client ``actor`` may see; ``with_archived``: an archived one too (its
    card and history are read; nothing changes an archived client but restoring it)."""
    checked = _CHECKED.get()
    if checked is not None and checked[0] == actor.id and checked[1].id == client_id:
        return checked[1]
    qs = await visible_clients(actor, archived=None if with_archived else False)
    client = await qs.get_or_none(id=client_id)
    if client is None:
        # not there, or not theirs: the same answer, so ids reveal nothing
        raise NotFound("client")
    return client


async def find_client(client_id: int) -> Client | None:
    """A client by id without an access check: one a front end has already shown the
    person (the card they opened, a quick log's match), archived or not."""
    return await Client.get_or_none(id=client_id)


async def clients_by_ids(ids: list[int]) -> list[Client]:
    """The clients with these ids (found for the person earlier), by name."""
    return await Client.filter(id__in=ids).order_by("name")


# --- changes -----------------------------------------------------------------------
@dataclass
class Notice:
    """Something to tell a person after the commit (the front end delivers it)."""

    user_id: int
    kind: str  # "assigned" | "unassigned"
    client_id: int
    client_name: str
    by_user_id: int | None


@dataclass
class ClientResult:
    client: Client
    notices: list[Notice] = field(default_factory=list)


async def _audit(actor: User | None, source: str, entity: str, object_id: int,
                 client_id: int | None, action: str, field_name: str | None = None,
                 old: Any = None, new: Any = None) -> None:
    await AuditLog.create(
        user_id=actor.id if actor else None, source=source, entity=entity,
        object_id=object_id, client_id=client_id, action=action, field=field_name,
        old_value=None if old is None else str(old), new_value=None if new is None else str(new))


CLIENT_FIELDS = ("kind", "name", "short_name", "last_name", "first_name", "middle_name",
                 "phone", "email", "website", "country", "street", "building", "office",
                 "postal_code", "notes", "list_type", "is_group")
CONSENT_FIELDS = ("email_consent", "sms_consent", "do_not_contact")
LEGAL_FIELDS = ("name", "country", "inn", "kpp", "ogrn", "edrpou", "ipn", "legal_address",
                "bank_name", "bik", "account", "corr_account", "mfo", "iban")


def _validated_client(data: dict[str, Any], region: str) -> dict[str, Any]:
    out = {k: _clean(data.get(k)) for k in CLIENT_FIELDS if k in data}
    kind = out.get("kind") or ClientKind.COMPANY
    if kind not in (ClientKind.COMPANY, ClientKind.INDIVIDUAL):
        raise ValidationFailed("kind", N_("must be company or individual"))
    if kind == ClientKind.INDIVIDUAL and not out.get("name"):
        full = " ".join(p for p in (out.get("last_name"), out.get("first_name"),
                                    out.get("middle_name")) if p)
        out["name"] = full or None
    if "name" in out or "kind" in data:
        if not out.get("name"):
            raise ValidationFailed("name", N_("is empty"))
        if not any(ch.isalnum() for ch in out["name"]):
            raise ValidationFailed("name", N_("must contain a letter or a digit"))
        if len(out["name"]) > 300:
            raise ValidationFailed("name", N_("is longer than 300 characters"))
    if out.get("phone"):
        out["phone"] = normalize_phone(out["phone"], region)
    if out.get("email"):
        out["email"] = normalize_email(out["email"])
    if out.get("country") and len(out["country"]) != 2:
        raise ValidationFailed("country", N_("use a two-letter code such as RU or UA"))
    for key in CONSENT_FIELDS:  # K-16
        if key in data:
            if not isinstance(data[key], bool):
                raise ValidationFailed(key, N_("yes or no"))
            out[key] = data[key]
    return out


REF_FIELDS = ("region_id", "city_id", "district_id", "ad_source_id")


async def _validated_refs(data: dict[str, Any], current: Client | None = None
                          ) -> tuple[dict[str, Any], list[Any] | None]:
    """S-4, A-16, S-8, A-17: the dictionary parts of a card. ``region_id``, ``city_id``,
    ``district_id`` and ``ad_source_id`` (None or 0 clears) and ``sphere_ids`` (a list)
    must be items of their dictionaries, the address parts must fit together (the
    values not given are taken from ``current``). Returns the foreign keys given and
    the sphere items (None when not given)."""
    refs: dict[str, Any] = {}
    for key in REF_FIELDS:
        if key in data:
            value = data[key] or None
            if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
                raise ValidationFailed(key.removesuffix("_id"), N_("choose a value from the list"))
            refs[key] = value
    if any(k in refs for k in ("region_id", "city_id", "district_id")):
        address = {k: refs.get(k, getattr(current, k, None) if current else None)
                   for k in ("region_id", "city_id", "district_id")}
        await dicts.check_address(address["region_id"], address["city_id"],
                                  address["district_id"])
    if refs.get("ad_source_id") is not None:
        source = await dicts.get_dictionary(dicts.AD_SOURCE)
        await dicts.find_item(source, refs["ad_source_id"], field="ad_source")
    spheres = None
    if "sphere_ids" in data:
        raw = data["sphere_ids"] or []
        if not isinstance(raw, list | tuple):
            raise ValidationFailed("spheres", N_("choose values from the list"))
        dictionary = await dicts.get_dictionary(dicts.SPHERE)
        spheres = [await dicts.find_item(dictionary, r, field="spheres")
                   for r in dict.fromkeys(raw)]
    return refs, spheres


async def _apply_spheres(actor: User, source: str, client: Client, spheres: list[Any]) -> None:
    await client.fetch_related("spheres")
    old = {s.id: s.name for s in client.spheres}
    new = {s.id: s.name for s in spheres}
    if old.keys() == new.keys():
        return
    if gone := [s for s in client.spheres if s.id not in new]:
        await client.spheres.remove(*gone)
    if added := [s for s in spheres if s.id not in old]:
        await client.spheres.add(*added)
    await _audit(actor, source, "client", client.id, client.id, "update", "spheres",
                 ", ".join(sorted(old.values())) or None, ", ".join(sorted(new.values())) or None)


async def _ref_names(*ids: int | None) -> dict[int, str]:
    from models import DictionaryItem

    wanted = [i for i in ids if i]
    if not wanted:
        return {}
    return dict(await DictionaryItem.filter(id__in=wanted).values_list("id", "name"))


async def address_of(client: Client) -> str:
    """S-4: the address in one line, as people write it in RU/UA (region, city,
    district, street, building, office); empty when nothing is filled."""
    names = await _ref_names(client.region_id, client.city_id, client.district_id)
    parts = [names.get(client.region_id), names.get(client.city_id),
             names.get(client.district_id), client.street, client.building, client.office]
    return ", ".join(p for p in parts if p)


async def sphere_ids(client: Client) -> set[int]:
    """The ids of the client's business spheres (S-8)."""
    return {s.id for s in await client.spheres.all()}


async def load_references(client: Client) -> Client:
    """The client with its region, city, district, advertising source and spheres
    loaded (the card shows their names)."""
    await client.fetch_related("region", "city", "district", "ad_source", "spheres")
    return client


def map_links(address: str) -> list[tuple[str, str]]:
    """S-4: the address on 2GIS, Yandex Maps and Google Maps."""
    return [
        ("2GIS", f"https://2gis.ru/search/{quote(address)}"),
        ("Yandex", f"https://yandex.ru/maps/?text={quote_plus(address)}"),
        ("Google", f"https://www.google.com/maps/search/?api=1&query={quote_plus(address)}"),
    ]


def _validated_legal(data: dict[str, Any]) -> dict[str, Any]:
    out = {k: _clean(data.get(k)) for k in LEGAL_FIELDS if k in data}
    checks = {"inn": check_inn, "kpp": check_kpp, "ogrn": check_ogrn, "edrpou": check_edrpou,
              "ipn": check_ipn, "bik": check_bik, "iban": check_iban, "mfo": check_mfo,
              "corr_account": check_account}
    for key, check in checks.items():
        if out.get(key):
            out[key] = check(out[key], f"legal.{key}")
    if out.get("account"):  # twenty digits in Russia; an IBAN (up to 34) in Ukraine
        account = out["account"].replace(" ", "")
        if len(account) > 34 or not account.isalnum():
            raise ValidationFailed("legal.account", N_("an account number is 20 digits or "
                                                       "an IBAN"))
        out["account"] = account
    for key, limit in (("name", 300), ("legal_address", 400), ("bank_name", 200)):
        if out.get(key) and len(out[key]) > limit:
            raise ValidationFailed(f"legal.{key}", N_("is longer than {limit} characters"),
                                   limit=limit)
    if out.get("country") and len(out["country"]) != 2:
        raise ValidationFailed("legal.country", N_("use a two-letter code such as RU or UA"))
    if not out.get("name"):
        raise ValidationFailed("legal.name", N_("is empty"))
    return out


async def _refresh_derived(client: Client) -> None:
    """Phone digits, search text, completeness (services.derived, as the importer) and
    the search tokens of the card; the tokens are replaced at once (S-11)."""
    contacts = await ContactPerson.filter(client_id=client.id, archived_at=None).values(
        "last_name", "first_name", "phone_digits", "emails")
    legal = await LegalEntity.filter(client_id=client.id).values("inn", "edrpou", "ipn", "name")
    setting = await Setting.get_or_none(key="completeness.weights")
    client.phone_digits, client.search_text, client.completeness = derived_fields(
        name=client.name, short_name=client.short_name, email=client.email,
        phone=client.phone, street=client.street, city_id=client.city_id,
        contacts=[(c["last_name"], c["first_name"], c["phone_digits"]) for c in contacts],
        legal=legal, weights=setting.value if setting else DEFAULT_WEIGHTS)
    if client.id is not None:
        tokens = search_tokens(
            search_text=client.search_text, phone=client.phone, legal=legal,
            contacts=[(c["phone_digits"], c["emails"]) for c in contacts])
        await ClientSearchToken.filter(client_id=client.id).delete()
        await save_tokens([(client.id, t) for t in tokens], names={client.id: client.name})


async def save_tokens(pairs: list[tuple[int, str]], *, using_db=None,
                      names: dict[int, str] | None = None) -> None:
    """(client id, token) rows of the search index, each with its client's name (from
    ``names``, else read in one query: the clients must be written first), and each new
    word with a letter in the vocabulary the search ranks and expands (S-11,
    services.client_search; digits alone — phones, tax codes — are only ever matched
    in the tokens, and were half the vocabulary's writes): three statements at most
    whatever the number of pairs (services.bulk_rows; issue 19 — no ORM object per
    token)."""
    if not pairs:
        return
    conn = using_db or ClientSearchToken._choose_db(for_write=True)  # noqa: SLF001
    names = dict(names or {})
    if missing := sorted({c for c, _t in pairs} - names.keys()):
        rows = await conn.execute_query_dict(
            f"SELECT id, name FROM client WHERE id IN ({','.join(map(str, map(int, missing)))})")
        names.update((r["id"], r["name"]) for r in rows)
    await insert_rows(conn, "client_search_token",
                      (("client_id", "integer"), ("token", "varchar"),
                       ("client_name", "varchar")),
                      [(c, t, names.get(c, "")) for c, t in pairs])
    await insert_rows(conn, "search_word", (("token", "varchar"),),
                      [(w,) for w in sorted({t for _c, t in pairs if not t.isdigit()})],
                      ignore_conflicts=True)


async def do_reindex_missing(*, batch: int = 500) -> int:
    """Index the clients that have no search token (made before migration 0003, or by
    a tool writing the table directly): S-11 finds them afterwards. Batches of
    ``batch``, each in its own transaction; returns how many were indexed."""
    done = last = 0
    conn = Client._choose_db()  # noqa: SLF001
    while True:
        # NOT EXISTS, an index probe per client (client_id): "NOT IN (SELECT client_id
        # ...)" over millions of tokens can't be hashed and ran for hours
        rows = await conn.execute_query_dict(
            f"SELECT c.id FROM client c WHERE c.id > {int(last)} AND NOT EXISTS "
            "(SELECT 1 FROM client_search_token t WHERE t.client_id = c.id) "
            f"ORDER BY c.id LIMIT {int(batch)}")
        ids = [r["id"] for r in rows]
        if not ids:
            return done
        async with in_transaction():
            for client in await Client.filter(id__in=list(ids)):
                await _refresh_derived(client)
                await client.save(update_fields=["phone_digits", "search_text",
                                                 "completeness"])
        done += len(ids)
        last = ids[-1]  # a card with no word at all gets no token: not looked at again


async def completeness(client: Client, *, has_contact: bool, has_requisites: bool) -> int:
    """S-10: percent of the configured weights the card fills."""
    setting = await Setting.get_or_none(key="completeness.weights")
    weights = setting.value if setting else DEFAULT_WEIGHTS
    filled = {
        "name": bool(client.name), "phone": bool(client.phone), "email": bool(client.email),
        "address": bool(client.city_id or client.street), "requisites": has_requisites,
        "contact": has_contact,
    }
    total = sum(weights.values()) or 1
    return round(100 * sum(w for k, w in weights.items() if filled.get(k)) / total)


async def _check_minimum(client: Client) -> None:
    setting = await Setting.get_or_none(key="completeness.minimum")
    minimum = int(setting.value) if setting else 0
    if client.completeness < minimum:
        raise ValidationFailed("completeness", N_("the card is {percent} complete; at least "
                                                  "{minimum} is required"),
                               percent=f"{client.completeness}%", minimum=f"{minimum}%")


async def do_create_client(actor: User, data: dict[str, Any], *, source: str = "web",
                           region: str = "RU") -> ClientResult:
    """Create a client (with its first legal entity and contact, if given); the author
    becomes its manager. Atomic; notices to deliver after the commit."""
    if not actor.is_active:
        raise PermissionDenied("not staff")
    values = _validated_client(data, region)
    legal = _validated_legal(data["legal"]) if data.get("legal") else None
    refs, spheres = await _validated_refs(data)
    async with in_transaction():
        client = await Client.create(created_by=actor, **values, **refs)
        if spheres:
            await client.spheres.add(*spheres)
        if legal:
            await LegalEntity.create(client=client, is_primary=True, **legal)
        await ClientManager.create(client=client, user=actor, assigned_by=actor,
                                   is_primary=True)
        await _refresh_derived(client)
        await _check_minimum(client)
        await client.save()
        await _audit(actor, source, "client", client.id, client.id, "create",
                     new=client.name)
    if client.ad_source_id:  # K-10: after the commit; never fails the save
        from services.attribution import touch_from_ad_source

        await touch_from_ad_source(client=client)
    return ClientResult(client)


async def do_update_client(actor: User, client_id: int, changes: dict[str, Any], *,
                           source: str = "web", region: str = "RU") -> ClientResult:
    client = await get_client(actor, client_id)
    values = _validated_client({"kind": client.kind, "name": client.name, **changes}, region)
    values = {k: v for k, v in values.items() if k in changes}
    refs, spheres = await _validated_refs(changes, client)
    names = await _ref_names(*refs.values(), *(getattr(client, k) for k in refs))
    async with in_transaction():
        for key, new in values.items():
            old = getattr(client, key)
            if old != new:
                setattr(client, key, new)
                await _audit(actor, source, "client", client.id, client.id, "update", key,
                             old, new)
        for key, new in refs.items():
            old = getattr(client, key)
            if old != new:
                setattr(client, key, new)
                await _audit(actor, source, "client", client.id, client.id, "update",
                             key.removesuffix("_id"), names.get(old), names.get(new))
        if spheres is not None:
            await _apply_spheres(actor, source, client, spheres)
        await _refresh_derived(client)
        await _check_minimum(client)
        await client.save()
    return ClientResult(client)


async def do_add_legal_entity(actor: User, client_id: int, data: dict[str, Any], *,
                              source: str = "web") -> LegalEntity:
    client = await get_client(actor, client_id)
    values = _validated_legal(data)
    async with in_transaction():
        first = not await LegalEntity.exists(client_id=client.id)
        entity = await LegalEntity.create(client=client, is_primary=first, **values)
        await _audit(actor, source, "legal_entity", entity.id, client.id, "create",
                     new=entity.name)
        await _refresh_derived(client)
        await client.save()
    return entity


async def my_clients(actor: User, *, offset: int = 0, limit: int = 10
                     ) -> tuple[list[Client], int]:
    """The current clients ``actor`` manages (archived ones left out), by name: a page
    and the total."""
    qs = Client.filter(archived_at=None, id__in=Subquery(ClientManager.filter(
        user_id=actor.id, unassigned_at=None).values("client_id")))
    return await qs.order_by("name", "id").offset(offset).limit(limit), await qs.count()
