"""An order's invoice (S-17): made as a PDF in the asked language, kept as the client's
document and linked to the order, and queued as an email to the client with the file."""

from __future__ import annotations

import io

import pytest
from pypdf import PdfReader

from models import Channel, Document, Order, OutboundMessage, OwnEntity, Role
from services import order_invoices
from services import orders as order_svc
from services.errors import ValidationFailed
from services.storage import LocalFileStore
from tests.test_orders import _setup


def _text(content: bytes) -> str:
    return " ".join(page.extract_text() for page in PdfReader(io.BytesIO(content)).pages)


async def test_s17_an_invoice_is_made_kept_and_emailed(database_url, make_staff, tmp_path):
    ivan = await make_staff(Role.MANAGER, language="ru", timezone="Europe/Moscow",
                            name="Иван Петров")
    client, _retail, _store, pipe, bolt, _m = await _setup(ivan)
    await OwnEntity.filter(is_default=True).update(
        kpp="770701001", bank_name="ПАО Сбербанк", bik="044525225",
        account="40702810938000000001", corr_account="30101810400000000225",
        legal_address="Москва, ул. Тверская, 1", director="Петров И. И.")
    store = LocalFileStore(tmp_path)
    order = await order_svc.do_create_order(ivan, {"client_id": client.id})
    with pytest.raises(ValidationFailed) as err:  # nothing to invoice yet
        await order_invoices.do_make_invoice(ivan, order.id, store)
    assert err.value.field == "lines"
    await order_svc.do_set_lines(ivan, order.id, [{"product_id": pipe.id, "quantity": 2},
                                                  {"product_id": bolt.id, "quantity": 4}])
    doc = await order_invoices.do_make_invoice(ivan, order.id, store)
    assert doc.filename == f"Счёт {order.number}.pdf" and doc.mime_type == "application/pdf"
    assert (await Order.get(id=order.id)).invoice_id == doc.id
    content = (tmp_path / doc.storage_path).read_bytes()
    text = _text(content)
    assert f"№ {order.number}" in text and "Труба ДН50" in text and "Болт М8" in text
    assert "ООО «Контакт»" in text and "044525225" in text
    assert "2 050,00" in text.replace("\u00a0", " ")  # 2 × 1000 + 4 × 12,50
    # in Ukrainian, asked
    doc_uk = await order_invoices.do_make_invoice(ivan, order.id, store, language="uk")
    assert doc_uk.filename == f"Рахунок {order.number}.pdf"
    assert "Рахунок на оплату" in _text((tmp_path / doc_uk.storage_path).read_bytes())
    # emailed: the file attached, the subject in the invoice's language
    await client.__class__.filter(id=client.id).update(email="zakaz@romashka.ru")
    sent = await order_invoices.do_send_invoice(ivan, order.id, store)
    outbound = await OutboundMessage.get(id=sent.id)
    assert (outbound.channel, outbound.to_address) == (Channel.EMAIL, "zakaz@romashka.ru")
    assert outbound.subject == f"Счёт № {order.number}"
    assert outbound.attachments == [doc_uk.id]
    assert "2 050 ₽" in outbound.body.replace("\u00a0", " ") and "Иван Петров" in outbound.body
    # a cancelled order has none
    await order_svc.do_cancel(ivan, order.id)
    with pytest.raises(ValidationFailed) as err:
        await order_invoices.do_make_invoice(ivan, order.id, store)
    assert err.value.field == "state"
    assert await Document.filter(client_id=client.id).count() == 2

