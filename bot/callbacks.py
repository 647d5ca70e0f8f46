"""Callback data factories (kept short: Telegram allows 64 bytes)."""

from aiogram.filters.callback_data import CallbackData


class StaffCB(CallbackData, prefix="st"):
    # list | card | role | setrole | dept | setdept | sup | setsup | dismiss | dismissok
    # | hand (value: the picker's page) | handto | handok (value: the successor's id;
    # with the open deals and tasks) | handokc (the clients only)
    action: str
    user_id: int = 0
    page: int = 0
    value: str = ""


class InviteCB(CallbackData, prefix="inv"):
    step: str  # role | dept
    role: str = ""
    dept: int = 0


class LangCB(CallbackData, prefix="lang"):
    lang: str
class ActivityCB(CallbackData, prefix="ac"):
    # card | done | skipresult | resched | comment | verify | cancel | reopen | client
    # | list
    action: str
    activity_id: int = 0
    value: str = ""


class ReminderCB(CallbackData, prefix="rm"):
    action: str  # snooze
    reminder_id: int
    value: str = ""  # 15m | 1h | tomorrow


class QuickLogCB(CallbackData, prefix="ql"):
    action: str  # save | client | type | date | nodate | cancel | pick
    value: str = ""


class PlaybookCB(CallbackData, prefix="pb"):
    client_id: int
    playbook_id: int = 0  # 0: list the playbooks


class MessageCB(CallbackData, prefix="ms"):
    # start | channel | template | write | send | cancel | attach | file | files_done
    action: str
    client_id: int
    value: str = ""


class MailingCB(CallbackData, prefix="ml"):
    action: str  # open | start | pause | resume | cancel
    mailing_id: int = 0


class MailingsPageCB(CallbackData, prefix="mlp"):
    page: int = 0  # /mailings, from the newest


class DealCB(CallbackData, prefix="dl"):
    # list | card (in place) | open (a new message) | move | stage | won | lost | reason
    # | lostok | comp | task | client | new | title | noamount | cancel | fault (a claim's
    # "our fault?") | edit | amount | close | unset | contact | setcontact | prob | setprob
    # | log | logtype | discuss | claim (from the deal) | claimc (from the client) | claimp
    # | dealer | setdealer (M-7: the deal's dealer, bot.routers.dealers)
    action: str
    deal_id: int = 0
    v: int = 0  # the deal's version a stage button was drawn for
    value: str = ""
    page: int = 0


class CreditCB(CallbackData, prefix="cr"):
    # ask (order_id: ask for an exception) | yes / no (override_id: the controller's)
    action: str
    order_id: int = 0
    override_id: int = 0


class DealerCB(CallbackData, prefix="dr"):
    # M-7: list | card | close
    action: str
    client_id: int = 0


class LeadCB(CallbackData, prefix="ld"):
    # take | reassign | to (value: the person's id) | log | cancel
    action: str
    activity_id: int = 0
    value: str = ""
