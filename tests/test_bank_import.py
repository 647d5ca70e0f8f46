"""Bank statements into payments (K-6): lines matched to clients by INN, by EDRPOU, by
account; unmatched ones queued with a reason; the same statement twice adds nothing;
invoice numbers found in the purpose; assign and ignore; managers refused. Most tests
replace ``_record`` with a fake that remembers what it was asked to record; the last one
pays the real ledger."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from models import (
    BankLine,
    BankLineState,
    BankStatement,
    Client,
    LegalEntity,
    OwnEntity,
    Role,
    User,
)
from services import bank_import
from services.bank_import import (
    do_assign,
    do_ignore,
    do_import_statement,
    do_restore,
    find_invoice_ref,
    unmatched,
)
from services.errors import NotFound, PermissionDenied, ValidationFailed
from tests.test_bank_format import _xlsx

DATA = Path(__file__).parent / "data" / "bank"
OURS = "40702810900000012345"


@pytest.fixture
def recorded(monkeypatch):
    """What was sent to the ledger: one dict per payment."""
    calls: list[dict] = []

    async def fake(actor, line):
        calls.append({"client_id": line.client_id, "amount": Decimal(line.amount),
                      "currency": line.currency, "dated": line.dated,
                      "number": line.number, "invoice_number": line.invoice_ref,
                      "bank_line_id": line.id, "legal_entity_id":
                      await bank_import._payer_entity(line.client_id, line)})
    monkeypatch.setattr(bank_import, "_record", fake)
    return calls


async def _people():
    admin = await User.create(full_name="Ada Admin", telegram_id=1, role=Role.ADMIN)
    manager = await User.create(full_name="Max Manager", telegram_id=2, role=Role.MANAGER)
    await OwnEntity.create(name='ООО "Контакт"', inn="7728168971", account=OURS,
                           is_default=True)
    return admin, manager


async def _client(name: str, **legal) -> Client:
    client = await Client.create(name=name)
    await LegalEntity.create(client=client, name=name, is_primary=True, **legal)
    return client


@pytest.mark.parametrize(("purpose", "ref"), [
    ("Оплата по счету № 000012 от 01.06.2026 за товар", "000012"),
    ("Оплата по счёту №12 от 01.06.2026", "000012"),
    ("Предоплата по сч. 15 от 02.06.2026", "000015"),
    ("Оплата згідно рахунку №12 від 02.06.2026", "000012"),
    ("Оплата за рах. № 7", "000007"),
    ("Payment inv. 12", "000012"),
    ("Payment for invoice #A-15", "A-15"),
    ("Оплата по заказу 000031, НДС не облагается", "000031"),
    ("Оплата згідно замовлення 44", "000044"),
    ("Перевод на р/сч 40702810900000012345 собственных средств", None),
    ("Оплата по договору № 5 от 01.01.2026", None),
    ("", None),
])
def test_k6_invoice_number_in_the_purpose(purpose, ref):
    assert find_invoice_ref(purpose) == ref


async def test_k6_import_matches_by_inn_and_queues_the_rest(database_url, recorded):
    """K-6: the statement's incoming payments are stored; one matched by the payer's INN
    is recorded as a payment with the invoice number from its purpose; an unknown INN
    waits in the queue with its reason; our outgoing payment is left out."""
    admin, _ = await _people()
    romashka = await _client('ООО "Ромашка"', inn="7736207543")
    report = await do_import_statement(admin, "kl_to_1c.txt",
                                       (DATA / "statement-windows.txt").read_bytes())
    assert (report.kind, report.total, report.new, report.known, report.outgoing) == (
        "1c", 3, 3, 0, 1)
    assert (report.matched, report.unmatched, report.reasons) == (2, 1, {"no_client": 1})
    statement = await BankStatement.get(id=report.statement_id)
    assert (statement.account, statement.lines_total, statement.lines_new) == (OURS, 3, 3)
    assert [(c["number"], c["amount"], c["invoice_number"]) for c in recorded] == [
        ("518", Decimal("15000.00"), "000012"), ("9", Decimal("1200.00"), "000031")]
    entity = await LegalEntity.get(client=romashka)
    assert {c["client_id"] for c in recorded} == {romashka.id}
    assert {c["legal_entity_id"] for c in recorded} == {entity.id}
    assert recorded[0]["currency"] == "RUB" and str(recorded[0]["dated"]) == "2026-06-03"
    assert await BankLine.filter(state=BankLineState.MATCHED).count() == 2

    (waiting,) = await unmatched(admin)
    assert (waiting.number, waiting.reason, waiting.invoice_ref) == ("77", "no_client",
                                                                     "000015")
    assert bank_import.reason_text(waiting, lambda s: s) == (
        "no client has this payer's INN/EDRPOU or account")


async def test_k6_the_same_statement_twice_adds_nothing(database_url, recorded):
    """K-6: uploading it again (or the same in another encoding) stores nothing new."""
    admin, _ = await _people()
    await _client('ООО "Ромашка"', inn="7736207543")
    await do_import_statement(admin, "a.txt", (DATA / "statement-windows.txt").read_bytes())
    again = await do_import_statement(admin, "a.txt",
                                      (DATA / "statement-windows.txt").read_bytes())
    dos = await do_import_statement(admin, "b.txt", (DATA / "statement-dos.txt").read_bytes())
    for report in (again, dos):
        assert (report.new, report.known, report.statement_id) == (0, 3, None)
    assert await BankStatement.all().count() == 1
    assert await BankLine.all().count() == 3 and len(recorded) == 2


async def test_k6_matching_by_edrpou_and_by_account(database_url, recorded):
    """K-6: a Ukrainian payer by its EDRPOU; payers sharing an INN told apart by the
    account; several clients with neither told apart wait with a reason."""
    admin, _ = await _people()
    await OwnEntity.create(name='ТОВ "Контакт Україна"', country="UA",
                           iban="UA213223130000026007233566001")
    vyshnia = await _client('ТОВ "Вишня"', country="UA", edrpou="32855961")
    report = await do_import_statement(admin, "ua.txt", (DATA / "statement-ua.txt").read_bytes())
    assert report.matched == 1
    assert recorded[-1]["client_id"] == vyshnia.id and recorded[-1]["currency"] == "UAH"
    assert recorded[-1]["invoice_number"] == "000012"

    # two clients with the same INN: the payer's account decides
    one = await _client('ООО "Ромашка" (Москва)', inn="7736207543",
                        account="40702810400000000001")
    await _client('ООО "Ромашка" (Тверь)', inn="7736207543", account="40702810400000000999")
    # two clients with INN 7702070139 and no account to tell them apart
    await _client("АО Первое", inn="7702070139")
    await _client("АО Второе", inn="7702070139")
    report = await do_import_statement(admin, "ru.txt",
                                       (DATA / "statement-windows.txt").read_bytes())
    assert report.matched == 2 and report.reasons == {"several_clients": 1}
    assert {c["client_id"] for c in recorded[1:]} == {one.id}


async def test_k6_a_payment_from_an_unknown_account_or_currency(database_url, recorded):
    """K-6: a line whose accounts are not ours and whose dates do not say it came in
    is not taken for a client's payment; an unknown currency waits too."""
    admin, _ = await _people()
    await OwnEntity.filter(account=OURS).update(account=None)
    text = (DATA / "statement-windows.txt").read_bytes().decode("cp1251")
    text = text.replace("\r\nРасчСчет=40702810900000012345\r\n", "\r\n").replace(
        "ДатаПоступило=04.06.2026\r\nПолучатель=", "Получатель=")
    report = await do_import_statement(admin, "x.txt", text.encode("cp1251"))
    # 518 has both dates: unknown; 77 only ДатаСписано now: outgoing; 9 ДатаПоступило
    assert report.outgoing == 2
    assert report.reasons == {"not_incoming": 1, "no_client": 1}
    line = await BankLine.get(number="518")
    assert bank_import.reason_text(line, lambda s: s) == "not a payment to our account"

    await _client('ООО "Ромашка"', inn="7736207543")
    xlsx = _xlsx([["Дата", "Номер", "ИНН плательщика", "Сумма", "Валюта"],
                  ["05.06.2026", "1", "7736207543", "100", "дублоны"],
                  ["05.06.2026", "2", "7736207543", "200", "руб."]])
    report = await do_import_statement(admin, "bank.xlsx", xlsx)
    assert (report.matched, report.reasons) == (1, {"currency": 1})
    assert recorded[-1]["currency"] == "RUB" and recorded[-1]["amount"] == 200


