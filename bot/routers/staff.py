"""Staff directory and administration in the bot (S-24), invites."""

from __future__ import annotations

import html

from aiogram import Bot, F, Router
from aiogram.filters import Command
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _

from bot.callbacks import InviteCB, StaffCB
from bot.errors import field_name, reason
from bot.keyboards import BTN_INVITE, BTN_STAFF, pager_row, role_name
from models import Role, User
from services import handover as handover_service
from services import staff as staff_service
from services.errors import DomainError, PermissionDenied, ValidationFailed
from services.permissions import Action, can
from services.staff import INVITE_TTL, invite_link

PAGE = 8


def _btn(text: str, cb) -> InlineKeyboardButton:
    return InlineKeyboardButton(text=text, callback_data=cb.pack())


def _pager(rows: list, total: int, page: int, make_cb) -> None:
    pager_row(rows, total, page, PAGE, make_cb)


async def staff_list_markup(actor: User, page: int) -> tuple[str, InlineKeyboardMarkup]:
    """The directory, PAGE a page (counted and paged in SQL); a page past the end (people
    dismissed meanwhile) shows the last one."""
    include_dismissed = await can(actor, Action.VIEW_DISMISSED)
    page = max(0, page)
    people, total = await staff_service.staff_page(
        actor, include_dismissed=include_dismissed, page=page + 1, per_page=PAGE)
    if not people and total:
        page = (total - 1) // PAGE
        people, total = await staff_service.staff_page(
            actor, include_dismissed=include_dismissed, page=page + 1, per_page=PAGE)
    rows = []
    for person in people:
        mark = "" if person.is_active else "🚫 "
        rows.append([_btn(f"{mark}{person.full_name}",
                          StaffCB(action="card", user_id=person.id, page=page))])
    _pager(rows, total, page, lambda p: StaffCB(action="list", page=p))
    if total <= PAGE:
        text = _("Staff: {count}. Tap a person to open the card.").format(count=total)
    else:
        first = page * PAGE + 1
        text = _("Staff: {first}–{last} of {total}. Tap a person to open the card.").format(
            first=first, last=first + len(people) - 1, total=total)
    return text, InlineKeyboardMarkup(inline_keyboard=rows)


def _card_text(person: User, clients: int | None = None) -> str:
    e = html.escape
    lines = [f"<b>{e(person.full_name)}</b>"]
    if person.position:
        lines.append(e(person.position.name))
    lines.append(_("Role: {role}").format(role=role_name(person.role)))
    lines.append(_("Department: {name}").format(
        name=e(person.department.name) if person.department else "—"))
    lines.append(_("Supervisor: {name}").format(
        name=e(person.supervisor.full_name) if person.supervisor else "—"))
    if person.phone:
        lines.append(_("Phone: {phone}").format(phone=e(person.phone)))
    if person.email:
        lines.append(_("Email: {email}").format(email=e(person.email)))
    if person.telegram_username:
        lines.append(f"Telegram: @{e(person.telegram_username)}")
    if clients is not None:
        lines.append(_("Clients: {count}").format(count=clients))
    if not person.is_active:
        lines.append("🚫 " + _("Dismissed"))
    return "\n".join(lines)


async def _card_markup(actor: User, person: User, page: int) -> InlineKeyboardMarkup:
    rows = []
    admin_row = []
    if person.is_active:
        if await can(actor, Action.CHANGE_ROLE, person):
            admin_row.append(_btn(_("Role"), StaffCB(action="role", user_id=person.id, page=page)))
        if await can(actor, Action.CHANGE_DEPARTMENT, person):
            admin_row.append(_btn(_("Department"),
                                  StaffCB(action="dept", user_id=person.id, page=page)))
        if await can(actor, Action.CHANGE_SUPERVISOR, person):
            admin_row.append(_btn(_("Supervisor"),
                                  StaffCB(action="sup", user_id=person.id, page=page)))
    if admin_row:
        rows.append(admin_row)
    if await can(actor, Action.HAND_OVER_CLIENTS, person) and \
            await handover_service.to_hand_over(person.id):
        rows.append([_btn("🔁 " + _("Hand over clients"),
                          StaffCB(action="hand", user_id=person.id, page=page))])
    if person.is_active and await can(actor, Action.DISMISS, person):
        rows.append([_btn("🚫 " + _("Dismiss"),
                          StaffCB(action="dismiss", user_id=person.id, page=page))])
    rows.append([_btn(_("« Back to the list"), StaffCB(action="list", page=page))])
    return InlineKeyboardMarkup(inline_keyboard=rows)


