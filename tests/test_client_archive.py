"""Archiving a client (services.client_archive): who may archive and restore, the
refusals while deals, orders, activities or money are open, the history entries, and
that an archived client leaves every list and search but stays reachable."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from kontakt.errors import domain_message
from kontakt.formatting import date_text
from models import AuditLog, Client, EntryKind, LedgerEntry
from services import client_archive as svc
from services import client_search
from services import clients as client_svc
from services.clientlist import ClientFilters, client_page
from services.errors import NotFound, PermissionDenied, ValidationFailed
from tests.conftest import TEST_NOW


@pytest.fixture
def org(staff_world):
    return staff_world


async def _client(owner, name="Romashka Trading"):
    return (await client_svc.do_create_client(owner, {"name": name})).client


async def test_a_manager_archives_their_client_out_of_every_list(org):
    ivan = org["ivan"]
    client = await _client(ivan)
    state = await svc.do_archive_client(ivan, client.id, "  closed down,\n merged ",
                                        source="bot")
    assert state.by == "Ivan Field" and state.reason == "closed down, merged"
    assert state.archived_at is not None
    entry = await AuditLog.get(client_id=client.id, action="archive")
    assert (entry.user_id, entry.source, entry.new_value) == (ivan.id, "bot",
                                                              "closed down, merged")
    # out of search, lists, "my clients" and the quick log's matching
    assert await client_search.search_clients(ivan, "romashka") == []
    assert await client_svc.my_clients(ivan) == ([], 0)
    assert await client_page(ivan, ClientFilters()) == ([], 0)
    from services.quicklog import propose

    log = await propose(ivan, "звонил в Romashka Trading, договорились", language="ru",
                        timezone="Europe/Moscow")
    assert log.client is None and log.clients == []
    with pytest.raises(NotFound):  # nothing changes an archived client
        await client_svc.do_update_client(ivan, client.id, {"phone": "+79161234567"})
    # but reachable: the "Archived" filter (searched too), the card, the history
    rows, total = await client_page(ivan, ClientFilters(archived=True, q="romash"))
    assert [c.id for c in rows] == [client.id] and total == 1
    assert (await svc.archive_state(ivan, client.id)).by == "Ivan Field"
    from services.timeline import client_history

    assert [r.action for r in await client_history(ivan, client.id)] == ["archive", "create"]
    # making it again is warned of, saying it is archived (the colleague's search says
    # nothing of it: it is not found by anyone)
    from services.duplicates import hidden_matches, likely_duplicates

    [match] = await likely_duplicates(ivan, {"name": "Romashka Trading"})
    assert (match.client_id, match.visible, match.archived) == (client.id, True, True)
    assert await hidden_matches(ivan, "romashka") == []
    assert await hidden_matches(org["olena"], "romashka") == []


async def test_who_may_archive_and_restore(org):
    ivan, olena = org["ivan"], org["olena"]
    client = await _client(ivan)
    for stranger in (olena, org["head_kyiv"]):  # not theirs: not even that it exists
        with pytest.raises(NotFound):
            await svc.do_archive_client(stranger, client.id)
    await svc.do_archive_client(ivan, client.id)
    with pytest.raises(PermissionDenied):  # a manager asks their head
        await svc.do_restore_client(ivan, client.id)
    assert not await svc.may_restore(ivan) and await svc.may_restore(org["head_msk"])
    with pytest.raises(NotFound):
        await svc.do_restore_client(org["head_kyiv"], client.id)
    restored = await svc.do_restore_client(org["head_msk"], client.id, source="miniapp")
    assert restored.archived_at is None
    assert [c.id for c in await client_search.search_clients(ivan, "romashka")] == [client.id]
    entry = await AuditLog.get(client_id=client.id, action="restore")
    assert (entry.user_id, entry.source) == (org["head_msk"].id, "miniapp")
    # the head of the department and an admin archive too
    await svc.do_archive_client(org["head_msk"], client.id)
    await svc.do_restore_client(org["admin"], client.id)
    await svc.do_archive_client(org["admin"], client.id)
    assert (await Client.get(id=client.id)).archived_at is not None


async def test_bad_input_and_states_are_refused_clearly(org):
    ivan = org["ivan"]
    client = await _client(ivan)
    with pytest.raises(NotFound):
        await svc.do_archive_client(ivan, 987654)
    with pytest.raises(svc.ClientArchiveRefused) as info:
        await svc.do_restore_client(org["admin"], client.id)
    assert domain_message(info.value, "en") == "The client is not archived."
    with pytest.raises(ValidationFailed) as bad:
        await svc.do_archive_client(ivan, client.id, "x" * 501)
    assert bad.value.field == "reason"
    assert (await Client.get(id=client.id)).archived_at is None
    await svc.do_archive_client(ivan, client.id)
    with pytest.raises(svc.ClientArchiveRefused) as info:
        await svc.do_archive_client(org["admin"], client.id)
    day = date_text((await Client.get(id=client.id)).archived_at, org["admin"].timezone)
    assert info.value.status == 409
    assert domain_message(info.value, "en") == (
        f"The client is already archived (on {day} by Ivan Field).")
    assert await AuditLog.filter(client_id=client.id, action="archive").count() == 1


async def test_refused_while_deals_orders_activities_or_money_are_open(org):
    from services import deals as deal_svc
    from services.activities import do_create_activity, do_set_state

    ivan = org["ivan"]
    client = await _client(ivan)
    deal = (await deal_svc.do_create_deal(ivan, {"client_id": client.id,
                                                 "title": "Supply"})).deal
    today = TEST_NOW.date()
    await LedgerEntry.create(client_id=client.id, currency="RUB", kind=EntryKind.INVOICE,
                             dated=today - timedelta(days=10), due=today + timedelta(days=5),
                             amount=Decimal("15830.40"), number="A-1")
    await deal_svc.do_archive_deal(ivan, deal.id)  # an archived deal is not open
    await deal_svc.do_archive_deal(org["admin"], deal.id, False)
    with pytest.raises(svc.ClientArchiveRefused) as info:
        await svc.do_archive_client(ivan, client.id, "gone")
    message = domain_message(info.value, "en")
    assert message == ("Not archived: the client still has open deals: 1; an unpaid balance "
                       "of 15\u00a0830,40\u00a0₽. Close or settle these first."), message
    assert (await Client.get(id=client.id)).archived_at is None
    assert not await AuditLog.filter(entity="client", action="archive").exists()
    # settled and closed: a planned call still keeps it
    await LedgerEntry.filter(client_id=client.id).update(void=True)
    await deal_svc.do_archive_deal(ivan, deal.id)
    call = (await do_create_activity(ivan, {
        "type": "call", "title": "Call back", "client_id": client.id,
        "starts_at": TEST_NOW + timedelta(days=1)})).activity
    with pytest.raises(svc.ClientArchiveRefused) as info:
        await svc.do_archive_client(ivan, client.id)
    assert "planned activities: 1" in domain_message(info.value, "en")
    await do_set_state(ivan, call.id, "cancelled")
    # a prepayment nobody used is the client's money
    await LedgerEntry.create(client_id=client.id, currency="RUB", kind=EntryKind.PAYMENT,
                             dated=today, amount=Decimal("500"))
    with pytest.raises(svc.ClientArchiveRefused) as info:
        await svc.do_archive_client(ivan, client.id)
    assert "an unused prepayment of 500\u00a0₽" in domain_message(info.value, "en")
    await LedgerEntry.filter(client_id=client.id).update(void=True)
    assert (await svc.do_archive_client(ivan, client.id)).archived_at is not None
