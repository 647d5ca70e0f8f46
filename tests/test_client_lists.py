"""Lists that grow (issue 17): the client list searches within the chosen segment,
classifier group and list (counterparties or partners), pages the result in SQL, and
the export follows the same filters, with headers in the person's language that an
import reads back."""

from __future__ import annotations

import csv
import io

import pytest

from kontakt.i18n import translator
from models import Role
from services import classifier, exporter, importer, segments
from services import clients as client_svc
from services.clientlist import ClientFilters, client_page


async def _many(owner, n: int, prefix: str, **extra):
    return [(await client_svc.do_create_client(owner, {"name": f"{prefix} {i:02d}", **extra})
             ).client for i in range(n)]


async def test_search_within_filters_and_paged(database_url, make_staff):
    ivan = await make_staff(Role.ADMIN)
    partners = await _many(ivan, 30, "Ромашка", list_type="partner")
    rivals = await _many(ivan, 5, "Ромашка", list_type="counterparty")
    await _many(ivan, 3, "Лютик", list_type="counterparty")
    # a search is paged like the list
    rows, total = await client_page(ivan, ClientFilters(q="ромашка"), page=2, per_page=25)
    assert total == 35 and len(rows) == 10
    # the list type narrows the search, not replaces it
    rows, total = await client_page(ivan, ClientFilters(q="ромашка",
                                                        list_type="counterparty"))
    assert total == 5 and {c.id for c in rows} == {c.id for c in rivals}
    # a manual group narrows it too
    node = await classifier.do_create_node(ivan, "VIP")
    for c in partners[:3]:
        await classifier.do_classify(ivan, c.id, node.id)
    rows, total = await client_page(ivan, ClientFilters(q="ромашка", node_id=node.id))
    assert total == 3
    # a segment and a search together
    seg = await segments.do_save_segment(ivan, "Контрагенты", {
        "match": "all", "conditions": [{"field": "list_type", "op": "eq",
                                        "value": "counterparty"}]})
    rows, total = await client_page(ivan, ClientFilters(q="лютик", segment_id=seg.id))
    assert total == 3
    # a typo finds within the filters as well
    rows, total = await client_page(ivan, ClientFilters(q="ромашко",
                                                        list_type="counterparty"))
    assert total == 5


async def test_a_segment_one_may_not_use_is_dropped_not_an_error(database_url, make_staff):
    ivan = await make_staff(Role.MANAGER)
    await _many(ivan, 2, "Ромашка")
    rows, total = await client_page(ivan, ClientFilters(segment_id=999999))
    assert total == 2


@pytest.mark.parametrize("language", ["ru", "uk", "en"])
async def test_export_follows_filters_headers_readable_and_import_reads_them(
        database_url, make_staff, language):
    ivan = await make_staff(Role.ADMIN)
    await _many(ivan, 4, "Ромашка", list_type="counterparty", kind="individual")
    await _many(ivan, 2, "Ромашка", list_type="partner")
    data = await exporter.export_clients(
        ivan, filters=ClientFilters(q="ромашка", list_type="counterparty"), fmt="csv",
        gettext=translator(language))
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig")), delimiter=";"))
    headers, body = rows[0], rows[1:]
    assert len(body) == 4
    assert "name" not in headers and "kind" not in headers  # no codes
    mapping = importer.guess_mapping(headers)
    assert set(mapping.values()) >= set(exporter.IMPORT_MAPPING.values())
    kind_column = headers.index([h for h, f in mapping.items() if f == "kind"][0])
    assert body[0][kind_column] == translator(language)("Individual")


async def test_list_page_keeps_filters_with_a_search_and_in_the_export(service, emulator,
                                                                       make_staff):
    from tests.test_web import signed_in

    ivan = await make_staff(Role.ADMIN, language="ru")
    await _many(ivan, 30, "Ромашка", list_type="counterparty")
    await _many(ivan, 2, "Ромашка", list_type="partner")
    await signed_in(service, emulator, ivan)
    page = await (await service.client.get(
        "/app/clients?q=ромашка&list=counterparty&page=2")).text()
    assert page.count('data-testid="client-row"') == 5  # 30 found, the second page
    assert 'value="counterparty" selected' in page
    assert "list=counterparty" in page and "format=csv&amp;q=" in page  # the export too
    resp = await service.client.get("/api/v1/clients/export?format=csv&q=ромашка&list=partner")
    rows = list(csv.reader(io.StringIO((await resp.read()).decode("utf-8-sig")),
                           delimiter=";"))
    assert len(rows) == 3 and rows[0][1] == "Название"


async def test_card_history_is_paged(service, emulator, make_staff):
    from tests.test_web import signed_in

    ivan = await make_staff(Role.MANAGER, language="ru")
    client = (await client_svc.do_create_client(ivan, {"name": "Ромашка"})).client
    for i in range(25):
        await client_svc.do_update_client(ivan, client.id, {"notes": f"заметка {i}"})
    await signed_in(service, emulator, ivan)
    first = await (await service.client.get(f"/app/clients/{client.id}")).text()
    assert "→ заметка 24<" in first and "→ заметка 4<" not in first
    assert 'data-testid="history-older"' in first and 'data-testid="history-newer"' not in first
    second = await (await service.client.get(f"/app/clients/{client.id}?history=2")).text()
    assert "→ заметка 3<" in second and "→ заметка 24<" not in second
    assert 'data-testid="history-newer"' in second and 'data-testid="history-older"' not in second


async def test_staff_directory_is_searched_and_paged(service, emulator, make_staff):
    from tests.test_web import signed_in

    anna = await make_staff(Role.ADMIN, language="ru", name="Анна Смирнова")
    for i in range(60):
        await make_staff(Role.MANAGER, name=f"Менеджер {i:02d}")
    await signed_in(service, emulator, anna)
    first = await (await service.client.get("/app/staff")).text()
    assert first.count('data-testid="staff-row"') == 50 and 'data-testid="staff-next"' in first
    second = await (await service.client.get("/app/staff?page=2")).text()
    assert second.count('data-testid="staff-row"') == 11
    found = await (await service.client.get("/app/staff?q=смирнова")).text()
    assert found.count('data-testid="staff-row"') == 1 and "Анна Смирнова" in found