async def _show_card(query: CallbackQuery, actor: User, user_id: int, page: int,
                     note: str | None = None) -> None:
    from services.managers import count_assigned

    person = await staff_service.get_staff(actor, user_id)
    text = _card_text(person, await count_assigned(person.id))
    if note:
        text = f"✅ {html.escape(note)}\n\n{text}"
    await query.message.edit_text(text, reply_markup=await _card_markup(actor, person, page))


def _error_text(exc: DomainError) -> str:
    if isinstance(exc, PermissionDenied):
        return _("You do not have the right to do that.")
    if isinstance(exc, ValidationFailed):
        return _("Not saved: {field} — {message}.").format(field=field_name(exc),
                                                           message=reason(exc))
    return _("That person was not found.")


async def _hand_over_step(query: CallbackQuery, cb: StaffCB, actor: User) -> None:
    """A-5: pick the successor (a page of PAGE), then confirm; ◀️ Back at each step."""
    person = await handover_service.check_hand_over(actor, cb.user_id)
    has = await handover_service.to_hand_over(person.id)
    count = has.clients
    name = html.escape(person.full_name)
    if cb.action == "handto":
        target = await staff_service.get_staff(actor, int(cb.value or 0))

        def yes(label: str, action: str) -> InlineKeyboardButton:
            return _btn("✅ " + label, StaffCB(action=action, user_id=person.id,
                                              page=cb.page, value=str(target.id)))

        back = _btn("◀️ " + _("Back"), StaffCB(action="hand", user_id=person.id,
                                              page=cb.page))
        text = _("Hand over the clients of {name} to {successor}? Clients: {count}.").format(
            name=name, successor=html.escape(target.full_name), count=count)
        if has.deals or has.tasks:  # the choice: with the open work (the default) or not
            text += "\n" + _("Open deals: {deals}, open tasks: {tasks}.").format(
                deals=has.deals, tasks=has.tasks)
            rows = [[yes(_("Yes, with deals and tasks"), "handok")],
                    [yes(_("Clients only"), "handokc")], [back]]
        else:
            rows = [[yes(_("Yes"), "handok"), back]]
        await query.message.edit_text(text, reply_markup=InlineKeyboardMarkup(
            inline_keyboard=rows))
        return
    people = await handover_service.successors(actor, person.id)
    pick = max(0, min(int(cb.value or 0), (len(people) - 1) // PAGE if people else 0))
    rows = [[_btn(p.full_name, StaffCB(action="handto", user_id=person.id, page=cb.page,
                                       value=str(p.id)))]
            for p in people[pick * PAGE:(pick + 1) * PAGE]]
    _pager(rows, len(people), pick, lambda n: StaffCB(
        action="hand", user_id=person.id, page=cb.page, value=str(n)))
    rows.append([_btn("◀️ " + _("Back"), StaffCB(action="card", user_id=person.id,
                                                page=cb.page))])
    text = _("Whom do the clients of {name} go to? Clients: {count}.").format(
        name=name, count=count) if people else _("There is nobody to hand the clients over to.")
    await query.message.edit_text(text, reply_markup=InlineKeyboardMarkup(inline_keyboard=rows))


def build_staff_router() -> Router:
    router = Router(name="staff")

    @router.message(Command("staff"))
    @router.message(F.text == BTN_STAFF)
    async def staff_list(message: Message, staff: User) -> None:
        text, kb = await staff_list_markup(staff, 0)
        await message.answer(text, reply_markup=kb)

    @router.callback_query(StaffCB.filter(F.action.in_({"handok", "handokc"})))
    async def hand_over_confirmed(query: CallbackQuery, callback_data: StaffCB, staff: User,
                                  bot: Bot, i18n: I18n) -> None:
        from notifications.telegram import deliver_handover

        cb = callback_data
        if query.message is None:
            await query.answer()
            return
        try:
            result = await handover_service.do_hand_over(
                staff, cb.user_id, int(cb.value or 0), with_work=cb.action == "handok",
                source="bot")
        except DomainError as exc:
            await query.answer(_error_text(exc), show_alert=True)
            return
        await query.answer()
        # after the commit; the successor only (handed to oneself: the card says it)
        await deliver_handover(bot, i18n, result.notices)
        await _show_card(query, staff, cb.user_id, cb.page, _(
            "Handed over: clients — {count}, open deals — {deals}, open tasks — {tasks}."
        ).format(count=result.count, deals=result.deals, tasks=result.tasks))

    @router.callback_query(StaffCB.filter())
    async def staff_action(query: CallbackQuery, callback_data: StaffCB, staff: User) -> None:
        cb = callback_data
        if query.message is None:
            await query.answer()
            return
        try:
            await _dispatch(query, cb, staff)
        except DomainError as exc:
            await query.answer(_error_text(exc), show_alert=True)
            return
        await query.answer()

    async def _dispatch(query: CallbackQuery, cb: StaffCB, actor: User) -> None:
        if cb.action == "list":
            text, kb = await staff_list_markup(actor, cb.page)
            await query.message.edit_text(text, reply_markup=kb)
        elif cb.action == "card":
            await _show_card(query, actor, cb.user_id, cb.page)
        elif cb.action == "role":
            person = await staff_service.get_staff(actor, cb.user_id)
            rows = [[_btn(("• " if person.role == r else "") + role_name(r),
                          StaffCB(action="setrole", user_id=person.id, page=cb.page,
                                  value=r.value))] for r in Role]
            rows.append([_btn(_("« Back"), StaffCB(action="card", user_id=person.id,
                                                   page=cb.page))])
            await query.message.edit_text(
                _("New role for {name}:").format(name=html.escape(person.full_name)),
                reply_markup=InlineKeyboardMarkup(inline_keyboard=rows))
        elif cb.action == "setrole":
            person = await staff_service.do_change_role(actor, cb.user_id, Role(cb.value))
            await _show_card(query, actor, person.id, cb.page, _("Role changed."))
        elif cb.action == "dept":
            person = await staff_service.get_staff(actor, cb.user_id)
            depts = await staff_service.list_departments()
            pick = int(cb.value or 0)
            pick = max(0, min(pick, (len(depts) - 1) // PAGE if depts else 0))
            rows = [[_btn(d.name, StaffCB(action="setdept", user_id=person.id, page=cb.page,
                                          value=str(d.id)))]
                    for d in depts[pick * PAGE:(pick + 1) * PAGE]]
            _pager(rows, len(depts), pick, lambda n: StaffCB(
                action="dept", user_id=person.id, page=cb.page, value=str(n)))
            rows.append([_btn(_("No department"), StaffCB(action="setdept", user_id=person.id,
                                                          page=cb.page, value="0"))])
            rows.append([_btn(_("« Back"), StaffCB(action="card", user_id=person.id,
                                                   page=cb.page))])
            await query.message.edit_text(
                _("Department for {name}:").format(name=html.escape(person.full_name)),
                reply_markup=InlineKeyboardMarkup(inline_keyboard=rows))
        elif cb.action == "setdept":
            dept = int(cb.value or 0) or None
            person = await staff_service.do_change_department(actor, cb.user_id, dept)
            await _show_card(query, actor, person.id, cb.page, _("Department changed."))
        elif cb.action == "sup":
            person = await staff_service.get_staff(actor, cb.user_id)
            pick = max(0, int(cb.value or 0))  # the picker's own page
            people, total = await staff_service.staff_page(
                actor, page=pick + 1, per_page=PAGE, exclude_id=person.id)
            if not people and total:
                pick = (total - 1) // PAGE
                people, total = await staff_service.staff_page(
                    actor, page=pick + 1, per_page=PAGE, exclude_id=person.id)
            rows = [[_btn(p.full_name, StaffCB(action="setsup", user_id=person.id,
                                               page=cb.page, value=str(p.id)))]
                    for p in people]
            _pager(rows, total, pick, lambda n: StaffCB(
                action="sup", user_id=person.id, page=cb.page, value=str(n)))
            rows.append([_btn(_("No supervisor"), StaffCB(action="setsup", user_id=person.id,
                                                          page=cb.page, value="0"))])
            rows.append([_btn(_("« Back"), StaffCB(action="card", user_id=person.id,
                                                   page=cb.page))])
            await query.message.edit_text(
                _("Supervisor of {name}:").format(name=html.escape(person.full_name)),
                reply_markup=InlineKeyboardMarkup(inline_keyboard=rows))
        elif cb.action == "setsup":
            sup = int(cb.value or 0) or None
            person = await staff_service.do_change_supervisor(actor, cb.user_id, sup)
            await _show_card(query, actor, person.id, cb.page, _("Supervisor changed."))
        elif cb.action == "dismiss":
            person = await staff_service.get_staff(actor, cb.user_id)
            rows = [[
                _btn(_("Yes, dismiss"), StaffCB(action="dismissok", user_id=person.id,
                                                page=cb.page)),
                _btn(_("Cancel"), StaffCB(action="card", user_id=person.id, page=cb.page)),
            ]]
            await query.message.edit_text(
                _("Dismiss {name}? Their access ends at once; their clients and tasks stay "
                  "and can be reassigned.").format(name=html.escape(person.full_name)),
                reply_markup=InlineKeyboardMarkup(inline_keyboard=rows))
        elif cb.action in ("hand", "handto"):
            await _hand_over_step(query, cb, actor)
        elif cb.action == "dismissok":
            person = await staff_service.do_dismiss(actor, cb.user_id)
            await _show_card(query, actor, person.id, cb.page, _("Dismissed."))

    # -- invites -----------------------------------------------------------
    @router.message(Command("invite"))
    @router.message(F.text == BTN_INVITE)
    async def invite_start(message: Message, staff: User) -> None:
        roles = await staff_service.invitable_roles(staff)
        if not roles:
            await message.answer(_("Only administrators and heads of departments can invite."))
            return
        rows = [[_btn(role_name(r), InviteCB(step="role", role=r.value))] for r in roles]
        await message.answer(_("Whom do you invite? Choose the role:"),
                             reply_markup=InlineKeyboardMarkup(inline_keyboard=rows))

    @router.callback_query(InviteCB.filter(F.step == "role"))
    async def invite_role(query: CallbackQuery, callback_data: InviteCB, staff: User) -> None:
        if callback_data.role not in {r.value for r in Role}:
            await query.answer()
            return
        allowed = await staff_service.invitable_department_ids(staff, Role(callback_data.role))
        if not allowed:
            await query.answer(_("You do not have the right to do that."), show_alert=True)
            return
        names = await staff_service.department_names([d for d in allowed if d is not None])
        rows = [[_btn(names[d], InviteCB(step="dept", role=callback_data.role, dept=d))]
                for d in sorted(names, key=names.get)[:40]]
        if None in allowed:
            rows.append([_btn(_("No department"),
                              InviteCB(step="dept", role=callback_data.role, dept=0))])
        await query.answer()
        await query.message.edit_text(_("Which department?"),
                                      reply_markup=InlineKeyboardMarkup(inline_keyboard=rows))

    @router.callback_query(InviteCB.filter(F.step == "dept"))
    async def invite_dept(query: CallbackQuery, callback_data: InviteCB, staff: User,
                          bot_username: str) -> None:
        try:
            result = await staff_service.do_create_invite(
                staff, role=Role(callback_data.role), department_id=callback_data.dept or None)
        except DomainError as exc:
            await query.answer(_error_text(exc), show_alert=True)
            return
        await query.answer()
        link = invite_link(bot_username, result.code)
        await query.message.edit_text(
            _("Invite for a {role}. Send this link to the person; it works once and expires "
              "in {hours} hours:").format(role=role_name(result.invite.role),
                                          hours=int(INVITE_TTL.total_seconds() // 3600))
            + f"\n\n{link}")

    return router
