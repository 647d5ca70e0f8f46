"""Import of clients from CSV and XLSX with column mapping, a dry run listing errors by
row, de-duplication by INN/EDRPOU, phone and email, and progress (issue 3, "Web").

The file is read as a stream (CSV through the ``csv`` module, XLSX through a streaming
expat reader, services.xlsx_stream) and handled in batches of ``batch_size`` rows: each
batch is read in a thread, validated with the rules of :mod:`services.clients` and made
ready to write (search tokens, a contact's stored values) in a worker process
(services.bounded, as many batches at once as there are workers) while the previous
batch is checked for duplicates against the database in one statement and against the
earlier rows of the file, and written as tuples in one transaction per batch
(services.import_write), in the file's order. Memory stays flat whatever the file's size.

Row numbers in the report are those a person sees in the file: the header is row 1.
"""

from __future__ import annotations

import asyncio
import inspect
from array import array
from bisect import bisect_left
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from itertools import islice
from typing import Any

import phonenumbers

from models import (
    ClientKind,
    Setting,
    User,
)
from services import bounded
from services.clients import (
    DEFAULT_WEIGHTS,
    _validated_client,
    _validated_legal,
    normalize_email,
    normalize_phone,
)
from services.derived import derived_fields
from services.errors import N_, PermissionDenied, Text, ValidationFailed
from services.import_write import ImportRow as _Row
from services.import_write import existing_keys, prepare, write_batch
from services.tabular import Source, Table, read_headers, read_preview  # noqa: F401
from services.text import digits

# --- what a column may be mapped to ----------------------------------------------------
COLUMNS: tuple[str, ...] = (
    "name", "kind", "short_name", "phone", "email", "website", "country", "street",
    "building", "office", "postal_code", "notes",
    "legal.name", "legal.inn", "legal.kpp", "legal.ogrn", "legal.edrpou", "legal.ipn",
    "legal.bik", "legal.iban",
    "contact.first_name", "contact.last_name", "contact.phone", "contact.email",
    "contact.position",
)

# what a person sees for each field in the mapping form: msgids, joined with " · " when
# translated (a contact's phone: "Contact person · Phone")
COLUMN_LABELS: dict[str, tuple[str, ...]] = {
    "name": (N_("Name"),), "kind": (N_("Type"),), "short_name": (N_("Short name"),),
    "phone": (N_("Phone"),), "email": ("E-mail",), "website": (N_("Website"),),
    "country": (N_("Country"),), "street": (N_("Street"),), "building": (N_("Building"),),
    "office": (N_("Office"),), "postal_code": (N_("Postal code"),), "notes": (N_("Notes"),),
    "legal.name": (N_("Legal entity"),), "legal.inn": (N_("INN (Russia)"),),
    "legal.kpp": (N_("KPP"),), "legal.ogrn": (N_("OGRN"),), "legal.edrpou": (N_("EDRPOU"),),
    "legal.ipn": (N_("IPN"),), "legal.bik": (N_("BIK"),), "legal.iban": (N_("IBAN"),),
    "contact.first_name": (N_("Contact person"), N_("First name")),
    "contact.last_name": (N_("Contact person"), N_("Last name")),
    "contact.phone": (N_("Contact person"), N_("Phone")),
    "contact.email": (N_("Contact person"), "E-mail"),
    "contact.position": (N_("Contact person"), N_("Position")),
}


def column_labels(gettext: Callable[[str], str]) -> dict[str, str]:
    """Each field a column may be mapped to, in the person's words."""
    return {column: " · ".join(gettext(part) for part in COLUMN_LABELS[column])
            for column in COLUMNS}

