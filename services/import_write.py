"""The database side of the client import (issue 3, made fast in issue 19): which keys
of a batch some client already has, and writing a batch of new clients.

Per batch of rows, whatever its size (up to thousands of rows):

* duplicates: **one** statement (``UNION ALL`` of an ``IN``/``= ANY`` per key kind:
  INN, EDRPOU, phone digits, e-mail), by the indexes on those columns;
* writing: one transaction of a fixed number of statements — the ids reserved, then one
  multi-row insert per table (client, legal_entity, contact_person, client_manager,
  audit_log, client_search_token, search_word). No ORM object is built per row: rows
  go to the database as tuples (services.bulk_rows), so time and memory per row stay
  small and flat.

Import rules (validation, the keys compared, what is created) live in
services.importer; this module only stores what it decided.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from tortoise.transactions import in_transaction

from models import ClientKind, ClientList, ContactPerson, User
from services.bulk_rows import insert_rows
from services.clients import save_tokens
from services.clock import utcnow
from services.derived import search_tokens
from services.text import digits, search_blob

# at most this many values in one statement (SQLite allows 32,766 parameters)
MAX_PARAMS = 30_000


@dataclass
class ImportRow:
    number: int
    client: dict[str, Any]
    legal: dict[str, Any] | None
    contact: dict[str, Any] | None
    keys: list[tuple[str, str]]  # ("inn", "7707083893"), ("phone", ...), ("email", ...)
    derived: tuple[str | None, str, int] = (None, "", 0)  # phone_digits, search_text, %
    # what :func:`prepare` computes ahead of the write (in the reader's thread)
    tokens: list[str] | None = None
    contact_values: tuple[str, str, str, str] | None = None  # phones, emails, messengers
    # as JSON text, search_text


def _as_json(value: Any) -> str:  # as the ORM stores a JSONField
    field = ContactPerson._meta.fields_map["phones"]  # noqa: SLF001
    return field.to_db_value(value, ContactPerson)


def prepare(row: ImportRow) -> ImportRow:
    """Compute, without queries, what writing ``row`` needs beyond its fields: its
    search tokens and its contact person's stored values. The importer calls it in
    its reading thread, so that this work overlaps the database's (issue 19)."""
    _check_fields(row)
    if row.contact:
        ct = row.contact
        row.contact_values = (
            _as_json(ct["phones"]), _as_json(ct["emails"]), _as_json({}),
            search_blob(ct["first_name"], ct["last_name"], *ct["emails"]))
    row.tokens = search_tokens(
        search_text=row.derived[1], phone=row.client.get("phone"),
        legal=[row.legal] if row.legal else [],
        contacts=[(row.contact["phone_digits"], row.contact["emails"])]
        if row.contact else [])
    return row


# --- duplicates ---------------------------------------------------------------------
# key kind → (table, column compared, column with the client's id)
_LOOKUPS = {
    "inn": ("legal_entity", "inn", "client_id"),
    "edrpou": ("legal_entity", "edrpou", "client_id"),
    "phone": ("client", "phone_digits", "id"),
    "email": ("client", "email", "id"),
}


def _pieces(keys: dict[str, set[str]]) -> Iterator[tuple[str, list[str]]]:
    """(key kind, values compared in the database) in chunks of MAX_PARAMS at most."""
    for kind in _LOOKUPS:
        if kind == "phone":
            values = sorted({digits(p) for p in keys.get("phone", ())} - {""})
        elif kind == "email":
            # e-mails are stored as written (the domain lower-cased): the lower-cased
            # form and the form as written are both looked for, then compared case-blind
            values = sorted(keys.get("email", set()) | keys.get("email_as_written", set()))
        else:
            values = sorted(keys.get(kind, ()))
        for i in range(0, len(values), MAX_PARAMS):
            yield kind, values[i:i + MAX_PARAMS]


