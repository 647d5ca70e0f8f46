"""Demo data for ``kontakt demo``: a small company, its clients and its Telegram
sandbox people. Tasks join the demo with their section (S-12..)."""

from __future__ import annotations

from datetime import timedelta

from models import Department, Language, Position, Role, User
from services.staff import do_create_invite, invite_link

# (telegram id, name, username, role, language, department key, position, phone, email, tz)
DEMO_STAFF = [
    (100001, "Анна Смирнова", "anna_smirnova", Role.ADMIN, Language.RU, "hq", "Директор",
     "+74951234567", "anna@romashka-demo.ru", "Europe/Moscow"),
    (100002, "Олег Петренко", "oleg_petrenko", Role.HEAD, Language.UK, "kyiv",
     "Керівник відділу продажів", "+380441234567", "oleg@romashka-demo.ua", "Europe/Kyiv"),
    (100003, "Иван Кузнецов", "ivan_k", Role.MANAGER, Language.RU, "msk",
     "Менеджер по продажам", "+79161234567", "ivan@romashka-demo.ru", "Europe/Moscow"),
    (100004, "Maria Bondar", "maria_bondar", Role.MANAGER, Language.EN, "kyiv",
     "Sales manager", "+380501234567", "maria@romashka-demo.ua", "Europe/Kyiv"),
    (100005, "Светлана Орлова", "sveta_orlova", Role.HEAD, Language.RU, "msk",
     "Руководитель отдела продаж", "+79031234567", "orlova@romashka-demo.ru", "Europe/Moscow"),
]
NEWCOMER = (200001, "Новый", "Сотрудник", "newcomer", "ru")
STRANGER = (300001, "Stranger", None, "just_curious", "en")


async def seed_demo(emulator, *, bot_username: str) -> str:
    """Fill an empty demo database; register the same people in the emulator."""
    if not await User.exists():
        hq = await Department.create(name="Головной офис")
        depts = {
            "hq": hq,
            "msk": await Department.create(name="Продажи Москва", parent=hq),
            "kyiv": await Department.create(name="Продажі Київ", parent=hq),
        }
        users = {}
        for tid, name, uname, role, lang, dept, pos, phone, email, tz in DEMO_STAFF:
            position, _ = await Position.get_or_create(name=pos)
            users[tid] = await User.create(
                telegram_id=tid, telegram_username=uname, full_name=name, role=role,
                language=lang, department=depts[dept], position=position, phone=phone,
                email=email, timezone=tz)
        for tid in (100003,):
            users[tid].supervisor = users[100005]
            await users[tid].save()
        users[100004].supervisor = users[100002]
        await users[100004].save()
    for tid, name, uname, _role, lang, *_ in DEMO_STAFF:
        first, _, last = name.partition(" ")
        emulator.add_user(tid, first, last or None, username=uname, language_code=str(lang))
    emulator.add_user(NEWCOMER[0], NEWCOMER[1], NEWCOMER[2], username=NEWCOMER[3],
                      language_code=NEWCOMER[4])
    emulator.add_user(STRANGER[0], STRANGER[1], STRANGER[2], username=STRANGER[3],
                      language_code=STRANGER[4])
    emulator.create_group("Команда продаж", forum=True,
                          member_ids=[s[0] for s in DEMO_STAFF])
    await _seed_clients()
    await _seed_activities()
    await _seed_deals()
    await _seed_catalogue()
    await _seed_numbers()
    await _seed_campaigns()
    from kontakt.demo_marketing import seed_suppliers_and_scenarios

    await seed_suppliers_and_scenarios()  # M-8
    await _seed_dealers()
    await _seed_lead_form()  # after the campaigns' demo data: it uses their campaign
    invite = await do_create_invite(None, role=Role.MANAGER,
                                    department_id=(await Department.get(name="Продажи Москва")).id,
                                    ttl=timedelta(days=7), note="demo newcomer")
    return (
        "Demo people: " + ", ".join(f"{s[1]} ({s[3].value})" for s in DEMO_STAFF)
        + f"; newcomer {NEWCOMER[1]} {NEWCOMER[2]} can join with "
        + invite_link(bot_username, invite.code)
    )