# header spellings a person is likely to have in a file → the target field (lower-cased,
# without spaces, dots, dashes and underscores); used by :func:`guess_mapping`
_HEADER_GUESSES: dict[str, str] = {
    **{k.replace(".", "").replace("_", ""): k for k in COLUMNS},
    "название": "name", "наименование": "name", "клиент": "name", "компания": "name",
    "назва": "name", "company": "name", "client": "name", "clientname": "name",
    "тип": "kind", "вид": "kind", "type": "kind",
    "краткоеназвание": "short_name", "коротканазва": "short_name",
    "телефон": "phone", "тел": "phone", "phonenumber": "phone", "mobile": "phone",
    "почта": "email", "электроннаяпочта": "email", "електроннапошта": "email",
    "email": "email", "емейл": "email", "сайт": "website", "site": "website",
    "страна": "country", "країна": "country", "улица": "street", "вулиця": "street",
    "дом": "building", "будинок": "building", "офис": "office", "офіс": "office",
    "индекс": "postal_code", "індекс": "postal_code", "zip": "postal_code",
    "postalcode": "postal_code", "примечание": "notes", "примітка": "notes",
    "комментарий": "notes", "note": "notes", "comment": "notes",
    "юрлицо": "legal.name", "юридическоелицо": "legal.name", "legalname": "legal.name",
    "инн": "legal.inn", "inn": "legal.inn", "кпп": "legal.kpp", "kpp": "legal.kpp",
    "огрн": "legal.ogrn", "ogrn": "legal.ogrn", "огрнип": "legal.ogrn",
    "едрпоу": "legal.edrpou", "єдрпоу": "legal.edrpou", "егрпоу": "legal.edrpou",
    "edrpou": "legal.edrpou",
    "кодєдрпоу": "legal.edrpou", "ипн": "legal.ipn", "іпн": "legal.ipn", "ipn": "legal.ipn",
    "бик": "legal.bik", "bik": "legal.bik", "iban": "legal.iban",
    # this service's export headers in ru, uk and en (services.exporter.LABELS)
    "юрособа": "legal.name", "legalentity": "legal.name", "інн": "legal.inn",
    "інн(рф)": "legal.inn", "inn(russia)": "legal.inn", "одрн(рф)": "legal.ogrn",
    "бік(рф)": "legal.bik", "бік": "legal.bik",
    "инн(украина)": "legal.ipn", "почтовыйиндекс": "postal_code",
    "поштовийіндекс": "postal_code", "shortname": "short_name",
    "контакт": "contact.first_name", "имя": "contact.first_name", "ім'я": "contact.first_name",
    "firstname": "contact.first_name", "фамилия": "contact.last_name",
    "прізвище": "contact.last_name", "lastname": "contact.last_name",
    "должность": "contact.position", "посада": "contact.position",
    "position": "contact.position", "телефонконтакта": "contact.phone",
    "emailконтакта": "contact.email",
}

_KINDS = {
    "company": ClientKind.COMPANY, "компания": ClientKind.COMPANY,
    "организация": ClientKind.COMPANY, "юрлицо": ClientKind.COMPANY, "юр": ClientKind.COMPANY,
    "компанія": ClientKind.COMPANY, "організація": ClientKind.COMPANY,
    "юрособа": ClientKind.COMPANY,
    "individual": ClientKind.INDIVIDUAL, "person": ClientKind.INDIVIDUAL,
    "физлицо": ClientKind.INDIVIDUAL, "физ": ClientKind.INDIVIDUAL,
    "частноелицо": ClientKind.INDIVIDUAL, "фізособа": ClientKind.INDIVIDUAL,
    "фіз": ClientKind.INDIVIDUAL, "приватнаособа": ClientKind.INDIVIDUAL,
    "физическоелицо": ClientKind.INDIVIDUAL, "фізичнаособа": ClientKind.INDIVIDUAL,
}


def _header_key(text: str) -> str:
    return "".join(ch for ch in (text or "").casefold() if ch not in " ._-\t").replace("ё", "е")


def guess_mapping(headers: Iterable[str]) -> dict[str, str]:
    """A first guess of the mapping for the mapping form: known header spellings
    (Russian, Ukrainian, English, and this service's export) → target fields."""
    out: dict[str, str] = {}
    taken: set[str] = set()
    for header in headers:
        target = _HEADER_GUESSES.get(_header_key(header))
        if target and target not in taken:
            out[header] = target
            taken.add(target)
    return out


# --- derived values (services.derived, as services.clients._refresh_derived) -------
async def completeness_settings() -> tuple[dict[str, int], int]:
    """The completeness weights and the minimum (S-10), read once per import."""
    setting = await Setting.get_or_none(key="completeness.weights")
    weights = setting.value if setting else DEFAULT_WEIGHTS
    setting = await Setting.get_or_none(key="completeness.minimum")
    minimum = int(setting.value) if setting else 0
    return weights, minimum


