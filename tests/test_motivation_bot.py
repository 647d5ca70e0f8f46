"""K-9 motivation in the bot: /plan shows one's own bonus so far per scheme line, and
the morning digest gains "Plan X% · bonus so far Y" for a person with a scheme (even
on a day with nothing on the agenda); someone without a scheme gets no such line."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from models import NotificationLog, Role, Setting
from notifications.digest import send_digests
from services import activities as act_svc
from services import motivation as svc
from services import sales_plans
from services.clock import utcnow
from tests.conftest import say
from tests.test_motivation import _scheme
from tests.test_sales_plans import MONTH, _order, _world


async def test_k9_plan_command_and_morning_digest_show_the_bonus(service, emulator,
                                                                 make_staff):
    (sales, other), (admin, head, ivan, olga), client, cats, (pipe, valve) = \
        await _world(make_staff)
    ivan.language = "en"
    await ivan.save()
    idle = await make_staff(Role.MANAGER, language="en", department=other)
    await _order(ivan, client, "posted", [(pipe, 1, "13001", None)])
    await sales_plans.do_set_plans(admin, MONTH, [sales_plans.Cell(ivan.id, "revenue", "10000")])
    await svc.do_save_scheme(admin, _scheme(reach="department", department_id=sales.id))
    for person in (ivan, idle):
        await say(emulator, person.telegram_id, "/menu")
    reply = await say(emulator, ivan.telegram_id, "/plan")
    text = "\n".join(m.get("text", "") for m in emulator.bot_messages(ivan.telegram_id))
    assert reply is not None
    assert "Your bonus so far" in text and "Бонус с продаж: 130,01% → 390,03 RUB" in text, text
    assert "Total: 390,03 RUB" in text
    # the digest hour is now: Ivan has nothing on the agenda but a bonus line
    await NotificationLog.all().delete()
    tz = ivan.timezone
    await Setting.update_or_create(key=act_svc.DIGEST_HOUR_KEY, defaults={
        "value": utcnow().astimezone(ZoneInfo(tz)).hour})
    idle.timezone = tz
    await idle.save()
    await send_digests(service.bot, service.i18n)
    morning = [m["text"] for m in emulator.bot_messages(ivan.telegram_id)
               if "Good morning" in m.get("text", "")]
    assert len(morning) == 1 and "📈 Plan 130% · bonus so far 390,03 RUB" in morning[0], morning
    assert not [m for m in emulator.bot_messages(idle.telegram_id)
                if "Good morning" in m.get("text", "")]
