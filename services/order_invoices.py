"""An order's invoice (issue 13, S-17): made as a PDF (services.invoice_pdf), kept as a
document of the client and linked to the order, and sent to the client by email with
the existing messaging (the outbox sends it after the commit).

* An invoice is made for an order with lines that is not cancelled (a draft too: the
  client often pays before the goods are reserved). Making it again replaces the link
  (the earlier file stays among the client's documents, as it was sent).
* Its language is the one asked, else the maker's (ru, uk, en); its date is the day
  the order was posted (else made) in the maker's time zone.
* Sending it makes the invoice first when the order has none; the email's subject and
  text are in the invoice's language, to the contact person asked or the client's
  address, the file attached.
"""

from __future__ import annotations

from typing import Any

from tortoise.transactions import in_transaction

from models import Document, Order, OrderLine, OrderState, OutboundMessage, User
from services import documents, ledger, messaging, orders
from services.errors import N_, ValidationFailed
from services.invoice_data import invoice_from_order
from services.invoice_pdf import render_invoice

LANGUAGES = ("ru", "uk", "en")
WORDS = {  # the file's name and the email, per the invoice's language
    "ru": ("Счёт {number}.pdf", "Счёт № {number}",
           "Здравствуйте!\n\nНаправляем счёт № {number} на сумму {total}.\n"
           "Счёт во вложении.\n\n{sender}"),
    "uk": ("Рахунок {number}.pdf", "Рахунок № {number}",
           "Доброго дня!\n\nНадсилаємо рахунок № {number} на суму {total}.\n"
           "Рахунок у вкладенні.\n\n{sender}"),
    "en": ("Invoice {number}.pdf", "Invoice {number}",
           "Hello,\n\nPlease find attached invoice {number} for {total}.\n\n{sender}"),
}


def _language(actor: User, asked: str | None) -> str:
    lang = asked or str(actor.language)
    if lang not in LANGUAGES:
        raise ValidationFailed("language", N_("choose ru, uk or en"))
    return lang


async def do_make_invoice(actor: User, order_id: int, store: Any, *,
                          language: str | None = None, source: str = "web") -> Document:
    order = await orders.get_order(actor, order_id)
    if order.state == OrderState.CANCELLED:
        raise ValidationFailed("state", N_("a cancelled order has no invoice"))
    if not await OrderLine.exists(order_id=order.id):
        raise ValidationFailed("lines", N_("add at least one line"))
    lang = _language(actor, language)
    invoice = await invoice_from_order(order.id, language=lang, tz=actor.timezone or "UTC")
    content = await render_invoice(invoice)
    doc = await documents.do_attach(actor, order.client_id,
                                    filename=WORDS[lang][0].format(number=order.number),
                                    content=content, mime_type="application/pdf",
                                    store=store, source=source)
    async with in_transaction():  # K-6: the ledger's invoice entry with the link
        await Order.filter(id=order.id).update(invoice_id=doc.id)
        await ledger.record_invoice(order, actor=actor)
    return doc


async def do_send_invoice(actor: User, order_id: int, store: Any, *,
                          contact_id: int | None = None, language: str | None = None,
                          source: str = "web") -> OutboundMessage:
    from kontakt.formatting import money_text

    order = await orders.get_order(actor, order_id)
    lang = _language(actor, language)
    doc = await Document.get_or_none(id=order.invoice_id) if order.invoice_id else None
    if doc is None:
        doc = await do_make_invoice(actor, order.id, store, language=lang, source=source)
    _file, subject, body = WORDS[lang]
    values = {"number": order.number, "total": money_text(order.total, order.currency),
              "sender": actor.full_name}
    # the text goes through the message templates' renderer: no braces of its own
    return await messaging.do_send_email(
        actor, order.client_id, source=source, attachments=[doc.id],
        contact_id=contact_id, subject=subject.format(**values).replace("{", "(").replace(
            "}", ")"),
        body=body.format(**values).replace("{", "(").replace("}", ")"))