# --- reading files ---------------------------------------------------------------------


# --- the import --------------------------------------------------------------------
@dataclass
class ImportReport:
    rows_total: int = 0
    created: int = 0  # in a dry run: how many would be created
    updated: int = 0
    skipped_duplicates: int = 0
    # (row number as in the file, field, message); duplicates have field "duplicate"
    errors: list[tuple[int, str, str]] = field(default_factory=list)  # str: a Text
    dry_run: bool = False

    @property
    def bad_rows(self) -> int:
        return len({row for row, f, _ in self.errors if f != "duplicate"})


_KEY_LABEL = {"inn": N_("INN"), "edrpou": N_("EDRPOU"), "phone": N_("phone"),
              "email": N_("email")}


def _check_mapping(headers: list[str], mapping: dict[str, str]) -> dict[str, int]:
    """target field → column index."""
    index = {}
    for i, h in enumerate(headers):
        index.setdefault((h or "").strip(), i)
    out: dict[str, int] = {}
    for header, target in mapping.items():
        if not target:
            continue
        if target not in COLUMNS:
            raise ValidationFailed("mapping", N_("unknown field «{target}»"), target=target)
        if (header or "").strip() not in index:
            raise ValidationFailed("mapping", N_("no column «{header}» in the file"), header=header)
        if target in out:
            raise ValidationFailed("mapping", N_("two columns are mapped to «{target}»"),
                                   target=target)
        out[target] = index[(header or "").strip()]
    if "name" not in out and "legal.name" not in out:
        raise ValidationFailed("mapping", N_("map a column to the client's name"))
    return out


def _split_many(text: str | None) -> list[str]:
    if not text:
        return []
    for sep in ";\n,":
        text = text.replace(sep, "\n")
    return [p.strip() for p in text.split("\n") if p.strip()]


def _parse_row(number: int, cells: list[str | None], columns: dict[str, int], region: str,
               weights: dict[str, int], minimum: int,
               errors: list[tuple[int, str, str]]) -> _Row | None:
    """Validate one row with the rules of services.clients; None (and errors) if bad."""
    def get(target: str) -> str | None:
        i = columns.get(target)
        return cells[i] if i is not None and i < len(cells) else None

    bad = False
    raw: dict[str, Any] = {k: get(k) for k in COLUMNS if "." not in k and k in columns}
    raw["name"] = raw.get("name")
    kind = raw.get("kind")
    if kind:
        raw["kind"] = _KINDS.get(_header_key(kind), kind.strip().lower())
    else:
        raw.pop("kind", None)
    country = (raw.get("country") or "").strip().upper() or None
    if country:
        raw["country"] = country
    row_region = country if country in phonenumbers.SUPPORTED_REGIONS else region
    legal_raw = {k[6:]: get(k) for k in columns if k.startswith("legal.")}
    contact_raw = {k[8:]: get(k) for k in columns if k.startswith("contact.")}
    if not raw["name"] and raw.get("kind") != ClientKind.INDIVIDUAL:
        # a file of companies may only name the legal entity
        raw["name"] = legal_raw.get("name")
    client: dict[str, Any] = {}
    try:
        client = _validated_client(raw, row_region)
    except ValidationFailed as exc:
        errors.append((number, exc.field, exc.as_text()))
        bad = True
    legal = None
    if any(legal_raw.values()):
        if not legal_raw.get("name"):
            # the legal entity is named as the client unless a column says otherwise
            # (an empty client name is reported once, as "name")
            legal_raw["name"] = client.get("name") or raw.get("name") or "-"
        try:
            legal = _validated_legal(legal_raw)
            if legal.get("edrpou") and not legal.get("inn"):
                legal["country"] = "UA"
            elif client.get("country"):
                legal["country"] = client["country"]
        except ValidationFailed as exc:
            errors.append((number, exc.field, exc.as_text()))
            bad = True
    contact = None
    if any(contact_raw.values()):
        try:
            first = (contact_raw.get("first_name") or "").strip()
            if not first:
                raise ValidationFailed("contact.first_name", N_("is empty"))
            phones = [normalize_phone(p, row_region, "contact.phone")
                      for p in _split_many(contact_raw.get("phone"))]
            emails = [normalize_email(e, "contact.email")
                      for e in _split_many(contact_raw.get("email"))]
            contact = {"first_name": first,
                       "last_name": (contact_raw.get("last_name") or "").strip() or None,
                       "position": (contact_raw.get("position") or "").strip() or None,
                       "phones": phones, "emails": emails,
                       "phone_digits": " ".join(digits(p) for p in phones)}
        except ValidationFailed as exc:
            errors.append((number, exc.field, exc.as_text()))
            bad = True
    if bad:
        return None
    derived = derived_fields(
        name=client.get("name"), short_name=client.get("short_name"),
        email=client.get("email"), phone=client.get("phone"), street=client.get("street"),
        city_id=None, legal=[legal] if legal else [], weights=weights,
        contacts=[(contact["last_name"], contact["first_name"], contact["phone_digits"])]
        if contact else [])
    if derived[2] < minimum:
        errors.append((number, "completeness", Text(
            N_("the card is {percent} complete; at least {minimum} is required"),
            percent=f"{derived[2]}%", minimum=f"{minimum}%")))
        return None
    keys: list[tuple[str, str]] = []
    if legal and legal.get("inn"):
        keys.append(("inn", legal["inn"]))
    if legal and legal.get("edrpou"):
        keys.append(("edrpou", legal["edrpou"]))
    if client.get("phone"):
        keys.append(("phone", client["phone"]))
    if client.get("email"):
        keys.append(("email", client["email"].lower()))
        keys.append(("email_as_written", client["email"]))
    return _Row(number, client, legal, contact, keys, derived)


