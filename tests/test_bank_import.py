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
from services import bank_import, ledger_batch
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
    async def fake_chunk(actor, lines):
        for line in lines:
            await fake(actor, line)
        return dict.fromkeys((line.id for line in lines), None)
    monkeypatch.setattr(bank_import, "_record", fake)
    monkeypatch.setattr(ledger_batch, "record_lines", fake_chunk)
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
    assert line.client.name == "АО Покупатель"  # with its client, for the front ends
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
    assert ignored.client is None
    assert bank_import.reason_text(ignored, lambda s: s) == "возврат от поставщика"
    assert len(await unmatched(admin)) == 1
    back = await do_restore(admin, second.id)
    assert back.state == BankLineState.UNMATCHED and len(await unmatched(admin)) == 2
    assert back.client is None  # nobody found for it
    with pytest.raises(NotFound):
        await do_assign(admin, 999_999, buyer.id)
    with pytest.raises(NotFound):
        await do_assign(admin, second.id, 999_999)


async def test_k6_a_refused_payment_keeps_the_line_in_the_queue(database_url, monkeypatch):
    admin, _ = await _people()
    await _client('ООО "Ромашка"', inn="7736207543")

    async def refuse(actor, line):
        raise ValidationFailed("amount", "the ledger is closed")

    async def refuse_chunk(actor, lines):
        return {line.id: ValidationFailed("amount", "the ledger is closed") for line in lines}
    monkeypatch.setattr(bank_import, "_record", refuse)
    monkeypatch.setattr(ledger_batch, "record_lines", refuse_chunk)
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


def _statement(payments: list[tuple[str, ...]]) -> bytes:
    """A 1CClientBankExchange file (cp1251) of incoming payments: (number, amount, the
    payer's INN, purpose[, the day]), on 9 June 2026 unless a day is given, as the
    format's description gives it."""
    head = ["1CClientBankExchange", "ВерсияФормата=1.03", "Кодировка=Windows",
            "Отправитель=Банк", "Получатель=Бухгалтерия", "ДатаНачала=01.06.2026",
            "ДатаКонца=09.06.2026", f"РасчСчет={OURS}", "СекцияРасчСчет",
            "ДатаНачала=01.06.2026", "ДатаКонца=09.06.2026", f"РасчСчет={OURS}",
            "КонецРасчСчет"]
    body = []
    for number, amount, inn, purpose, *day in payments:
        on = day[0] if day else "09.06.2026"
        body += ["СекцияДокумент=Платежное поручение", f"Номер={number}",
                 f"Дата={on}", f"Сумма={amount}", f"ПлательщикСчет=4070281010000{inn[-7:]}",
                 f"ПлательщикИНН={inn}", f"Плательщик1=ООО {inn}", f"ПолучательСчет={OURS}",
                 f"ДатаПоступило={on}", "ПолучательИНН=7728168971",
                 f"НазначениеПлатежа={purpose}", "КонецДокумента"]
    return "\r\n".join(head + body + ["КонецФайла", ""]).encode("cp1251")


