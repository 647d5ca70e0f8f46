"""The client import (issue 3) in batches (issue 19, performance): a few thousand rows
cost a fixed number of statements per batch — one for the duplicates, one per table
written, the search tokens (S-11) and words in two — whatever the batch's size, and
what is written is what the rules say: one client per good row, its legal entity,
contact person, the importing person as manager, an audit row and its search tokens;
bad rows and duplicates (S-1 keys: INN, EDRPOU, phone, e-mail) reported by row."""

from __future__ import annotations

import csv
import io

import pytest

from models import (
    AuditLog,
    Client,
    ClientManager,
    ClientSearchToken,
    ContactPerson,
    LegalEntity,
    Role,
    SearchWord,
    User,
)
from services import client_search, importer
from services import clients as svc
from services.errors import ValidationFailed
from services.tabular import MAX_CELL
from tests.querycount import counted
from tests.test_import_export import edrpou, inn10

HEADERS = ["Название", "Телефон", "Email", "ИНН", "ЕГРПОУ", "Страна", "Имя", "Телефон контакта"]
MAPPING = {"Название": "name", "Телефон": "phone", "Email": "email", "ИНН": "legal.inn",
           "ЕГРПОУ": "legal.edrpou", "Страна": "country", "Имя": "contact.first_name",
           "Телефон контакта": "contact.phone"}
ROWS, BATCH = 2500, 1000
BAD = {700: "phone", 1800: "name"}  # row number in the file (header = 1) → field
# row → (the earlier row it repeats, the key kept; the others left empty)
DUPLICATE = {1200: (5, "inn"), 2300: (1501, "phone"), 2400: (2200, "edrpou")}
# a statement per table and per lookup, per batch: the duplicates (1); the ids
# reserved (SQLite: 2, PostgreSQL: 1); client, legal_entity, contact_person,
# client_manager, audit_log (5); client_search_token and search_word (2)
PER_BATCH = 10


def _row(n: int) -> list[str]:
    """Row ``n`` of the file: every fourth a Ukrainian company (EDRPOU), the others
    Russian (INN); unique phones, e-mails and codes."""
    ua = n % 4 == 0
    return [f"{'ТОВ' if ua else 'ООО'} «Клиент-{n}»",
            f"+380 67 {n:07d}" if ua else f"+7 916 {n:07d}", f"office{n}@client{n}.ru",
            "" if ua else inn10(f"77{n:07d}"), edrpou(f"2{n:06d}") if ua else "",
            "UA" if ua else "RU", f"Контакт{n}", f"+7 903 {n:07d}"]


def big_csv(rows: int = ROWS) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(HEADERS)
    writer.writerows(_rows(rows))
    return out.getvalue().encode()


def big_xlsx(rows: int, *, long_cell_at: int) -> bytes:
    """An XLSX (read as a stream, unlike a CSV, whose records are counted first) with
    a cell over the limit in row ``long_cell_at``."""
    from openpyxl import Workbook

    wb = Workbook(write_only=True)
    ws = wb.create_sheet()
    ws.append(HEADERS)
    for n, row in enumerate(_rows(rows), start=2):
        if n == long_cell_at:
            row[-1] = "x" * (MAX_CELL + 10)
        ws.append(row)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def _rows(rows: int):
    for n in range(2, rows + 2):
        if n in DUPLICATE:
            earlier, key = DUPLICATE[n]
            row = _row(earlier)
            row[0] = f"Копия {n}"
            for i, column in enumerate(("phone", "email", "inn", "edrpou"), start=1):
                if column != key:
                    row[i] = ""
        else:
            row = _row(n)
        if BAD.get(n) == "phone":
            row[1] = "позвоните"
        elif BAD.get(n) == "name":
            row[0] = ""
        yield row


@pytest.fixture
async def ivan(database_url) -> User:
    await User.create(full_name="Admin", telegram_id=1, role=Role.ADMIN)
    return await User.create(full_name="Ivan", telegram_id=3)