async def existing_keys(keys: dict[str, set[str]], *, conn: Any = None
                        ) -> dict[tuple[str, str], int]:
    """(key kind, value) → the id of a client in the database with it (the lowest, if
    several): one statement for a batch (more only past MAX_PARAMS values)."""
    from models import Client

    conn = conn or Client._choose_db()  # noqa: SLF001
    postgres = conn.capabilities.dialect == "postgres"
    by_digits = {digits(p): p for p in keys.get("phone", ())}
    found: dict[tuple[str, str], int] = {}
    statements: list[tuple[list[str], list[Any]]] = []
    used = MAX_PARAMS
    for kind, values in _pieces(keys):
        if used + (1 if postgres else len(values)) > MAX_PARAMS:
            statements.append(([], []))
            used = 0
        parts, params = statements[-1]
        table, column, client_id = _LOOKUPS[kind]
        if postgres:
            params.append(values)
            where = f'"{column}" = ANY(${len(params)}::varchar[])'
            used += 1
        else:
            params.extend(values)
            where = f'"{column}" IN ({", ".join("?" * len(values))})'
            used += len(values)
        parts.append(f"SELECT '{kind}' AS k, \"{column}\" AS v, \"{client_id}\" AS id "
                     f'FROM "{table}" WHERE {where}')
    for parts, params in statements:
        for r in await conn.execute_query_dict(" UNION ALL ".join(parts), params):
            kind, value, cid = r["k"], r["v"], int(r["id"])
            if kind == "phone":
                key = ("phone", by_digits.get(value, value))
            elif kind == "email":
                key = ("email", value.lower())
            else:
                key = (kind, value)
            if key not in found or cid < found[key]:
                found[key] = cid
    return found


# --- writing ------------------------------------------------------------------------
async def _reserve_client_ids(conn: Any, n: int) -> list[int]:
    """Ids for ``n`` new clients, so that their legal entities, contacts, managers and
    audit rows can be inserted in the same transaction by id."""
    if conn.capabilities.dialect == "postgres":
        rows = await conn.execute_query_dict(
            "SELECT nextval(pg_get_serial_sequence('client', 'id')) AS id "
            "FROM generate_series(1, $1)", [n])
        return sorted(int(r["id"]) for r in rows)
    # SQLite: the transaction holds the connection's lock, so nobody inserts meanwhile
    rows = await conn.execute_query_dict("SELECT COALESCE(MAX(id), 0) AS m FROM client")
    top = int(rows[0]["m"])
    try:
        seq = await conn.execute_query_dict(
            "SELECT seq FROM sqlite_sequence WHERE name = 'client'")
        if seq:
            top = max(top, int(seq[0]["seq"]))
    except Exception:  # noqa: BLE001 - no AUTOINCREMENT table: MAX(id) is enough
        pass
    return list(range(top + 1, top + 1 + n))


# the client's columns an import may fill (services.clients._validated_client), with
# their PostgreSQL types; the others get the model's defaults below
_CLIENT_FIELDS = (
    ("kind", "varchar"), ("name", "varchar"), ("short_name", "varchar"),
    ("last_name", "varchar"), ("first_name", "varchar"), ("middle_name", "varchar"),
    ("sex", "varchar"), ("phone", "varchar"), ("email", "varchar"), ("website", "varchar"),
    ("country", "varchar"), ("street", "varchar"), ("building", "varchar"),
    ("office", "varchar"), ("postal_code", "varchar"), ("notes", "text"),
)
_LEGAL_FIELDS = (
    ("name", "varchar"), ("country", "varchar"), ("inn", "varchar"), ("kpp", "varchar"),
    ("ogrn", "varchar"), ("edrpou", "varchar"), ("ipn", "varchar"),
    ("legal_address", "varchar"), ("bank_name", "varchar"), ("bik", "varchar"),
    ("account", "varchar"), ("corr_account", "varchar"), ("mfo", "varchar"),
    ("iban", "varchar"),
)


def _text(value: Any) -> Any:
    return value.value if isinstance(value, ClientKind | ClientList) else value