@pytest.mark.clock("2026-06-10T07:00:00+00:00")
async def test_k6_chunked_recording_allocates_as_one_by_one(database_url, monkeypatch):
    """K-6: a statement's payments are recorded in chunks (services.ledger_batch); the
    allocations are exactly those of recording each payment alone (the fallback when the
    database refuses a chunk): partial and over-payments, two payments of one invoice in
    a chunk, a named invoice first, an unknown number, an invoice in another currency or
    of the client's other legal entity, the credit left taken by nothing else. A client a
    head does not see is refused alone."""
    from datetime import date

    from tortoise.exceptions import OperationalError

    from models import Allocation, EntryKind, LedgerEntry

    admin, _ = await _people()
    ours = await OwnEntity.get()
    inns = [f"77{k:08d}" for k in range(6)]
    clients = [await _client(f"Клиент {k}", inn=inn) for k, inn in enumerate(inns)]
    second = await LegalEntity.create(client=clients[1], name="Второе лицо",
                                      inn="7700009999")
    n = 0
    for client in clients[:5]:
        entity = await LegalEntity.get(client=client, is_primary=True)
        for i, (amount, due) in enumerate((("1000.00", 5), ("2500.50", 1), ("700.00", 20))):
            n += 1
            await LedgerEntry.create(client=client, legal_entity=entity, own_entity=ours,
                                     currency="RUB", kind=EntryKind.INVOICE,
                                     number=f"{n:06d}", dated=date(2026, 5, 1 + i),
                                     due=date(2026, 6, due), amount=Decimal(amount))
    await LedgerEntry.create(client=clients[0], legal_entity=await LegalEntity.get(
        client=clients[0]), own_entity=ours, currency="USD", kind=EntryKind.INVOICE,
        number="000090", dated=date(2026, 5, 3), amount=Decimal("50.00"))
    await LedgerEntry.create(client=clients[1], legal_entity=second, own_entity=ours,
                             currency="RUB", kind=EntryKind.INVOICE, number="000091",
                             dated=date(2026, 5, 3), amount=Decimal("300.00"))
    lines = [("1", "600.00", inns[0], "Оплата по счету № 000003"),   # named, partial
             ("2", "500.00", inns[0], "Оплата по счету № 000003"),   # the rest, and over
             ("3", "5000.00", inns[1], "Оплата"),                     # all and a credit
             ("4", "100.00", inns[1], "по сч. 91"),                   # the other entity's
             ("5", "10.00", inns[0], "по счету 90"),                  # a USD invoice
             ("6", "2500.50", inns[2], "Оплата по заказу 000777"),   # unknown number
             ("7", "0.01", inns[3], "Оплата"),
             ("8", "4200.50", inns[3], "Оплата по счету № 000010"),
             ("9", "99.99", inns[5], "Оплата")]                       # no invoices at all
    data = _statement(lines)

    async def snapshot():
        rows = []
        for a in await Allocation.all().prefetch_related("credit__bank_line", "debit"):
            rows.append((a.credit.bank_line.number, a.debit.number, Decimal(a.amount)))
        payments = sorted((p.number, p.legal_entity_id, p.own_entity_id, p.currency)
                          for p in await LedgerEntry.filter(kind=EntryKind.PAYMENT))
        return sorted(rows), payments

    report = await do_import_statement(admin, "a.txt", data)
    assert (report.matched, report.unmatched) == (9, 0)
    chunked = await snapshot()
    assert ("1", "000003", Decimal("600.00")) in chunked[0]
    assert ("2", "000003", Decimal("100.00")) in chunked[0]      # then the oldest due
    assert ("2", "000002", Decimal("400.00")) in chunked[0]
    assert not [r for r in chunked[0] if r[0] == "9"]             # a credit, kept
    for model in (Allocation, LedgerEntry, BankLine, BankStatement):
        if model is LedgerEntry:
            await LedgerEntry.filter(kind=EntryKind.PAYMENT).delete()
        else:
            await model.all().delete()

    async def refused(actor, chunk):
        raise OperationalError("database is locked")
    monkeypatch.setattr(ledger_batch, "record_lines", refused)
    report = await do_import_statement(admin, "a.txt", data)
    assert (report.matched, report.unmatched) == (9, 0)
    assert await snapshot() == chunked


@pytest.mark.clock("2026-06-10T07:00:00+00:00")  # 11 June is after today
async def test_k6_chunked_recording_refuses_alone_what_the_ledger_refuses(database_url):
    """A head imports a statement with a payment from a client outside their departments
    and one dated after today: those two wait in the queue as not recorded; the rest
    are recorded."""
    from models import ClientManager, Department

    _admin, _ = await _people()
    north = await Department.create(name="Север")
    head = await User.create(full_name="Hank Head", telegram_id=3, role=Role.HEAD,
                             department=north)
    rep = await User.create(full_name="Nora North", telegram_id=4, role=Role.MANAGER,
                            department=north)
    mine = await _client("Свой", inn="7700000001")
    await _client("Чужой", inn="7700000002")
    await ClientManager.create(client=mine, user=rep)
    data = _statement([("1", "10.00", "7700000001", "Оплата"),
                       ("2", "20.00", "7700000002", "Оплата"),
                       ("3", "30.00", "7700000001", "Оплата", "11.06.2026")])
    report = await do_import_statement(head, "a.txt", data)
    assert (report.matched, report.reasons) == (1, {"not_recorded": 2})
    for number in ("2", "3"):
        line = await BankLine.get(number=number)
        assert (line.state, line.reason) == (BankLineState.UNMATCHED, "not_recorded")
    assert (await BankLine.get(number="1")).state == BankLineState.MATCHED
