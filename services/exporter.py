"""Export of a client list to CSV or XLSX (issue 3, "Web": export of any list).

Exports what :func:`services.clients.visible_clients` lets the person see (A-3),
optionally narrowed by a search query, read from SQL in chunks of ``CHUNK`` clients
(keyset paging by id) so that the database never hands over the whole table at once.

CSV: UTF-8 with a BOM and ";" between fields, what Excel in Russian and Ukrainian
locales opens correctly. XLSX: openpyxl in write-only mode (rows streamed to a
temporary file). Cells that a spreadsheet would run as a formula are prefixed with
an apostrophe; :mod:`services.importer` removes it again, so an export imports back.
"""

from __future__ import annotations

import asyncio
import csv
import io
import re
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from typing import Any, Literal

from models import ClientManager, LegalEntity, User
from services.clientlist import ClientFilters, filtered

CHUNK = 1000
EXPORT_BATCH = 500  # rows written to the file per trip to a thread

HEADERS: tuple[str, ...] = (
    "id", "name", "kind", "short_name", "phone", "email", "website",
    "country", "region", "city", "district", "street", "building", "office", "postal_code",
    "legal_name", "inn", "kpp", "ogrn", "edrpou", "ipn", "bik", "bank_name", "account",
    "iban", "managers", "completeness", "created_at",
)

# the export's headers → import fields (services.importer.COLUMNS): a round trip
IMPORT_MAPPING: dict[str, str] = {
    "name": "name", "kind": "kind", "short_name": "short_name", "phone": "phone",
    "email": "email", "website": "website", "country": "country", "street": "street",
    "building": "building", "office": "office", "postal_code": "postal_code",
    "legal_name": "legal.name", "inn": "legal.inn", "kpp": "legal.kpp", "ogrn": "legal.ogrn",
    "edrpou": "legal.edrpou", "ipn": "legal.ipn", "bik": "legal.bik", "iban": "legal.iban",
}

def N_(text: str) -> str:  # noqa: N802 - marks a string for extraction only
    return text


# the headers as a person reads them (issue 17), translated by the caller's gettext; an
# import guesses them back (services.importer knows these spellings in ru, uk and en)
LABELS: dict[str, str] = {
    "id": "ID", "name": N_("Name"), "kind": N_("Type"), "short_name": N_("Short name"),
    "phone": N_("Phone"), "email": "E-mail", "website": N_("Website"),
    "country": N_("Country"), "region": N_("Region"), "city": N_("City"),
    "district": N_("District"), "street": N_("Street"), "building": N_("Building"),
    "office": N_("Office"), "postal_code": N_("Postal code"), "legal_name": N_("Legal entity"),
    "inn": N_("INN (Russia)"), "kpp": N_("KPP"), "ogrn": N_("OGRN"), "edrpou": N_("EDRPOU"),
    "ipn": N_("IPN"), "bik": N_("BIK"), "bank_name": N_("Bank"), "account": N_("Account"),
    "iban": N_("IBAN"), "managers": N_("Managers"), "completeness": N_("Completeness, %"),
    "created_at": N_("Created"),
}
KINDS = {"company": N_("Company"), "individual": N_("Individual")}

_CLIENT_VALUES = ("id", "name", "kind", "short_name", "phone", "email", "website", "country",
                  "region__name", "city__name", "district__name", "street", "building",
                  "office", "postal_code", "completeness", "created_at")
_LEGAL_VALUES = ("client_id", "name", "inn", "kpp", "ogrn", "edrpou", "ipn", "bik",
                 "bank_name", "account", "iban", "is_primary", "id")
_FORMULA = re.compile(r"^[=@]|^[+-](?![\d\s()+-]*$)")


def _safe(value: Any) -> Any:
    """A text cell that Excel would evaluate (=, @, or +/- not followed by a number)
    gets a leading apostrophe (CSV/formula injection)."""
    if isinstance(value, str) and value and _FORMULA.match(value):
        return "'" + value
    return value


def _iso(value: datetime | None) -> str | None:
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).isoformat()


async def _client_rows(actor: User, filters: ClientFilters
                      ) -> AsyncIterator[list[dict[str, Any]]]:
    qs = await filtered(actor, filters)
    if qs is None:
        return
    last = 0
    while True:
        chunk = await qs.filter(id__gt=last).order_by("id").limit(CHUNK).values(
            *_CLIENT_VALUES)
        if not chunk:
            return
        yield chunk
        last = chunk[-1]["id"]
        if len(chunk) < CHUNK:
            return