PARSE_TIMEOUT_S = 300.0  # a batch of rows is checked in well under a second


def _parse_batch(first: int, chunk: list[list[str | None]], columns: dict[str, int],
                 region: str, weights: dict[str, int], minimum: int, dry_run: bool
                 ) -> tuple[int, list[_Row], list[tuple[int, str, str]]]:
    """In a worker process (services.bounded): a batch of the file's lines, the first
    being data line ``first + 1``, validated and (unless ``dry_run``) made ready to
    write: (non-empty rows, the good ones, the errors of the bad)."""
    errors: list[tuple[int, str, str]] = []
    parsed, rows = [], 0
    for offset, cells in enumerate(chunk):
        if any(cells):
            rows += 1
            row = _parse_row(first + offset + 2, cells, columns, region, weights, minimum,
                             errors)
            if row is not None:
                parsed.append(row if dry_run else prepare(row))
    return rows, parsed, errors


async def _report_progress(progress: Callable[[int, int], Awaitable[Any] | None] | None,
                           done: int, total: int) -> None:
    if progress is not None:
        result = progress(done, total)
        if inspect.isawaitable(result):
            await result


async def run_import(actor: User, source_file: Source, filename: str,
                     mapping: dict[str, str], *, dry_run: bool, region: str = "RU",
                     progress: Callable[[int, int], Awaitable[Any] | None] | None = None,
                     batch_size: int = 1000) -> ImportReport:
    """Import clients from a CSV or XLSX file. ``mapping``: column header → a field of
    :data:`COLUMNS`. Bad rows are reported (row, field, message) and nothing of them is
    saved; duplicates (of a client in the database or of an earlier row) are skipped and
    reported with field "duplicate"; the good rows are created, the importing person
    becoming their manager. ``dry_run`` checks everything and writes nothing.

    ``progress(done, total)`` is called after each batch (``total`` is the number of
    rows in the file, an estimate for XLSX files that do not record their size)."""
    if actor is None or not actor.is_active:
        raise PermissionDenied("not staff")
    report = ImportReport(dry_run=dry_run)
    weights, minimum = await completeness_settings()
    # De-duplication within the file. A real run writes each batch before reading the
    # next, so the database query finds earlier rows too: only the batch's own keys are
    # kept, plus the row number of each client created (two compact arrays, to say
    # "row N" rather than "client #id"). A dry run writes nothing and keeps every key.
    seen: dict[str, int] = {}  # "kind:value" → the row that has it
    created_ids, created_rows = array("q"), array("q")

    def row_of(client_id: int) -> int | None:
        i = bisect_left(created_ids, client_id)
        if i < len(created_ids) and created_ids[i] == client_id:
            return created_rows[i]
        return None

    async def flush(parsed: list[_Row]) -> None:
        if not dry_run:
            seen.clear()
        wanted: dict[str, set[str]] = {}
        for row in parsed:
            for kind, value in row.keys:
                wanted.setdefault(kind, set()).add(value)
        existing = await existing_keys(wanted) if wanted else {}
        good: list[_Row] = []
        for row in parsed:
            dup = None
            for key in row.keys:
                if key[0] not in _KEY_LABEL:
                    continue
                label = _KEY_LABEL[key[0]]
                if (earlier := seen.get(f"{key[0]}:{key[1]}")) is not None:
                    dup = Text(N_("same {key} as row {row}"), key=label, row=earlier)
                elif key in existing:
                    earlier = row_of(existing[key])
                    dup = (Text(N_("same {key} as row {row}"), key=label, row=earlier)
                           if earlier is not None else
                           Text(N_("same {key} as client #{client}"), key=label,
                                client=existing[key]))
                if dup:
                    break
            if dup:
                report.errors.append((row.number, "duplicate", dup))
                report.skipped_duplicates += 1
                continue
            for kind, value in row.keys:
                if kind in _KEY_LABEL:
                    seen[f"{kind}:{value}"] = row.number
            good.append(row)
        if good and not dry_run:
            ids = await write_batch(actor, good)
            created_ids.extend(ids)
            created_rows.extend(row.number for row in good)
        report.created += len(good)

    # The file is read in a thread, a batch at a time; each batch is validated and made
    # ready to write in a worker process (services.bounded), as many at once as there
    # are workers, while the batch before is checked against the database and written:
    # the checks (phonenumbers, email-validator, the search tokens) no longer share one
    # interpreter lock with the writes (issue 19). Batches are written in the file's
    # order. The limits of services.tabular are checked before the first row.
    table = await asyncio.to_thread(Table, source_file, filename)
    lines = 0  # data lines read, empty ones included: what progress counts
    stop = False

    def read_chunk() -> list[list[str | None]]:
        return [] if stop else list(islice(it, batch_size))

    async def parse(first: int, chunk: list[list[str | None]]) -> tuple:
        try:
            return await bounded.run(_parse_batch, first, chunk, columns, region, weights,
                                     minimum, dry_run, timeout=PARSE_TIMEOUT_S)
        except bounded.LimitExceeded as exc:
            raise ValidationFailed("file", N_("cannot read it ({error})"),
                                   error=str(exc)) from None

    async def produce(queue: asyncio.Queue) -> None:
        nonlocal lines
        try:
            while True:
                chunk = await asyncio.to_thread(read_chunk)
                if not chunk:
                    break
                job = asyncio.ensure_future(parse(lines, chunk))
                lines += len(chunk)
                await queue.put((len(chunk), lines, job))
            await queue.put(None)
        except BaseException as exc:
            await queue.put(exc)
            raise

    with table:
        it = table.rows()
        headers = [(h or "") for h in await asyncio.to_thread(next, it, [])]
        columns = _check_mapping(headers, mapping)
        queue: asyncio.Queue = asyncio.Queue(maxsize=bounded.WORKERS)
        producer = asyncio.ensure_future(produce(queue))
        try:
            while (item := await queue.get()) is not None:
                if isinstance(item, BaseException):
                    raise item
                read, done, job = item
                rows, parsed, errors = await job
                report.rows_total += rows
                report.errors.extend(errors)
                if parsed:
                    await flush(parsed)
                if read == batch_size:  # the last, short one is reported as the end
                    await _report_progress(progress, done, max(table.total_estimate, done))
        finally:
            # an error while writing: the reader stops after its current batch (the file
            # closes only then) and the batches in the workers are dropped
            stop = True
            while not producer.done() or not queue.empty():
                try:
                    item = queue.get_nowait()
                except asyncio.QueueEmpty:
                    await asyncio.wait([producer], timeout=0.05)
                    continue
                if isinstance(item, tuple) and not item[2].cancel() \
                        and not item[2].cancelled():
                    item[2].exception()  # it had already failed: nobody else reads that
            if not producer.cancelled():
                producer.exception()  # retrieved: a reading error after a writing one
        await _report_progress(progress, lines, lines)
    report.errors.sort(key=lambda e: e[0])
    return report
