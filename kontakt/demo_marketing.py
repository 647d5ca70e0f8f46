"""Demo data for M-8 (issue 16): one marketing service supplier with two services at
the prices agreed, and the default campaign scenario template. Idempotent: each part is
looked up first, so a restart seeds nothing twice."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from models import Client, PartnerKind, PartnerRole, SupplierService, User

SUPPLIER = "Агентство «Медиа Плюс»"


async def seed_suppliers_and_scenarios() -> None:
    from services import scenarios, suppliers
    from services.clients import do_create_client
    from services.clock import utcnow

    await scenarios.ensure_default_templates("ru")
    anna = await User.get_or_none(telegram_id=100001)
    if anna is None or await PartnerRole.filter(kind=PartnerKind.MARKETING_SUPPLIER).exists():
        return
    client = await Client.get_or_none(name=SUPPLIER)
    if client is None:
        client = (await do_create_client(anna, {
            "name": SUPPLIER, "phone": "+74957770011", "email": "hello@mediaplus.example",
            "country": "RU"}, source="system")).client
    await suppliers.do_mark_supplier(anna, client.id, "Наружная реклама и соцсети")
    today = utcnow().date()
    for name, unit, price in (("Баннер 3×6 м", "месяц", Decimal("45000")),
                              ("Таргетированная реклама", "неделя", Decimal("18500.50"))):
        if not await SupplierService.filter(supplier_id=client.id, name=name).exists():
            await suppliers.do_add_service(anna, client.id, {
                "name": name, "unit": unit, "price": price, "currency": "RUB",
                "agreed_on": today - timedelta(days=30),
                "valid_until": today + timedelta(days=335)})