def _cell(value: Any) -> Any:
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    if value is None or isinstance(value, (str, int, float)):
        return value
    return str(value)


async def _rows(actor: User, filters: ClientFilters, custom_codes: list[str],
                kind: Callable[[str], str]) -> AsyncIterator[list[Any]]:
    from services.customfields import values_for_clients

    async for chunk in _client_rows(actor, filters):
        ids = [c["id"] for c in chunk]
        # only the custom fields the person may see (A-3: confidential ones never leave)
        custom = await values_for_clients(actor, ids) if custom_codes else {}
        legal: dict[int, dict[str, Any]] = {}
        # the primary legal entity, or the first one if none is marked primary
        for le in sorted(await LegalEntity.filter(client_id__in=ids).values(*_LEGAL_VALUES),
                         key=lambda r: (not r["is_primary"], r["id"])):
            legal.setdefault(le["client_id"], le)
        managers: dict[int, list[str]] = {}
        for m in await ClientManager.filter(client_id__in=ids, unassigned_at=None).order_by(
                "-is_primary", "assigned_at", "id").values("client_id", "user__full_name"):
            managers.setdefault(m["client_id"], []).append(m["user__full_name"])
        for c in chunk:
            le = legal.get(c["id"], {})
            yield [
                c["id"], c["name"], kind(str(c["kind"])),
                c["short_name"], c["phone"], c["email"], c["website"], c["country"],
                c["region__name"], c["city__name"], c["district__name"], c["street"],
                c["building"], c["office"], c["postal_code"],
                le.get("name"), le.get("inn"), le.get("kpp"), le.get("ogrn"),
                le.get("edrpou"), le.get("ipn"), le.get("bik"), le.get("bank_name"),
                le.get("account"), le.get("iban"),
                ", ".join(managers.get(c["id"], [])), c["completeness"],
                _iso(c["created_at"]),
                *(_cell(custom.get(c["id"], {}).get(code)) for code in custom_codes),
            ]


async def export_clients(actor: User, *, query: str | None = None,
                         filters: ClientFilters | None = None,
                         fmt: Literal["csv", "xlsx"] = "csv",
                         gettext: Callable[[str], str] | None = None) -> bytes:
    """The clients ``actor`` may see, narrowed as the list is (``filters``: segment,
    classifier branch, list and search; ``query`` alone is a search), as a CSV or XLSX
    file with a column for each custom field they may see. With ``gettext`` the headers
    and the kinds are in the person's language and custom columns carry the field's
    name; without it, codes (``cf:<code>``) for programs."""
    from services.customfields import fields_for

    filters = filters or ClientFilters(q=query)
    fields = await fields_for(actor, "client")
    custom_codes = [f.code for f in fields]
    if gettext is None:
        headers = [*HEADERS, *(f"cf:{code}" for code in custom_codes)]
        kind = str
    else:
        headers = [*(gettext(LABELS[h]) if h != "id" else "ID" for h in HEADERS),
                   *(f.name for f in fields)]

        def kind(code: str) -> str:
            return gettext(KINDS[code]) if code in KINDS else code
    if fmt not in ("csv", "xlsx"):
        raise ValueError(f"unknown export format {fmt!r}")
    # the rows come from the database a batch at a time; writing them (and packing an
    # XLSX) is CPU work, done in a thread so the event loop stays free
    if fmt == "csv":
        out = io.BytesIO()
        out.write("\ufeff".encode())
        text = io.TextIOWrapper(out, encoding="utf-8", newline="")
        writer = csv.writer(text, delimiter=";", quoting=csv.QUOTE_MINIMAL,
                            lineterminator="\r\n")
        writer.writerow(headers)

        def append(rows: list[list]) -> None:
            writer.writerows(["" if v is None else _safe(v) for v in row] for row in rows)
    else:
        from openpyxl import Workbook

        wb = Workbook(write_only=True)
        ws = wb.create_sheet("clients")
        ws.append(headers)

        def append(rows: list[list]) -> None:
            for row in rows:
                ws.append([_safe(v) for v in row])

    batch: list[list] = []
    async for row in _rows(actor, filters, custom_codes, kind):
        batch.append(row)
        if len(batch) >= EXPORT_BATCH:
            await asyncio.to_thread(append, batch)
            batch = []
    await asyncio.to_thread(append, batch)
    if fmt == "csv":
        text.flush()
        data = out.getvalue()
        text.detach()
        return data

    def pack() -> bytes:
        buffer = io.BytesIO()
        wb.save(buffer)
        return buffer.getvalue()

    return await asyncio.to_thread(pack)
