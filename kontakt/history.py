"""A history (audit) entry as a person reads it (issue 17): in their language — where
the change came from, what was done, to which field, the values of states, types and
priorities — and every time in their time zone. One line for the bot, the client
page and the calendar's activity form alike.

Labels are marked for extraction with ``N_`` and translated by the caller's
``gettext``; a code without a label (a custom field's ``cf:<code>``, a new action) is
shown as it is rather than dropped."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from kontakt.formatting import local


def N_(text: str) -> str:  # noqa: N802 - marks a string for extraction only
    return text


SOURCES = {"web": N_("web"), "miniapp": N_("Mini App"), "bot": N_("bot"), "api": N_("API"),
           "system": N_("Kontakt"), "calendar": N_("Google Calendar"), "import": N_("import")}
ACTIONS = {
    "create": N_("created"), "update": N_("changed"), "delete": N_("deleted"),
    "state": N_("changed"), "reschedule": N_("moved"), "skip": N_("left out"),
    "verify": N_("checked"), "comment": N_("commented"), "move": N_("moved"),
    "classify": N_("added to a group"), "unclassify": N_("taken out of a group"),
    "assign": N_("assigned"), "unassign": N_("unassigned"), "attach": N_("attached a file"),
    "email": N_("sent an email"), "sms": N_("sent an SMS"), "archive": N_("archived"),
    "restore": N_("restored"), "stage": N_("moved the deal"),
    "cal_connect": N_("connected Google Calendar"),
    "cal_disconnect": N_("disconnected Google Calendar"),
    "cal_conflict": N_("kept Kontakt's value over the calendar's"),
}
FIELDS = {
    "dealer": N_("dealer role"), "grade": N_("dealer grade"),  # M-7
    "name": N_("name"), "short_name": N_("short name"), "phone": N_("phone"),
    "email": N_("email"), "website": N_("website"), "notes": N_("notes"),
    "kind": N_("kind"), "list_type": N_("list"), "country": N_("country"),
    "street": N_("street"), "building": N_("building"), "office": N_("office"),
    "postal_code": N_("postal code"), "region": N_("region"), "city": N_("city"),
    "district": N_("district"), "ad_source": N_("ad source"), "spheres": N_("spheres"),
    "manager": N_("manager"), "link": N_("relation"), "classifier": N_("group"),
    "contact": N_("contact person"), "document": N_("file"), "legal": N_("legal entity"),
    "title": N_("title"), "type": N_("type"), "state": N_("state"),
    "starts_at": N_("time"), "ends_at": N_("end"), "priority": N_("priority"),
    "percent": N_("percent done"), "assignees": N_("assignees"), "result": N_("result"),
    "goal": N_("goal"), "location": N_("location"), "category": N_("category"),
    "verified_by": N_("checked by"), "occurrence": N_("occurrence"), "client": N_("client"),
    "to": N_("to"), "rule": N_("rule"), "parent": N_("parent"),
    "email_consent": N_("agrees to emails"), "sms_consent": N_("agrees to SMS"),
    "do_not_contact": N_("do not contact"), "primary": N_("primary legal entity"),
    "inn": N_("INN"), "kpp": N_("KPP"), "ogrn": N_("OGRN"), "edrpou": N_("EDRPOU"),
    "ipn": N_("IPN"), "bik": N_("BIK"), "iban": N_("IBAN"), "account": N_("account"),
    "mfo": N_("MFO"), "legal_address": N_("legal address"), "bank_name": N_("bank"),
    "corr_account": N_("correspondent account"), "position": N_("position"),
    "phones": N_("phones"), "emails": N_("emails"), "birthday": N_("birthday"),
    "first_name": N_("first name"), "last_name": N_("last name"),
    "middle_name": N_("middle name"),
    # a deal's (issue 12)
    "stage": N_("stage"), "amount": N_("amount"), "currency": N_("currency"),
    "expected_close": N_("expected close date"), "members": N_("team"),
    "probability_override": N_("probability"),
    # K-8: the ABC class a ranking run gave the client
    "abc": N_("ABC class"),
    # U-9: the loyalty card, its points and tier, the tier's discount group
    "loyalty_card": N_("loyalty card"), "loyalty_tier": N_("loyalty tier"),
    "loyalty_blocked": N_("loyalty card blocked"), "loyalty_accrual": N_("points accrued"),
    "loyalty_redemption": N_("points redeemed"), "loyalty_adjustment": N_("points adjusted"),
    "loyalty_expiry": N_("points expired"),
    "loyalty_reversal": N_("points reversed: order cancelled"),
    "discount_group_id": N_("discount group"),
}
VALUES = {
    "planned": N_("planned"), "done": N_("done"), "cancelled": N_("cancelled"),
    "low": N_("low"), "normal": N_("normal"), "high": N_("high"),
    "company": N_("company"), "individual": N_("individual"),
    "counterparty": N_("counterparty"), "partner": N_("partner"),
    "True": N_("yes"), "False": N_("no"),
    # around a deal (U-4): roles, stances and ties, as a choice's refusal lists them
    "decision_maker": N_("decision maker"), "influencer": N_("influencer"),
    "user": N_("user of the product"), "competitor": N_("competitor"),
    "subcontractor": N_("subcontractor"), "supporter": N_("for us"),
    "dealer": N_("dealer"),
    "neutral": N_("neutral"), "opponent": N_("against us"), "unknown": N_("stance unknown"),
    "influences": N_("influences"), "reports_to": N_("reports to"),
    "works_with": N_("works with"), "competes_with": N_("competes with"),
}


def _value(text: str | None, gettext: Callable[[str], str], tz: str) -> str:
    if not text:
        return "—"
    if text in VALUES:
        return gettext(VALUES[text])
    if len(text) >= 16 and text[4:5] == "-" and "T" in text:  # an ISO time, kept in UTC
        try:
            moment = datetime.fromisoformat(text)
        except ValueError:
            return text
        if moment.tzinfo is not None:
            return local(moment, tz).strftime("%d.%m.%Y %H:%M")
    return text


def history_line(entry, gettext: Callable[[str], str], tz: str) -> str:
    """``entry``: an AuditLog row with its user fetched. Plain text (escape it for HTML)."""
    when = local(entry.at, tz).strftime("%d.%m.%Y %H:%M")
    who = entry.user.full_name if getattr(entry, "user", None) else gettext("Kontakt")
    source = gettext(SOURCES[entry.source]) if entry.source in SOURCES else entry.source
    what = gettext(ACTIONS[entry.action]) if entry.action in ACTIONS else entry.action
    if entry.field:
        field = gettext(FIELDS[entry.field]) if entry.field in FIELDS else entry.field
        what += f" · {field}: {_value(entry.old_value, gettext, tz)} → " \
                f"{_value(entry.new_value, gettext, tz)}"
    elif entry.new_value:
        what += f": {_value(entry.new_value, gettext, tz)}"
    return f"{when} · {who} · {source} · {what}"