async def test_k6_assign_ignore_restore(database_url, recorded):
    """K-6: a person assigns a waiting line to a client (naming the invoice) and it is
    recorded; another is ignored with a reason and can be put back."""
    admin, _ = await _people()
    await do_import_statement(admin, "a.txt", (DATA / "statement-windows.txt").read_bytes())
    lines = await unmatched(admin)
    assert len(lines) == 3 and {ln.reason for ln in lines} == {"no_client"}
    buyer = await Client.create(name="АО Покупатель")
    first, second, _third = lines
    line = await do_assign(admin, first.id, buyer.id, invoice_number="17")
    assert line.state == BankLineState.MATCHED and line.invoice_ref == "000017"
    assert recorded[-1]["client_id"] == buyer.id and recorded[-1]["bank_line_id"] == first.id
    assert recorded[-1]["legal_entity_id"] is None
    with pytest.raises(ValidationFailed) as err:
        await do_assign(admin, first.id, buyer.id)
    assert err.value.message == "this payment is already recorded"

    with pytest.raises(ValidationFailed) as err:
        await do_ignore(admin, second.id, "  ")
    assert err.value.field == "reason"
    ignored = await do_ignore(admin, second.id, "возврат от поставщика")
    assert (ignored.state, ignored.reason) == (BankLineState.IGNORED, "возврат от поставщика")
    assert bank_import.reason_text(ignored, lambda s: s) == "возврат от поставщика"
    assert len(await unmatched(admin)) == 1
    back = await do_restore(admin, second.id)
    assert back.state == BankLineState.UNMATCHED and len(await unmatched(admin)) == 2
    with pytest.raises(NotFound):
        await do_assign(admin, 999_999, buyer.id)
    with pytest.raises(NotFound):
        await do_assign(admin, second.id, 999_999)