async def test_import_makes_a_fixed_number_of_statements_per_batch(ivan):
    """Issue 19: 2,500 rows in batches of 1,000 — at most PER_BATCH statements per
    batch, a single duplicates lookup per batch and a single insert per table per
    batch, not one per row or per token."""
    data = big_csv()
    with counted() as q:
        report = await importer.run_import(ivan, data, "big.csv", MAPPING, dry_run=False,
                                           batch_size=BATCH)
    batches = -(-ROWS // BATCH)
    assert len(q) <= 2 + PER_BATCH * batches, q.report()
    sql = [s.lower() for s in q.statements]
    assert sum("union all" in s or s.startswith("select 'inn'") for s in sql) == batches
    for table in ("client", "legal_entity", "contact_person", "client_manager",
                  "audit_log", "client_search_token", "search_word"):
        inserts = [s for s in sql if s.startswith(("insert into", "insert or ignore into"))
                   and s.split("(")[0].split()[-1].strip('"') == table]
        assert len(inserts) == batches, (table, len(inserts))

    good = ROWS - len(BAD) - len(DUPLICATE)
    assert (report.rows_total, report.created, report.skipped_duplicates) == (
        ROWS, good, len(DUPLICATE))
    assert [(r, f) for r, f, _ in report.errors] == sorted(
        [(r, f) for r, f in BAD.items()] + [(r, "duplicate") for r in DUPLICATE])
    messages = {row: str(msg) for row, _, msg in report.errors}
    assert messages[1200] == "same INN as row 5"  # an earlier batch's row
    assert messages[2300] == "same phone as row 1501"
    assert messages[2400] == "same EDRPOU as row 2200"  # the same batch

    # one of everything per client, tokens for each (S-11), the importer as manager
    assert await Client.all().count() == good
    assert await LegalEntity.all().count() == good
    assert await ContactPerson.all().count() == good
    assert await ClientManager.filter(user_id=ivan.id, is_primary=True,
                                      unassigned_at=None).count() == good
    assert await AuditLog.filter(source="import", action="create",
                                 user_id=ivan.id).count() == good
    indexed = await ClientSearchToken.all().distinct().values_list("client_id", flat=True)
    assert len(set(indexed)) == good
    assert await SearchWord.filter(token="клиент").exists()


async def test_batched_import_stores_what_a_card_saved_by_hand_has(ivan):
    """The tuples written in bulk are what the ORM would store: a client read back,
    its derived values and tokens recomputed by services.clients, are unchanged; the
    JSON and the enum columns read back as such; the search finds it."""
    await importer.run_import(ivan, big_csv(1100), "big.csv", MAPPING, dry_run=False,
                              batch_size=BATCH)
    for name in ("ООО «Клиент-3»", "ТОВ «Клиент-1028»"):
        client = await Client.get(name=name)
        tokens = sorted(await ClientSearchToken.filter(client_id=client.id).values_list(
            "token", flat=True))
        before = (client.phone_digits, client.search_text, client.completeness)
        await svc._refresh_derived(client)
        assert (client.phone_digits, client.search_text, client.completeness) == before
        assert sorted(await ClientSearchToken.filter(client_id=client.id).values_list(
            "token", flat=True)) == tokens
        assert client.kind == "company" and client.list_type == "partner"
        assert (client.email_consent, client.sms_consent, client.do_not_contact) == (
            True, True, False)
        contact = await ContactPerson.get(client_id=client.id)
        assert contact.phones and contact.phones[0].startswith("+7903")
        assert (contact.emails, contact.messengers) == ([], {})
        assert client.created_at is not None and client.created_at.tzinfo is not None
        legal = await LegalEntity.get(client_id=client.id)
        assert [c.name for c in await client_search.search_clients(ivan, legal.inn or legal.edrpou)
                ] == [name]
    legal = await LegalEntity.get(client__name="ТОВ «Клиент-1028»")
    assert (legal.country, legal.edrpou, legal.is_primary) == ("UA", edrpou("2001028"), True)


async def test_a_reading_error_mid_file_keeps_the_batches_written_before(ivan):
    """The next batch is read while this one is written: a cell over the limit in the
    second batch fails the import with the row named, after the first batch was
    written, as when reading and writing took turns."""
    with pytest.raises(ValidationFailed) as exc:
        await importer.run_import(ivan, big_xlsx(1500, long_cell_at=1300), "big.xlsx",
                                  MAPPING, dry_run=False, batch_size=BATCH)
    assert (exc.value.field, exc.value.params["number"]) == ("file", 1300)
    assert await Client.all().count() == BATCH - sum(1 for r in (*BAD, *DUPLICATE)
                                                     if r <= BATCH + 1)


async def test_a_writing_error_stops_the_reading_and_keeps_what_was_written(ivan,
                                                                            monkeypatch):
    """Batches are checked in worker processes ahead of the writes: a write that fails
    on the second batch ends the import with that error at once — the reader stops,
    the batches checked ahead are dropped, the first batch stays written."""
    import asyncio

    from services import import_write

    written: list[int] = []

    async def write_batch(actor, rows):
        if written:
            raise RuntimeError("the database went away")
        written.append(len(rows))
        return await import_write.write_batch(actor, rows)

    monkeypatch.setattr(importer, "write_batch", write_batch)
    with pytest.raises(RuntimeError, match="went away"):
        await asyncio.wait_for(importer.run_import(
            ivan, big_csv(), "big.csv", MAPPING, dry_run=False, batch_size=BATCH), 60)
    assert await Client.all().count() == written[0] == BATCH - sum(
        1 for r in (*BAD, *DUPLICATE) if r <= BATCH + 1)


async def test_rows_are_numbered_as_in_the_file_across_batches(ivan):
    """Each batch is checked in a worker of its own: the rows keep the numbers of the
    file (the header is row 1) and the report its order."""
    report = await importer.run_import(ivan, big_csv(), "big.csv", MAPPING, dry_run=True,
                                       batch_size=300)
    assert [(row, field) for row, field, _ in report.errors if field != "duplicate"] == \
        sorted(BAD.items())
    assert [row for row, field, _ in report.errors if field == "duplicate"] == \
        sorted(DUPLICATE)


async def test_a_dry_run_of_a_big_file_writes_nothing(ivan):
    """A dry run counts the same rows, errors and duplicates and writes nothing."""
    with counted() as q:
        report = await importer.run_import(ivan, big_csv(), "big.csv", MAPPING,
                                           dry_run=True, batch_size=BATCH)
    assert not [s for s in q.statements if s.lower().startswith("insert")]
    assert (report.created, report.skipped_duplicates, report.bad_rows) == (
        ROWS - len(BAD) - len(DUPLICATE), len(DUPLICATE), len(BAD))
    assert await Client.all().count() == 0


async def test_an_xlsx_import_reports_and_writes_what_the_csv_import_does(ivan):
    """The same rows in an XLSX (read by services.xlsx_stream, issue 19): bad rows in
    the middle of a batch named by their row with the others kept, duplicates of an
    earlier batch's row and of the same batch's, as from the CSV."""
    report = await importer.run_import(ivan, big_xlsx(ROWS, long_cell_at=0), "big.xlsx",
                                       MAPPING, dry_run=False, batch_size=BATCH)
    good = ROWS - len(BAD) - len(DUPLICATE)
    assert (report.rows_total, report.created, report.skipped_duplicates,
            report.bad_rows) == (ROWS, good, len(DUPLICATE), len(BAD))
    assert [(r, f) for r, f, _ in report.errors] == sorted(
        [(r, f) for r, f in BAD.items()] + [(r, "duplicate") for r in DUPLICATE])
    messages = {row: str(msg) for row, _, msg in report.errors}
    assert (messages[1200], messages[2300], messages[2400]) == (
        "same INN as row 5", "same phone as row 1501", "same EDRPOU as row 2200")
    assert await Client.all().count() == good
    assert await ContactPerson.all().count() == good
    assert not await Client.filter(name__in=["Копия 1200", "Копия 2300", "Копия 2400",
                                             "ООО «Клиент-700»"]).exists()
    assert await Client.filter(name="ООО «Клиент-699»").exists()
    assert await Client.filter(name="ООО «Клиент-701»").exists()
