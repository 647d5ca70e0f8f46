"""Import of clients from CSV/XLSX with a dry run, errors by row and de-duplication,
and export to CSV/XLSX within the person's access (issue 3, "Web")."""

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
    User,
)
from services import client_search, exporter, importer
from services import clients as svc
from services import managers as managers_svc
from services.errors import ValidationFailed


def inn10(first9: str) -> str:
    weights = [2, 4, 10, 3, 5, 9, 4, 6, 8]
    return first9 + str(sum(int(d) * w for d, w in zip(first9, weights, strict=True)) % 11 % 10)


def edrpou(first7: str) -> str:
    code = first7 + "0"
    n = int(code)
    weights = [7, 1, 2, 3, 4, 5, 6] if 30_000_000 < n < 60_000_000 else [1, 2, 3, 4, 5, 6, 7]
    check = sum(int(d) * w for d, w in zip(first7, weights, strict=True)) % 11
    if check == 10:
        check = sum(int(d) * (w + 2) for d, w in zip(first7, weights, strict=True)) % 11
    return first7 + str(check % 10)


INN_A, INN_B, INN_C = inn10("770708389"), inn10("500100732"), inn10("781012345")
EDRPOU_G = edrpou("1436057")
HEADERS = ["Название", "Телефон", "Email", "ИНН", "ЕГРПОУ", "Страна", "Имя", "Фамилия",
           "Телефон контакта"]
MAPPING = {"Название": "name", "Телефон": "phone", "Email": "email", "ИНН": "legal.inn",
           "ЕГРПОУ": "legal.edrpou", "Страна": "country", "Имя": "contact.first_name",
           "Фамилия": "contact.last_name", "Телефон контакта": "contact.phone"}
ROWS = [
    # row 2: good, with a contact person
    ["ООО «Альфа»", "8 (916) 111-22-01", "info@alfa.ru", INN_A, "", "RU", "Пётр", "Петров",
     "+7 903 111 22 33"],
    ["Плохой телефон", "12345", "", "", "", "", "", "", ""],                  # 3: phone
    ["Плохой ИНН", "", "", "7707083894", "", "", "", "", ""],                  # 4: legal.inn
    ["", "+7 916 111-22-04", "", "", "", "", "", "", ""],                      # 5: name
    ["Бета", "+7 916 111-22-06", "beta@beta.ru", INN_B, "", "", "", "", ""],   # 6: good
    ["Альфа (копия)", "", "", INN_A, "", "", "", "", ""],                      # 7: dup of row 2
    ["Уже есть", "+7 (916) 000-00-00", "", "", "", "", "", "", ""],            # 8: dup of DB
    ["ТОВ «Гамма»", "050 123 4567", "", "", EDRPOU_G, "UA", "", "", ""],       # 9: good, UA
    ["", "", "", "", "", "", "", "", ""],                                      # 10: empty line
    ["Дельта", "", "DELTA@Delta.ru", INN_C, "", "", "Анна", "", "not a phone"],  # 11: contact
]
EXPECTED_ERRORS = [(3, "phone"), (4, "legal.inn"), (5, "name"), (7, "duplicate"),
                   (8, "duplicate"), (11, "contact.phone")]


def csv_bytes(rows=ROWS, *, delimiter=",", encoding="utf-8-sig") -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter)
    writer.writerow(HEADERS)
    writer.writerows(rows)
    return out.getvalue().encode(encoding)


def xlsx_bytes(rows=ROWS) -> bytes:
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.append(HEADERS)
    for row in rows:
        # INNs as numbers, the way a spreadsheet keeps them when typed in
        ws.append([int(v) if i == 3 and v.isdigit() else (v or None)
                   for i, v in enumerate(row)])
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


@pytest.fixture
async def org(database_url):
    people = {
        "admin": await User.create(full_name="Admin", telegram_id=1, role=Role.ADMIN),
        "ivan": await User.create(full_name="Ivan", telegram_id=3),
        "olena": await User.create(full_name="Olena", telegram_id=4),
    }
    people["existing"] = (await svc.do_create_client(
        people["olena"], {"name": "Старый клиент", "phone": "+79160000000"})).client
    return people


def brief(report: importer.ImportReport) -> list[tuple[int, str]]:
    return [(row, field) for row, field, _ in report.errors]