def client_columns() -> tuple[tuple[str, str], ...]:
    return (("id", "integer"), *_CLIENT_FIELDS,
            ("list_type", "varchar"), ("is_group", "boolean"), ("email_consent", "boolean"),
            ("sms_consent", "boolean"), ("do_not_contact", "boolean"),
            ("phone_digits", "varchar"), ("search_text", "text"), ("completeness", "integer"),
            ("created_by_id", "integer"), ("created_at", "timestamptz"),
            ("updated_at", "timestamptz"))


def _check_fields(row: ImportRow) -> None:
    extra = set(row.client) - {n for n, _ in _CLIENT_FIELDS}
    if row.legal:
        extra |= {f"legal.{k}" for k in set(row.legal) - {n for n, _ in _LEGAL_FIELDS}}
    if extra:  # a new validated field must get a column here too
        raise ValueError(f"import writer does not store {sorted(extra)}")


async def write_batch(actor: User, rows: list[ImportRow]) -> list[int]:
    """Create the clients of one batch, with their legal entity, contact person, the
    importing person as primary manager, an audit row each and their search tokens,
    in one transaction of a fixed number of statements. Returns the new ids in the
    order of ``rows``."""
    now = utcnow()
    kind_default, list_default = ClientKind.COMPANY.value, ClientList.PARTNER.value
    clients, legals, contacts, managers, audits = [], [], [], [], []
    tokens: list[tuple[int, str]] = []
    for row in rows:
        if row.tokens is None:
            prepare(row)
    async with in_transaction() as conn:
        ids = await _reserve_client_ids(conn, len(rows))
        for cid, row in zip(ids, rows, strict=True):
            c = row.client
            phone_digits, search_text, score = row.derived
            clients.append((
                cid, _text(c.get("kind")) or kind_default,
                *(_text(c.get(n)) for n, _ in _CLIENT_FIELDS[1:]),
                list_default, False, True, True, False,
                phone_digits, search_text, score, actor.id, now, now))
            if row.legal:
                legal = {"country": "RU", **row.legal}
                legals.append((cid, True, now, now,
                               *(legal.get(n) for n, _ in _LEGAL_FIELDS)))
            if row.contact:
                ct = row.contact
                phones, emails, messengers, contact_text = row.contact_values
                contacts.append((
                    cid, ct["first_name"], ct["last_name"], ct["position"],
                    phones, emails, messengers, ct["phone_digits"], contact_text, now, now))
            tokens.extend((cid, t) for t in row.tokens)
            managers.append((cid, actor.id, actor.id, True, now))
            audits.append((actor.id, "import", "client", cid, cid, "create", c.get("name"),
                           now))
        await insert_rows(conn, "client", client_columns(), clients)
        await insert_rows(conn, "legal_entity",
                          (("client_id", "integer"), ("is_primary", "boolean"),
                           ("created_at", "timestamptz"), ("updated_at", "timestamptz"),
                           *_LEGAL_FIELDS), legals)
        await insert_rows(conn, "contact_person",
                          (("client_id", "integer"), ("first_name", "varchar"),
                           ("last_name", "varchar"), ("position", "varchar"),
                           ("phones", "jsonb"), ("emails", "jsonb"), ("messengers", "jsonb"),
                           ("phone_digits", "varchar"), ("search_text", "text"),
                           ("created_at", "timestamptz"), ("updated_at", "timestamptz")),
                          contacts)
        await insert_rows(conn, "client_manager",
                          (("client_id", "integer"), ("user_id", "integer"),
                           ("assigned_by_id", "integer"), ("is_primary", "boolean"),
                           ("assigned_at", "timestamptz")), managers)
        await insert_rows(conn, "audit_log",
                          (("user_id", "integer"), ("source", "varchar"), ("entity", "varchar"),
                           ("object_id", "integer"), ("client_id", "integer"),
                           ("action", "varchar"), ("new_value", "text"),
                           ("at", "timestamptz")), audits)
        await save_tokens(tokens, using_db=conn,
                          names={cid: row.client.get("name") or ""
                                 for cid, row in zip(ids, rows, strict=True)})
    return ids
