"""A validation error as a person reads it, in their language (issue 17): the one place
the bot, the Mini App and the JSON API turn an error into words.

* :func:`field_label` — a field code (``name``, ``legal.inn``, ``steps.2.title``,
  ``conditions[0]``) as a translated, readable name; a code without a label (a custom
  field's code) is shown as it is.
* :func:`error_message` — a service's :class:`ValidationFailed` (its English template
  translated, then filled), a pydantic error (translated by its ``type`` with its
  ``ctx``), or anything else carrying ``template``/``params``; a pydantic type the
  table lacks still answers in the person's language ("invalid value").

``lang`` is a language code (``ru``, ``uk``, ``en``) or a gettext callable already
bound to one (the bot's ``_``).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from kontakt.history import FIELDS, VALUES
from services.errors import N_, Text, ValidationFailed, fill, translated_params

Lang = str | Callable[[str], str]

LABELS = {
    **FIELDS,
    "inn": N_("INN"), "kpp": N_("KPP"), "ogrn": N_("OGRN"), "edrpou": N_("EDRPOU"),
    "ipn": N_("IPN"), "bik": N_("BIK"), "iban": N_("IBAN"), "mfo": N_("MFO"),
    "account": N_("account number"), "corr_account": N_("correspondent account"),
    "bank_name": N_("bank"), "legal_address": N_("legal address"),
    "completeness": N_("completeness"), "file": N_("file"), "phones": N_("phone"),
    "emails": N_("email"), "first_name": N_("first name"), "last_name": N_("last name"),
    "middle_name": N_("middle name"), "position": N_("position"),
    "messengers": N_("messengers"), "description": N_("description"),
    "agenda": N_("agenda"), "minutes": N_("minutes of the meeting"),
    "text": N_("text"), "body": N_("text"), "subject": N_("subject"),
    "starts_at": N_("start"), "start": N_("start"), "end": N_("end"),
    "original_start": N_("occurrence"), "due": N_("due date"),
    "all_day": N_("all day"), "duration_min": N_("duration"), "rrule": N_("repeat"),
    "reminders": N_("reminders"), "client_id": N_("client"), "client_ids": N_("clients"),
    "contact_id": N_("contact person"), "product": N_("product"),
    "product_id": N_("product"), "category_id": N_("category"),
    "client_notice_hours": N_("notice to the client"),
    "client_notice_template": N_("message to the client"),
    "client_notice_template_id": N_("message to the client"),
    "client_notice": N_("notice to the client"), "assignee": N_("assignee"),
    "assignee_id": N_("assignee"), "user": N_("person"), "user_id": N_("person"),
    "person_id": N_("person"), "supervisor": N_("supervisor"),
    "to_user_id": N_("successor"),
    "supervisor_id": N_("supervisor"), "department": N_("department"),
    "department_id": N_("department"), "department_ids": N_("departments"),
    "role": N_("role"), "language": N_("language"), "ttl": N_("valid for"),
    "region_id": N_("region"), "city_id": N_("city"), "district_id": N_("district"),
    "ad_source_id": N_("ad source"), "sphere_id": N_("sphere"), "sphere_ids": N_("spheres"),
    "template": N_("template"), "template_id": N_("template"), "channel": N_("channel"),
    "segment": N_("segment"), "segment_id": N_("segment"), "per_minute": N_("speed"),
    "attachments": N_("attachments"), "html": N_("text"), "action": N_("action"),
    "snooze": N_("snooze"), "follow_up": N_("follow-up"), "decisions": N_("decisions"),
    "threshold": N_("threshold"), "accrual": N_("points, %"),
    "point_value": N_("point value"), "max_share": N_("share points may pay"),
    "expiry_months": N_("expiry, months"), "points": N_("points"), "tiers": N_("tiers"),
    "card": N_("loyalty card"), "number": N_("number"), "order_id": N_("order"),
    "steps": N_("steps"), "offset_days": N_("days"), "period": N_("period"),
    "period_start": N_("period"), "target": N_("target"), "digest_hour": N_("digest hour"),
    "escalation_hours": N_("escalation after"), "colour": N_("colour"),
    "code": N_("code"), "items": N_("values"), "dictionary_code": N_("list"),
    "entity": N_("object"), "required": N_("required"), "sections": N_("sections"),
    "layout": N_("layout"), "node": N_("group"), "rules": N_("conditions"),
    "conditions": N_("conditions"), "match": N_("match"), "mapping": N_("columns"),
    "weights": N_("weights"), "other": N_("related client"), "other_id": N_("related client"),
    "key": N_("key"), "calendar": N_("calendar"), "calendar_id": N_("calendar"),
    "q": N_("search"), "page": N_("page"), "per_page": N_("page size"), "sort": N_("sort order"),
    "limit": N_("page size"), "offset": N_("how many to skip"), "node_id": N_("group"),
    "init_data": N_("Telegram sign-in"), "hours": N_("hours"), "values": N_("values"),
    "note": N_("note"), "notes": N_("notes"), "done": N_("done"), "shared": N_("shared"),
    "confidential": N_("confidential"), "icon": N_("icon"), "unit": N_("unit"),
    "vat_rate": N_("VAT rate"), "cost_price": N_("cost price"), "barcode": N_("barcode"),
    "on_hand": N_("on hand"), "group_id": N_("category"), "kind_id": N_("product kind"),
    "warehouse": N_("warehouse"),
    "minimum": N_("minimum"), "activity_id": N_("activity"), "parent_id": N_("parent"),
    "include_dismissed": N_("dismissed too"), "remove_events": N_("remove events"),
    "list_type": N_("list"), "postal_code": N_("postal code"),
    # invoices (issue 13, S-17)
    "lines": N_("invoice lines"), "totals": N_("totals"), "vat": N_("VAT"),
    "own_entity": N_("our legal entity"),
    # deals and sales processes (issue 12)
    "amount": N_("amount"), "currency": N_("currency"),
    "expected_close": N_("expected close date"), "stage": N_("stage"),
    "stage_id": N_("stage"), "process": N_("process"), "process_id": N_("process"),
    "lost_reason_id": N_("reason"), "competitor_id": N_("competitor"),
    "probability": N_("probability"), "probability_override": N_("probability"),
    "members": N_("team"), "user_ids": N_("team"), "source_id": N_("source"),
    "owner_id": N_("owner"), "mode": N_("mode"), "regulation": N_("regulation"),
    "stages": N_("stages"), "requires": N_("requirements"),
    "skippable": N_("may be skipped"), "instructions": N_("instructions"),
    "playbook_id": N_("playbook"), "days_limit": N_("days allowed at the stage"),
    "mine": N_("only mine"), "archived": N_("archived"),
    "resolution": N_("resolution"), "our_fault": N_("our fault"),
    "stance": N_("stance"), "parties": N_("people around the deal"),
    "from_id": N_("who"), "to_id": N_("whom"), "by": N_("grouped by"),
    "last": N_("how many deals"),
    # prices, discounts, promos (issue 13: K-5, M-5, A-14)
    "value": N_("value"), "price": N_("price"), "percent": N_("percent"),
    "discount": N_("discount"), "quantity": N_("quantity"), "method": N_("what it does"),
    "base": N_("percent of"), "base_list_id": N_("base list"), "min_qty": N_("from quantity"),
    "valid_from": N_("valid from"), "valid_to": N_("valid to"), "scope": N_("for"),
    "client_node_id": N_("client category"), "client_status": N_("client's list"),
    "surcharge": N_("surcharge"), "rounding": N_("rounding"), "min_margin": N_("minimum margin"),
    "is_default": N_("default"), "price_list_id": N_("price list"),
    "discount_group_id": N_("discount group"), "combine": N_("discounts combine"),
    "rates": N_("discounts"), "starts": N_("from"), "ends": N_("to"),
    "direction": N_("direction"), "priority": N_("priority"), "vat_included": N_("VAT"),
    # settlements (issue 14: K-6, M-6)
    "dated": N_("date"), "days": N_("days"), "reason": N_("reason"), "basis": N_("due"),
    "invoice_entry_id": N_("invoice"), "invoice_number": N_("invoice"),
    # motivation (K-9)
    "metric": N_("metric"), "scheme_base": N_("paid as"), "active_from": N_("first month"),
    "active_to": N_("last month"), "reach": N_("for whom"), "people": N_("people"),
    "activity_type_id": N_("activity type"),
}

# what pydantic says, by its error type: a template filled from the error's ctx
PYDANTIC = {
    "missing": N_("is required"),
    "extra_forbidden": N_("is not expected here"),
    "string_type": N_("must be text"),
    "string_too_long": N_("is longer than {max_length} characters"),
    "string_pattern_mismatch": N_("has the wrong form"),
    "string_unicode": N_("must be text"),
    "too_short": N_("needs at least {min_length} items"),
    "too_long": N_("may have at most {max_length} items"),
    "int_parsing": N_("must be a whole number"),
    "int_type": N_("must be a whole number"),
    "int_from_float": N_("must be a whole number"),
    "int_parsing_size": N_("is too large"),
    "float_parsing": N_("must be a number"),
    "float_type": N_("must be a number"),
    "decimal_parsing": N_("must be a number"),
    "decimal_type": N_("must be a number"),
    "finite_number": N_("must be a number"),
    "bool_parsing": N_("must be yes or no"),
    "bool_type": N_("must be yes or no"),
    "greater_than": N_("must be more than {gt}"),
    "greater_than_equal": N_("must be at least {ge}"),
    "less_than": N_("must be less than {lt}"),
    "less_than_equal": N_("must be at most {le}"),
    "multiple_of": N_("must be a multiple of {multiple_of}"),
    "datetime_parsing": N_("is not a date and time (for example 2026-03-01T10:00+03:00)"),
    "datetime_from_date_parsing": N_("is not a date and time (for example "
                                     "2026-03-01T10:00+03:00)"),
    "datetime_type": N_("is not a date and time (for example 2026-03-01T10:00+03:00)"),
    "timezone_aware": N_("give the time zone (for example +03:00)"),
    "date_parsing": N_("is not a date (for example 2026-03-01)"),
    "date_from_datetime_parsing": N_("is not a date (for example 2026-03-01)"),
    "date_from_datetime_inexact": N_("is not a date (for example 2026-03-01)"),
    "date_type": N_("is not a date (for example 2026-03-01)"),
    "time_parsing": N_("is not a time (for example 10:30)"),
    "time_type": N_("is not a time (for example 10:30)"),
    "list_type": N_("must be a list"),
    "tuple_type": N_("must be a list"),
    "set_type": N_("must be a list"),
    "iterable_type": N_("must be a list"),
    "dict_type": N_("must be an object"),
    "model_type": N_("must be an object"),
    "model_attributes_type": N_("must be an object"),
    "mapping_type": N_("must be an object"),
    "json_invalid": N_("is not valid JSON"),
    "json_type": N_("is not valid JSON"),
    "url_parsing": N_("is not a web address"),
    "url_type": N_("is not a web address"),
    "url_scheme": N_("is not a web address"),
    "url_too_long": N_("is too long"),
    "uuid_parsing": N_("is not a valid identifier"),
    "uuid_type": N_("is not a valid identifier"),
    "none_required": N_("must be empty"),
    "frozen_field": N_("cannot be changed"),
    "union_tag_invalid": N_("invalid value"),
}
UNKNOWN = N_("invalid value")
EMPTY = N_("is empty")
AT_LEAST = N_("needs at least {min_length} characters")
ONE_OF = N_("choose one of: {expected}")
INDEX = re.compile(r"\[\d+\]$")


def gettext_for(lang: Lang) -> Callable[[str], str]:
    if callable(lang):
        return lang
    from kontakt.i18n import translator

    return translator(lang)


def _fill(template: str, params: dict[str, Any], gettext: Callable[[str], str]) -> str:
    try:  # a reason inside a reason (a Text among the params) is translated too
        return gettext(template).format(**translated_params(params, gettext))
    except (KeyError, IndexError, ValueError, AttributeError):
        return gettext(UNKNOWN)


def field_label(field: str | None, lang: Lang) -> str:
    """``legal.inn`` → "ИНН", ``steps.2.title`` → "название", ``cf_colour`` → itself."""
    gettext = gettext_for(lang)
    if not field:
        return ""
    if field in LABELS:
        return gettext(LABELS[field])
    parts = [INDEX.sub("", p) for p in str(field).split(".")]
    for part in reversed(parts):
        if part.isdigit() or not part:
            continue
        if part in LABELS:
            return gettext(LABELS[part])
        if part.removesuffix("_id") in LABELS:
            return gettext(LABELS[part.removesuffix("_id")])
        return part
    return str(field)


# what a "not found" names: a service's NotFound("...") or a path's ``{x_id}`` less
# ``_id``; read before LABELS, whose ``entity`` and ``type`` mean a field
THINGS = {
    "client": N_("client"), "activity": N_("activity"), "person": N_("person"),
    "user": N_("person"), "staff": N_("person"), "photo": N_("photo"),
    "document": N_("file"), "file": N_("file"), "contact": N_("contact person"),
    "legal_entity": N_("legal entity"), "entity": N_("legal entity"),
    "playbook": N_("playbook"), "link": N_("relation"), "reminder": N_("reminder"),
    "mailing": N_("mailing"), "dictionary_item": N_("list value"), "item": N_("list value"),
    "custom_field": N_("custom field"), "field": N_("custom field"),
    "classifier_node": N_("group"), "node": N_("group"), "assignment": N_("assignment"),
    "activity_type": N_("activity type"), "type": N_("activity type"),
    "activity_category": N_("category"), "category": N_("category"),
    "segment": N_("segment"), "template": N_("template"), "department": N_("department"),
    "product": N_("product"), "invite": N_("invite"), "import": N_("import"),
    "deal": N_("deal"), "process": N_("process type"), "stage": N_("stage"),
    "party": N_("person around the deal"),
    "price_list": N_("price list"), "rule": N_("rule"), "promo": N_("promo"),
    "discount_group": N_("discount group"), "sphere": N_("sphere"),
    "scheme": N_("bonus scheme"), "statement": N_("bonus statement"),
    "line": N_("statement line"),
}

NOT_POSSIBLE = N_("this cannot be done now")


def thing_label(what: str, lang: Lang) -> str:
    """The name of a thing that was not found, in the person's language."""
    if what in THINGS:
        return gettext_for(lang)(THINGS[what])
    return field_label(what, lang) or what