async def check_import(org, data: bytes, filename: str) -> importer.ImportReport:
    ivan = org["ivan"]
    dry = await importer.run_import(ivan, data, filename, MAPPING, dry_run=True)
    assert brief(dry) == EXPECTED_ERRORS
    assert await Client.all().count() == 1  # the dry run wrote nothing
    assert await AuditLog.filter(source="import").count() == 0

    calls: list[tuple[int, int]] = []
    report = await importer.run_import(ivan, data, filename, MAPPING, dry_run=False,
                                       progress=lambda done, total: calls.append((done, total)),
                                       batch_size=3)
    assert brief(report) == EXPECTED_ERRORS == brief(dry)
    assert (report.rows_total, report.created, report.updated,
            report.skipped_duplicates) == (9, 3, 0, 2) == (
        dry.rows_total, dry.created, dry.updated, dry.skipped_duplicates)
    assert calls[-1] == (10, 10) and calls[0] == (3, 10) and len(calls) == 4
    messages = {row: msg for row, _, msg in report.errors}
    assert messages[7] == "same INN as row 2"
    assert messages[8] == f"same phone as client #{org['existing'].id}"
    assert "check digit" in messages[4]

    names = {c.name for c in await Client.all()}
    assert names == {"Старый клиент", "ООО «Альфа»", "Бета", "ТОВ «Гамма»"}
    imported = await Client.exclude(id=org["existing"].id)
    for client in imported:
        # the importer is the manager; one audit row with source "import"
        assert [m.id for m in await managers_svc.current_managers(client.id)] == [ivan.id]
        audit = await AuditLog.filter(client_id=client.id)
        assert [(a.source, a.action, a.user_id) for a in audit] == [
            ("import", "create", ivan.id)]
        # derived values exactly as services.clients computes them
        fresh = await Client.get(id=client.id)
        imported_tokens = sorted(await ClientSearchToken.filter(
            client_id=client.id).values_list("token", flat=True))
        assert imported_tokens
        await svc._refresh_derived(fresh)
        assert (client.phone_digits, client.search_text, client.completeness) == (
            fresh.phone_digits, fresh.search_text, fresh.completeness)
        assert sorted(await ClientSearchToken.filter(
            client_id=client.id).values_list("token", flat=True)) == imported_tokens
    alfa = await Client.get(name="ООО «Альфа»")
    assert alfa.phone == "+79161112201" and alfa.created_by_id == ivan.id
    contact = await ContactPerson.get(client_id=alfa.id)
    assert (contact.first_name, contact.last_name, contact.phones) == (
        "Пётр", "Петров", ["+79031112233"])
    gamma = await Client.get(name="ТОВ «Гамма»")
    assert gamma.phone == "+380501234567"  # a national number read in the row's country
    legal = await LegalEntity.get(client_id=gamma.id)
    assert (legal.edrpou, legal.country, legal.name, legal.is_primary) == (
        EDRPOU_G, "UA", "ТОВ «Гамма»", True)
    # found by the search, by name, contact and INN
    for q in ("альфа", "петров", INN_A, "8 903 111-22-33"):
        assert [c.name for c in await client_search.search_clients(ivan, q)] == ["ООО «Альфа»"]
    # importing the same file again: every good row is now a duplicate of a client
    again = await importer.run_import(ivan, data, filename, MAPPING, dry_run=True)
    assert again.created == 0 and again.skipped_duplicates == 5
    assert dict((r, m) for r, f, m in again.errors if f == "duplicate")[2] == (
        f"same INN as client #{alfa.id}")
    return report


async def test_csv_import_reports_bad_rows_and_imports_good_ones(org):
    await check_import(org, csv_bytes(), "clients.csv")


async def test_xlsx_import_gives_the_same_result(org):
    await check_import(org, xlsx_bytes(), "clients.xlsx")


@pytest.mark.parametrize(("delimiter", "encoding"), [
    (";", "cp1251"), ("\t", "utf-8"), (",", "utf-8"), (";", "utf-8-sig")])
async def test_csv_delimiters_and_encodings(org, delimiter, encoding):
    data = csv_bytes(delimiter=delimiter, encoding=encoding)
    assert importer.read_headers(data, "x.csv") == HEADERS
    headers, preview = importer.read_preview(data, "x.csv", rows=2)
    assert preview[0][0] == "ООО «Альфа»" and preview[1][1] == "12345"
    report = await importer.run_import(org["ivan"], data, "x.csv", MAPPING, dry_run=False)
    assert brief(report) == EXPECTED_ERRORS and report.created == 3
    assert await Client.filter(name="ООО «Альфа»", created_by_id=org["ivan"].id).exists()