async def test_k6_a_refused_payment_keeps_the_line_in_the_queue(database_url, monkeypatch):
    admin, _ = await _people()
    await _client('ООО "Ромашка"', inn="7736207543")

    async def refuse(actor, line):
        raise ValidationFailed("amount", "the ledger is closed")
    monkeypatch.setattr(bank_import, "_record", refuse)
    report = await do_import_statement(admin, "a.txt",
                                       (DATA / "statement-windows.txt").read_bytes())
    assert report.matched == 0 and report.reasons == {"not_recorded": 2, "no_client": 1}
    line = await BankLine.get(number="518")
    with pytest.raises(ValidationFailed):
        await do_assign(admin, line.id, line.client_id)
    line = await BankLine.get(number="518")  # the failed assignment changed nothing
    assert line.state == BankLineState.UNMATCHED and line.reason == "not_recorded"


async def test_k6_managers_are_refused_heads_may(database_url, recorded):
    admin, manager = await _people()
    data = (DATA / "statement-windows.txt").read_bytes()
    with pytest.raises(PermissionDenied):
        await do_import_statement(manager, "a.txt", data)
    with pytest.raises(PermissionDenied):
        await unmatched(manager)
    await do_import_statement(admin, "a.txt", data)
    line = (await unmatched(admin))[0]
    with pytest.raises(PermissionDenied):
        await do_ignore(manager, line.id, "no")
    head = await User.create(full_name="Hank Head", telegram_id=3, role=Role.HEAD)
    assert len(await unmatched(head)) == 3
    assert await BankLine.all().count() == 3


async def test_k6_a_broken_file_writes_nothing(database_url, recorded):
    admin, _ = await _people()
    with pytest.raises(ValidationFailed) as err:
        await do_import_statement(admin, "broken.txt", (DATA / "broken.txt").read_bytes())
    assert err.value.message == "line 57: «Сумма» is not a number"
    assert await BankStatement.all().count() == 0 and await BankLine.all().count() == 0


@pytest.mark.clock("2026-06-10T07:00:00+00:00")  # the statement of 9 June pays May's invoices
async def test_k6_a_statement_pays_the_ledger_for_real(database_url):
    """K-6 end to end, the real ledger: the payment naming invoice 000012 pays it; the
    one naming an order the ledger has no invoice of pays the oldest invoice instead of
    waiting in the queue."""
    from datetime import date

    from models import EntryKind, LedgerEntry
    from services.ledger_views import balances, open_items

    admin, _ = await _people()
    romashka = await _client('ООО "Ромашка"', inn="7736207543")
    entity = await LegalEntity.get(client=romashka)
    ours = await OwnEntity.get()
    for number, amount, day in (("000010", "4000", 20), ("000012", "20000", 25)):
        await LedgerEntry.create(client=romashka, legal_entity=entity, own_entity=ours,
                                 currency="RUB", kind=EntryKind.INVOICE, number=number,
                                 dated=date(2026, 5, day), due=date(2026, 6, day - 15),
                                 amount=Decimal(amount))
    report = await do_import_statement(admin, "kl_to_1c.txt",
                                       (DATA / "statement-windows.txt").read_bytes())
    assert (report.matched, report.unmatched) == (2, 1)
    items = {i.number: i.open for i in await open_items(admin, romashka.id)}
    # 15 000 to № 000012 (5 000 left); 1 200 («заказ 000031», unknown) to the oldest
    assert items == {"000010": Decimal("2800.00"), "000012": Decimal("5000.00")}
    (balance,) = await balances(admin, romashka.id)
    assert (balance.owed, balance.credit) == (Decimal("7800.00"), Decimal(0))
    payments = await LedgerEntry.filter(kind=EntryKind.PAYMENT).order_by("id")
    assert [(p.number, p.bank_line_id is not None) for p in payments] == [("518", True),
                                                                         ("9", True)]
