"""Reports in the bot: /stats (S-27 activities per person and type as a chart image,
sales and deals per person with revenue and margin as a second chart; M-16 reaction
time), /plan (M-14 plan vs fact of this month, and one's K-9 bonus so far per scheme)
and /abc (K-8: the person's clients per ABC class, with the way to the Mini App's
ranking page)."""

from __future__ import annotations

import asyncio
import html
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from aiogram import F, Router
from aiogram.filters import Command, CommandObject
from aiogram.types import (
    BufferedInputFile,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
    WebAppInfo,
)
from aiogram.utils.i18n import gettext as _

from kontakt.formatting import qty_text
from kontakt.labels import (
    plan_amount,
    sales_plan_label,
    stage_name,
    type_name,
    with_type_names,
)
from models import User
from services import analytics, manager_charts, ranking_results
from services.clock import utcnow
from services.manager_funnel import manager_funnel
from services.manager_report import manager_report
from services.motivation_statements import my_summary
from services.ranking_run import last_run


def period_of(arg: str | None, tz: str) -> tuple[datetime, datetime, str]:
    """"week" (default: the last 7 days), "month" (this month), "today"."""
    zone = ZoneInfo(tz)
    now = utcnow().astimezone(zone)
    word = (arg or "week").strip().lower()
    if word in ("month", "месяц", "місяць"):
        start = now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
        return start, now, now.strftime("%m.%Y")
    if word in ("today", "сегодня", "сьогодні"):
        start = now.replace(hour=0, minute=0, second=0, microsecond=0)
        return start, now, now.strftime("%d.%m.%Y")
    start = (now - timedelta(days=7)).replace(hour=0, minute=0, second=0, microsecond=0)
    return start, now, f"{start:%d.%m}–{now:%d.%m.%Y}"


MAX_LINES = 200


def fit(lines: list[str], limit: int) -> str:
    """The first lines that fit in ``limit`` characters, whole (a cut line could end
    inside an HTML entity, which Telegram refuses), and "…" when some were left."""
    out, size = [], 0
    for i, line in enumerate(lines):
        if size + len(line) + 1 > limit - (2 if i < len(lines) - 1 else 0):
            out.append("…")
            break
        out.append(line)
        size += len(line) + 1
    return "\n".join(out)


def chunks(lines: list[str], limit: int = 4000) -> list[str]:
    """Lines joined into messages of at most ``limit`` characters (Telegram's is 4096),
    each line whole."""
    out: list[str] = []
    current: list[str] = []
    size = 0
    for line in lines:
        line = line[:limit]
        if current and size + len(line) + 1 > limit:
            out.append("\n".join(current))
            current, size = [], 0
        current.append(line)
        size += len(line) + 1
    if current:
        out.append("\n".join(current))
    return out