async def test_guess_mapping_and_bad_mapping(org):
    assert importer.guess_mapping(HEADERS) == MAPPING
    assert importer.guess_mapping(exporter.HEADERS) == exporter.IMPORT_MAPPING
    with pytest.raises(ValidationFailed) as info:
        await importer.run_import(org["ivan"], csv_bytes(), "x.csv", {"Нет такой": "name"},
                                  dry_run=True)
    assert info.value.field == "mapping"
    with pytest.raises(ValidationFailed):
        await importer.run_import(org["ivan"], csv_bytes(), "x.csv", {"Название": "nonsense"},
                                  dry_run=True)


async def test_completeness_minimum_applies_to_imported_rows(org):
    from models import Setting

    await Setting.create(key="completeness.minimum", value=50)
    report = await importer.run_import(org["ivan"], csv_bytes(ROWS[:1] + ROWS[4:5]), "x.csv",
                                       MAPPING, dry_run=False)
    # Альфа has name, phone, email, requisites, contact; Бета no contact: 80 %; both pass
    assert report.created == 2
    bare = [["Голый", "", "", "", "", "", "", "", ""]]
    report = await importer.run_import(org["ivan"], csv_bytes(bare), "x.csv", MAPPING,
                                       dry_run=False)
    assert brief(report) == [(2, "completeness")] and report.created == 0


async def test_export_respects_access_and_round_trips(org):
    ivan, olena, admin = org["ivan"], org["olena"], org["admin"]
    await importer.run_import(ivan, csv_bytes(), "clients.csv", MAPPING, dry_run=False)
    await svc.do_create_client(olena, {
        "name": "Олена; «кавычки»", "email": "=cmd@evil.ua",
        "legal": {"name": "ТОВ Олена", "edrpou": edrpou("3200000")}})

    data = await exporter.export_clients(ivan, fmt="csv")
    assert data.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig")), delimiter=";"))
    assert rows[0] == list(exporter.HEADERS)
    by_name = {r[1]: dict(zip(rows[0], r, strict=True)) for r in rows[1:]}
    assert set(by_name) == {"ООО «Альфа»", "Бета", "ТОВ «Гамма»"}  # only Ivan's
    alfa = by_name["ООО «Альфа»"]
    assert (alfa["phone"], alfa["inn"], alfa["managers"], alfa["kind"]) == (
        "+79161112201", INN_A, "Ivan", "company")
    assert alfa["created_at"].endswith("+00:00") and int(alfa["completeness"]) > 0

    from openpyxl import load_workbook

    wb = load_workbook(io.BytesIO(await exporter.export_clients(ivan, fmt="xlsx")),
                       read_only=True)
    xrows = [list(r) for r in wb.active.iter_rows(values_only=True)]
    wb.close()
    assert xrows[0] == list(exporter.HEADERS)
    assert sorted(r[0] for r in xrows[1:]) == sorted(int(r[0]) for r in rows[1:])

    # a search narrows the export
    found = await exporter.export_clients(ivan, query="бета", fmt="csv")
    assert [r[1] for r in csv.reader(io.StringIO(found.decode("utf-8-sig")),
                                     delimiter=";")][1:] == ["Бета"]
    assert (await exporter.export_clients(olena, query="бета")).count(b"\n") == 1

    # an admin's export holds everyone's; imported back it is all duplicates
    for fmt, name in (("csv", "export.csv"), ("xlsx", "export.xlsx")):
        everything = await exporter.export_clients(admin, fmt=fmt)
        headers = importer.read_headers(everything, name)
        mapping = importer.guess_mapping(headers)
        report = await importer.run_import(admin, everything, name, mapping, dry_run=True)
        assert report.rows_total == 5 == await Client.all().count()
        assert report.created == 0 and report.skipped_duplicates == 5
        assert {f for _, f, _ in report.errors} == {"duplicate"}
    text = (await exporter.export_clients(admin)).decode("utf-8-sig")
    assert "'=cmd@evil.ua" in text  # no formula injection into a spreadsheet


async def test_dismissed_staff_cannot_import(org):
    from services import staff as staff_service
    from services.errors import PermissionDenied

    await staff_service.do_dismiss(org["admin"], org["ivan"].id)
    with pytest.raises(PermissionDenied):
        await importer.run_import(await User.get(id=org["ivan"].id), csv_bytes(), "x.csv",
                                  MAPPING, dry_run=True)
    assert await ClientManager.all().count() == 1