DEMO_CLIENTS = [
    # (manager telegram id, data)
    (100003, {"name": "ООО «Ромашка»", "phone": "+74951112233", "email": "info@romashka.ru",
              "street": "Тверская ул.", "building": "7", "office": "12", "country": "RU",
              "legal": {"name": "ООО «Ромашка»", "inn": "7707083893", "kpp": "773601001",
                        "ogrn": "1027700132195"},
              "contacts": [{"first_name": "Пётр", "last_name": "Петров",
                            "position": "Директор по закупкам", "phones": ["+79031112233"],
                            "emails": ["petrov@romashka.ru"]}]}),
    (100003, {"name": "ИП Сидоров А. В.", "kind": "individual", "last_name": "Сидоров",
              "first_name": "Алексей", "phone": "+79165554433", "country": "RU"}),
    (100004, {"name": "ТОВ «Соняшник»", "phone": "+380442223344", "email": "office@sonyashnyk.ua",
              "street": "вул. Хрещатик", "building": "22", "country": "UA",
              "legal": {"name": "ТОВ «Соняшник»", "country": "UA", "edrpou": "14360570"},
              "contacts": [{"first_name": "Ірина", "last_name": "Коваль", "position": "Бухгалтер",
                            "phones": ["+380671112233"]}]}),
    (100004, {"name": "Fresh Market LLC", "phone": "+380501234000", "country": "UA",
              "legal": {"name": "Fresh Market LLC", "country": "UA", "edrpou": "00032129"}}),
    (100002, {"name": "Группа «Восток»", "email": "group@vostok.example", "country": "RU"}),
]


async def _seed_clients() -> None:
    from models import Client
    from services.clients import do_create_client
    from services.contacts import do_add_contact

    if await Client.exists():
        return
    for manager_tid, data in DEMO_CLIENTS:
        manager = await User.get(telegram_id=manager_tid)
        data = dict(data)
        contacts = data.pop("contacts", [])
        region = "UA" if data.get("country") == "UA" else "RU"
        client = (await do_create_client(manager, data, source="system", region=region)).client
        for contact in contacts:
            await do_add_contact(manager, client.id, contact, source="system", region=region)


async def _seed_activities() -> None:
    """A few days of work for the demo: today's call, tomorrow's meeting with its
    reminder, an overdue task, a weekly planning meeting (K-17, S-19, A-8)."""
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from models import Activity, Client
    from services.activities import do_create_activity

    if await Activity.exists():
        return
    ivan = await User.get(telegram_id=100003)
    anna = await User.get(telegram_id=100001)
    romashka = await Client.get_or_none(name="ООО «Ромашка»")
    tz = ZoneInfo(ivan.timezone)
    now = datetime.now(tz).replace(minute=0, second=0, microsecond=0)
    tomorrow = (now + timedelta(days=1)).replace(hour=11)
    plan = [
        (ivan, {"title": "Позвонить Петрову: условия поставки", "type": "call",
                "client_id": romashka.id if romashka else None,
                "starts_at": now + timedelta(hours=2), "priority": "high"}),
        (ivan, {"title": "Встреча в «Ромашке»: презентация каталога", "type": "meeting",
                "client_id": romashka.id if romashka else None, "starts_at": tomorrow,
                "duration_min": 90, "location": "Тверская ул., 7", "reminders": [60, 15]}),
        (ivan, {"title": "Отправить КП Сидорову", "type": "task",
                "starts_at": now - timedelta(days=1)}),
        (anna, {"title": "Планёрка отдела продаж", "type": "meeting",
                "starts_at": (now - timedelta(days=now.weekday())).replace(hour=10),
                "duration_min": 30, "rrule": "FREQ=WEEKLY;BYDAY=MO",
                "assignees": [anna.id]}),
    ]
    for author, data in plan:
        await do_create_activity(author, data, source="system")