def build_reports_router() -> Router:
    router = Router(name="reports")
    router.message.filter(F.chat.type == "private")

    @router.message(Command("stats"))
    async def stats(message: Message, staff: User, command: CommandObject) -> None:
        start, end, label = period_of(command.args, staff.timezone)
        table = with_type_names(
            await analytics.activities_by_manager_and_type(staff, start, end), _)
        title = _("Done activities, {period}").format(period=label)
        empty = _("Nothing done yet")  # translated here: the executor has no i18n context
        png = await asyncio.get_running_loop().run_in_executor(
            None, lambda: analytics.chart_png(table, title, empty_text=empty))
        lines = [f"<b>{html.escape(title)}</b>"]
        for uid, name in table.people[:30]:
            parts = ", ".join(f"{html.escape(kind)} {table.count(uid, code)}"
                              for code, kind in table.types if table.count(uid, code))
            lines.append(f"{html.escape(name)}: {table.totals.get(uid, 0)} ({parts})")
        reactions = await analytics.reaction_times(staff, start, end)
        answered = [r for r in reactions if r.median_minutes is not None]
        if answered:
            lines.append(_("Reaction to inbound requests (median / 90%), minutes:"))
            lines += [f"{html.escape(r.full_name)}: {r.median_minutes} / {r.p90_minutes} "
                      f"({r.answered}/{r.requests})" for r in answered[:30]]
        await message.answer_photo(BufferedInputFile(png, "stats.png"),
                                   caption=fit(lines, 1024))
        sales = await manager_report(staff, start, end)
        sold = [m for m in sales if m.orders or m.won or m.lost]
        if any(m.revenue for m in sales):  # S-27: revenue and margin per person, a picture
            currency = manager_charts.chart_currency(sales)
            points = manager_charts.chart_points(sales, currency)
            title = _("Revenue and margin, {currency}").format(currency=currency)
            chart_words = {"revenue_label": _("Revenue"), "margin_label": _("Margin"),
                           "empty_text": _("No sales in this period")}
            png = await asyncio.to_thread(manager_charts.sales_chart_png, points,
                                          f"{title} · {label}", **chart_words)
            await message.answer_photo(BufferedInputFile(png, "sales.png"))
        if sold:  # S-27: what each sold and how their deals ended, in a second message
            title = _("Sales and deals, {period}").format(period=label)
            words = (_("revenue"), _("orders"), _("deals won"))
            out = [f"<b>{html.escape(title)}</b>"]
            for m in sold[:30]:
                money = ", ".join(plan_amount(v, c) for c, v in m.revenue.items()) or "—"
                line = (f"{html.escape(m.full_name)}: {words[0]} {money}, "
                        f"{words[1]} {m.orders}, {words[2]} {m.won}/{m.won + m.lost}")
                out.append(line + (f" ({m.won_rate}%)" if m.won_rate is not None else ""))
            for text in chunks(out):
                await message.answer(text)
        funnel = await manager_funnel(staff, start, end)
        if funnel.people:  # S-27: the deals that entered each stage, per person
            heading = _("Deal funnel, {period}").format(period=label)
            out = [f"<b>{html.escape(heading)}</b>"]
            for uid, name in funnel.people[:30]:
                parts = ", ".join(f"{html.escape(stage_name(st, _))} {funnel.count(uid, st.id)}"
                                  for st in funnel.stages if funnel.count(uid, st.id))
                out.append(f"{html.escape(name)}: {parts}")
            for text in chunks(out):
                await message.answer(text)

    @router.message(Command("plan"))
    async def plan(message: Message, staff: User) -> None:
        from services import sales_plans

        today = utcnow().astimezone(ZoneInfo(staff.timezone)).date()
        rows = await analytics.plan_vs_fact(staff, "month", today.replace(day=1))
        sales = await sales_plans.plans_vs_fact(staff, today.replace(day=1))
        if not rows and not sales:
            await message.answer(_("No plan for this month yet: a head sets it in the "
                                   "Mini App (📊 Reports → 🎯 Sales plans)."))
            return
        lines = [_("Plan vs fact, {month}:").format(month=today.strftime("%m.%Y"))]
        lines += [f"{html.escape(r.full_name)} · "
                  f"{html.escape(type_name(r.type_code, r.type_name, _))}: {r.fact}/{r.target}"
                  + (f" ({r.percent}%)" if r.percent is not None else "") for r in rows]
        lines += [f"{html.escape(r.full_name)} · {html.escape(sales_plan_label(r, _))}: "
                  f"{plan_amount(r.fact, r.currency)} / {plan_amount(r.target, r.currency)}"
                  + (f" ({r.percent}%)" if r.percent is not None else "") for r in sales]
        mine = await my_summary(staff, today.replace(day=1))
        if mine is not None:  # K-9: one's own bonus so far, a line per scheme
            lines.append(_("Your bonus so far:"))
            lines += [f"{'🎁' if x.kind == 'bonus' else '⚠️'} {html.escape(x.scheme_name)}: "
                      f"{qty_text(x.achievement)}% → {plan_amount(x.amount, x.currency)}"
                      for x in mine.lines]
            lines.append(_("Total: {amount}").format(amount=", ".join(
                plan_amount(v, c) for c, v in mine.totals.items())))
        if len(lines) > MAX_LINES:  # a company's plans: the first ones, and how many more
            lines = [*lines[:MAX_LINES], _("…and {count} more.").format(
                count=len(lines) - MAX_LINES)]
        for text in chunks(lines):
            await message.answer(text)

    @router.message(Command("abc"))
    async def abc(message: Message, staff: User, webapp_url: str | None) -> None:
        counts = await ranking_results.own_counts(staff)
        run = await last_run()
        if run is None:
            text = _("The clients have not been ranked yet: it happens every night, or an "
                     "admin or a head ranks them now on the ranking page.")
        else:
            text = "\n".join([_("Your clients by ABC class:"),
                              *(f"<b>{cls}</b>: {counts[cls]}" for cls in counts)])
        text += "\n\n" + _("In the app: ☰ More → 🏆 Client ranking (the ABC × XYZ matrix, "
                           "RFM segments and the clients).")
        markup = InlineKeyboardMarkup(inline_keyboard=[[InlineKeyboardButton(
            text=_("🏆 Ranking page"), web_app=WebAppInfo(url=f"{webapp_url}/ranking"))]]
        ) if webapp_url else None
        await message.answer(text, reply_markup=markup)

    return router