def field_name(exc: ValidationFailed, lang: Lang) -> str:
    """The name of the field ``exc`` refuses: the one the service gave (a custom
    field's, as an admin named it), else :func:`field_label`."""
    return exc.label or field_label(exc.field, lang)


def _value(value: str, gettext: Callable[[str], str]) -> str:
    return gettext(VALUES[value]) if value in VALUES else value


def pydantic_message(error: dict[str, Any], lang: Lang) -> str:
    """One item of ``ValidationError.errors()`` (with its ctx) in the person's language."""
    gettext = gettext_for(lang)
    kind, ctx = error.get("type", ""), error.get("ctx") or {}
    if kind == "string_too_short":
        return gettext(EMPTY) if ctx.get("min_length") == 1 else _fill(AT_LEAST, ctx, gettext)
    if kind in ("literal_error", "enum"):
        found = re.findall(r"'([^']*)'|(-?\d+)", str(ctx.get("expected", "")))
        values = [_value(a or b, gettext) for a, b in found]
        return _fill(ONE_OF, {"expected": ", ".join(values)}, gettext) if values \
            else gettext(UNKNOWN)
    if kind in ("value_error", "assertion_error"):
        cause = ctx.get("error")
        template = getattr(cause, "template", None)
        if template:  # one of ours, raised in a validator
            return _fill(template, getattr(cause, "params", {}), gettext)
        return gettext(UNKNOWN)
    if kind in PYDANTIC:
        return _fill(PYDANTIC[kind], {k: v for k, v in ctx.items() if k != "error"}, gettext)
    return gettext(UNKNOWN)