async def _seed_deals() -> None:
    """Deals at several stages (U-1, U-2): Ivan's offer with his call as the next step,
    a lead without one (flagged), a sale won last month going on as its execution; one
    of Maria's in Kyiv in hryvnias."""
    from models import Activity, Client, Deal
    from services import deal_moves, deals

    if await Deal.exists():
        return
    ivan = await User.get(telegram_id=100003)
    maria = await User.get(telegram_id=100004)
    romashka = await Client.get_or_none(name="ООО «Ромашка»")
    sidorov = await Client.get_or_none(name="ИП Сидоров А. В.")
    sonyashnyk = await Client.get_or_none(name="ТОВ «Соняшник»")
    if not (romashka and sidorov and sonyashnyk):
        return
    sale = next(p for p in await deals.process_types() if p.code == "sale")
    stages = {s.code: s for s in await deals.stages_of(sale.id)}
    offer = (await deals.do_create_deal(ivan, {
        "client_id": romashka.id, "title": "Поставка канцтоваров на 2027 год",
        "amount": "250000", "expected_close": None}, source="system")).deal
    for code in ("need", "offer"):
        await deal_moves.do_move(ivan, offer.id, stages[code].id, source="system")
    call = await Activity.filter(client_id=romashka.id, state="planned").order_by(
        "starts_at").first()
    if call is not None:
        await deals.do_link_activity(ivan, call.id, offer.id)
    await deals.do_create_deal(ivan, {"client_id": sidorov.id,
                                      "title": "Оборудование для мастерской",
                                      "amount": "85000"}, source="system")
    won = (await deals.do_create_deal(ivan, {"client_id": romashka.id,
                                             "title": "Пробная партия бумаги",
                                             "amount": "42000"}, source="system")).deal
    await deal_moves.do_win(ivan, won.id, source="system")
    kyiv = (await deals.do_create_deal(maria, {"client_id": sonyashnyk.id,
                                               "title": "Оптові поставки", "amount": "120000",
                                               "currency": "UAH"}, source="system")).deal
    await deal_moves.do_move(maria, kyiv.id, stages["need"].id, source="system")


async def _seed_catalogue() -> None:
    """A wholesaler's catalogue for the demo (K-4, K-5, M-5, A-14, S-22): two categories
    and their products, a retail list and a wholesale list made from it by rules (a
    volume step, a minimum margin), a discount group by product kind, a promo, a
    warehouse with stock, our legal entity, the construction sphere's matrix; Romashka
    buys from the wholesale list in the dealers' group."""
    from decimal import Decimal as D

    from models import (
        Client,
        ClientTerms,
        DictionaryItem,
        DiscountGroup,
        DiscountRate,
        ListPrice,
        MatrixEntry,
        OwnEntity,
        PriceList,
        PriceRule,
        Product,
        ProductCategory,
        ProductKind,
        Promo,
        StockLevel,
        Warehouse,
    )
    from services.clock import utcnow
    from services.dictionaries import ensure_system_dictionaries
    from services.products import search_text_of

    if await PriceList.exists():
        return
    paper = await ProductCategory.create(name="Бумага и канцтовары")
    office = await ProductCategory.create(name="Офисная бумага", parent=paper)
    tools = await ProductCategory.create(name="Инструмент")
    goods = await ProductKind.create(name="Товары")
    brand = await ProductKind.create(name="Бренды")
    services_kind = await ProductKind.create(name="Услуги")
    rows = [
        # code, name, unit, category, kind, cost, retail price, on hand
        ("P-A4", "Бумага A4 «Снегурочка», 500 л.", "пач", office, goods, "210", "320", "400"),
        ("P-A3", "Бумага A3 «SvetoCopy», 500 л.", "пач", office, brand, "480", "690", "60"),
        ("ST-10", "Степлер №10", "шт", paper, goods, "95", "160", "120"),
        ("PN-B", "Ручка шариковая синяя", "шт", paper, goods, "8", "19", "2000"),
        ("DR-18", "Дрель-шуруповёрт 18 В", "шт", tools, brand, "4200", "6490", "7"),
        ("BT-8", "Болт М8×40", "кг", tools, goods, "180", "260", "35.5"),
    ]
    retail = await PriceList.create(name="Розница", currency="RUB", is_default=True)
    wholesale = await PriceList.create(name="Опт", currency="RUB", base_list=retail,
                                       sort_order=1)
    store = await Warehouse.create(name="Основной склад", is_default=True)
    products = {}
    for code, name, unit, category, kind, cost, price, on_hand in rows:
        product = await Product.create(
            code=code, name=name, unit=unit, group=category, kind=kind, vat_rate=D(20),
            cost_price=D(cost), search_text=search_text_of(name, code))
        products[code] = product
        await ListPrice.create(price_list=retail, product=product, price=D(price))
        await StockLevel.create(warehouse=store, product=product, on_hand=D(on_hand))
    delivery = await Product.create(code="SRV-DL", name="Доставка по городу", unit="усл",
                                    is_service=True, kind=services_kind, vat_rate=D(20),
                                    search_text=search_text_of("Доставка по городу", "SRV-DL"))
    await ListPrice.create(price_list=retail, product=delivery, price=D(1500))
    await PriceRule.create(price_list=wholesale, position=1, name="Опт −10 %",
                           method="discount", base="list", value=D(10), rounding=D(1))
    await PriceRule.create(price_list=wholesale, position=2, name="От 50 шт. −15 %",
                           method="discount", base="list", value=D(15), min_qty=D(50),
                           rounding=D(1), final=True)
    await PriceRule.create(price_list=wholesale, position=0, name="Маржа не ниже 12 %",
                           method="discount", base="list", value=D(0), min_margin=D(12))
    dealers = await DiscountGroup.create(name="Дилеры", combine="best")
    await DiscountRate.create(group=dealers, kind=goods, percent=D(3))
    await DiscountRate.create(group=dealers, kind=brand, percent=D(5))
    today = utcnow().date()
    await Promo.create(name="Степлер в подарок (акция месяца)", percent=D(100),
                       starts=today.replace(day=1), ends=today + timedelta(days=30),
                       product=products["ST-10"])
    await OwnEntity.create(
        name="ООО «Контакт-Опт»", inn="7728168971", kpp="772801001", ogrn="1027739019208",
        legal_address="117312, Москва, ул. Вавилова, д. 19", phone="+74955550101",
        bank_name="ПАО Сбербанк", bik="044525225", account="40702810938000012345",
        corr_account="30101810400000000225", director="Смирнова А. П.",
        accountant="Орлова Е. В.", is_default=True)
    await ensure_system_dictionaries()
    spheres = {item.code: item for item in await DictionaryItem.filter(
        code__in=["construction", "wholesale"])}
    for sphere, codes in (("construction", ("DR-18", "BT-8")),
                          ("wholesale", ("P-A4", "PN-B"))):
        if sphere in spheres:
            for code in codes:
                await MatrixEntry.create(product=products[code], sphere=spheres[sphere])
    romashka = await Client.get_or_none(name="ООО «Ромашка»")
    if romashka is not None:
        await ClientTerms.create(client=romashka, price_list=wholesale,
                                 discount_group=dealers)
        if "wholesale" in spheres:
            await romashka.spheres.add(spheres["wholesale"])
        from models import PaymentTerms  # K-6, M-6: pays 14 days after the shipment

        await PaymentTerms.create(client=romashka, basis="shipment", days=14)
        await _seed_order(romashka, products)


async def _seed_order(client, products) -> None:
    """Ivan's shipped order for Romashka: 60 packs of paper at the dealer's price and the
    promo's stapler as a gift line (the promo's effect report has something to show)."""
    from services import orders

    ivan = await User.get(telegram_id=100003)
    order = await orders.do_create_order(ivan, {"client_id": client.id}, source="system")
    await orders.do_set_lines(ivan, order.id, [
        {"product_id": products["P-A4"].id, "quantity": "60"},
        {"product_id": products["ST-10"].id, "quantity": "1", "off_matrix": True}],
        source="system")
    await orders.do_post(ivan, order.id, source="system")
    await orders.do_ship(ivan, order.id, source="system")


async def _seed_numbers() -> None:
    """Issue 15 in the sandbox: Ivan's sales plan for this month (S-26), a bonus scheme
    with two steps (K-9) and a loyalty programme with Romashka's card (U-9)."""
    from models import BonusScheme, Client
    from services import loyalty, loyalty_cards, motivation
    from services.clock import utcnow
    from services.sales_plans import Cell, do_set_plans

    if await BonusScheme.exists():
        return  # seeded by an earlier start
    anna = await User.get(telegram_id=100001)
    ivan = await User.get(telegram_id=100003)
    month = utcnow().date().replace(day=1)
    await do_set_plans(anna, month, [
        Cell(user_id=ivan.id, metric="revenue", target="20000", currency="RUB"),
        Cell(user_id=ivan.id, metric="deals_won", target="2")])
    await motivation.do_save_scheme(anna, motivation.SchemeIn(
        name="Премия за выручку", metric="revenue", kind="bonus", base="percent",
        currency="RUB", steps=[{"lower": "0", "upper": "30", "value": "2"},
                               {"lower": "30", "upper": "100", "value": "3"}],
        active_from=month))
    await loyalty.do_set_program(anna, {
        "point_value": "1", "max_share": "20", "tiers": [
            {"name": "Бронза", "threshold": "0", "accrual": "1"},
            {"name": "Серебро", "threshold": "100000", "accrual": "3"}]}, source="system")
    romashka = await Client.get_or_none(name="ООО «Ромашка»")
    if romashka is not None:
        await loyalty_cards.do_issue(ivan, {"client_id": romashka.id, "number": "RM-0001"},
                                     source="system")