def error_message(err: Any, lang: Lang) -> str:
    """A ValidationFailed, a pydantic error dict, or an error with ``template`` and
    ``params`` (web.jsonbody.BadJSON) — as the person reads it."""
    gettext = gettext_for(lang)
    if isinstance(err, ValidationFailed):
        if isinstance(err.params.get("state"), str) and err.params["state"] in VALUES:
            # "the activity is already {state}": the state's word, not its code
            state = gettext(VALUES[err.params["state"]])
            return ValidationFailed(err.field, err.template,
                                    **{**err.params, "state": state}).text(gettext)
        return err.text(gettext)
    if isinstance(err, dict):
        return pydantic_message(err, gettext)
    if isinstance(err, Text):
        return err.translated(gettext)
    template = getattr(err, "template", None)
    if template:
        return _fill(template, getattr(err, "params", {}) or {}, gettext)
    return gettext(UNKNOWN)


def domain_message(exc: Exception, lang: Lang) -> str:
    """A service's refusal that is not about one field (an invite already used, a store
    away): its ``template`` translated and filled, else a general sentence — never the
    English of ``str(exc)``."""
    if isinstance(exc, ValidationFailed):
        return error_message(exc, lang)
    template = getattr(exc, "template", None) or NOT_POSSIBLE
    gettext = gettext_for(lang)
    return fill(gettext(template), translated_params(getattr(exc, "params", {}), gettext))


def error_line(exc: ValidationFailed, lang: Lang) -> str:
    """"field: message", both translated — for plain-text places (an import report)."""
    return f"{field_name(exc, lang)}: {error_message(exc, lang)}"