async def _seed_campaigns() -> None:
    """Issue 16 in the sandbox (K-10, K-12): a campaign of this year with two variants,
    a few cost items and the first and last touch of two clients."""
    from models import Attribution, Campaign, Client
    from services import campaigns
    from services.clock import utcnow

    if await Campaign.exists(name="Весенняя распродажа"):
        return  # seeded by an earlier start
    anna = await User.get(telegram_id=100001)
    today = utcnow().date()
    campaign = await campaigns.do_create_campaign(anna, {
        "name": "Весенняя распродажа", "starts_on": today.replace(month=1, day=15),
        "ends_on": today.replace(month=12, day=31), "budget": "150000", "state": "running",
        "description": "Скидки на трубы и краны для постоянных клиентов"})
    mail = await campaigns.do_create_variant(anna, campaign.id, {
        "name": "Письмо клиентам", "channel": "email", "budget": "30000",
        "promo_code": "VESNA10", "landing_url": "https://example.com/vesna"})
    ads = await campaigns.do_create_variant(anna, campaign.id, {
        "name": "Контекстная реклама", "channel": "search", "budget": "100000"})
    for variant, item, planned, actual in (
            (mail, "Рассылка", "20000", "18500"), (ads, "Яндекс Директ", "80000", "91000"),
            (None, "Дизайн баннеров", "15000", "15000")):
        await campaigns.do_create_cost(anna, campaign.id, {
            "item": item, "planned": planned, "actual": actual, "spent_on": today,
            "variant_id": variant.id if variant else None})
    now = utcnow()
    for name, variant in (("ООО «Ромашка»", mail), ("Группа «Восток»", ads)):
        client = await Client.get_or_none(name=name)
        if client is None:
            continue
        for touch in ("first", "last"):
            await Attribution.get_or_create(
                subject=f"c:{client.id}", touch=touch,
                defaults={"client": client, "campaign": campaign, "variant": variant,
                          "via": "manual", "at": now, "by": anna})


async def _seed_dealers() -> None:
    """M-7 in the sandbox: Fresh Market LLC is a dealer, Maria's Kyiv deal came through
    it, and the dealer's scenario "Работа с дилером" is seeded when no process of kind
    partner is there (the seeded "Партнёрство" of U-8 is one: then it is left out)."""
    from models import Client, Deal, PartnerRole, ProcessKind, ProcessType
    from services import dealers
    from services.dealer_seed import seed_dealer_process

    anna = await User.get_or_none(telegram_id=100001)
    dealer = await Client.get_or_none(name="Fresh Market LLC")
    if anna is None or dealer is None or await PartnerRole.filter(client_id=dealer.id).exists():
        return  # seeded by an earlier start (or the people are not the demo's)
    if not await ProcessType.filter(kind=ProcessKind.PARTNER).exists():
        await seed_dealer_process(anna)
    await dealers.do_mark_dealer(anna, dealer.id, {"note": "Дилер по Киевской области"},
                                 source="system")
    deal = await Deal.filter(title="Оптові поставки").first()
    if deal is not None:
        await dealers.do_set_deal_dealer(anna, deal.id, dealer.id, source="system")


async def _seed_lead_form() -> None:
    """K-10: one web lead form on the demo campaign ("Весенняя акция" if there is one,
    else the first campaign, else a small one made here), leads in turn to Moscow."""
    from datetime import date

    from models.marketing import Campaign, CampaignState, CampaignVariant, LeadForm

    if await LeadForm.exists():
        return
    campaign = await Campaign.filter(name="Весенняя акция").first() or \
        await Campaign.all().order_by("id").first()
    if campaign is None:
        campaign = await Campaign.create(name="Заявки с сайта", state=CampaignState.RUNNING,
                                         starts_on=date(2026, 1, 1))
    variant = await CampaignVariant.filter(campaign_id=campaign.id).order_by("id").first() \
        or await CampaignVariant.create(campaign=campaign, name="Сайт", link_token="demo-site")
    await LeadForm.create(
        variant=variant, token="demo-form", title="Оставьте заявку",
        intro="Менеджер перезвонит в течение часа.", thanks="Спасибо! Мы скоро свяжемся.",
        fields_spec=[{"name": "name", "required": True}, {"name": "phone", "required": True},
                     {"name": "email", "required": False},
                     {"name": "message", "required": False}],
        department=await Department.get(name="Продажи Москва"))
