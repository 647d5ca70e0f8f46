"""Names of the seeded activity types in the person's language (issue 17): the same
words in the bot's cards, /stats, the web reports and charts. A type admins added
has no code and keeps the name they gave it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any, TypeVar


def N_(text: str) -> str:  # noqa: N802 - marks a string for extraction only
    return text


TYPES = {"call": N_("Call"), "meeting": N_("Meeting"), "visit": N_("Visit"),
         "email": N_("Email"), "presentation": N_("Presentation"), "sale": N_("Sale"),
         "inbound_request": N_("Inbound request"), "data_processing": N_("Data processing"),
         "task": N_("Task")}

# the seeded dictionaries and their starter items (services.dictionaries), by code: shown
# in the reader's language while an admin has not renamed them
DICTIONARIES = {"region": N_("Regions"), "city": N_("Cities"), "district": N_("Districts"),
                "sphere": N_("Business spheres"), "ad_source": N_("Advertising sources"),
                "lost_reason": N_("Reasons deals are lost"),
                "claim_rejection": N_("Reasons claims are rejected")}
ITEMS = {
    "trade": N_("Trade"), "wholesale": N_("Wholesale"), "manufacturing": N_("Manufacturing"),
    "construction": N_("Construction"), "it": N_("IT and telecoms"),
    "services": N_("Services"), "logistics": N_("Transport and logistics"),
    "finance": N_("Finance"), "agriculture": N_("Agriculture"),
    "public": N_("Public sector"), "other": N_("Other"), "referral": N_("Referral"),
    "website": N_("Website"), "search": N_("Search advertising"),
    "social": N_("Social networks"), "exhibition": N_("Exhibition"),
    "cold_call": N_("Cold call"), "email": N_("Email campaign"),
    "print": N_("Print advertising"), "price": N_("Too expensive"),
    "competitor": N_("Chose a competitor"), "no_budget": N_("No budget"),
    "no_need": N_("No need"), "no_answer": N_("The client went silent"),
    "postponed": N_("Purchase postponed"),
    "claim_unconfirmed": N_("Not confirmed"), "claim_warranty_over": N_("Warranty expired"),
    "claim_misuse": N_("Terms of use broken"),
    "claim_not_ours": N_("Not our goods or work"),
    "claim_withdrawn": N_("The client withdrew it"),
}

# why a mailing's recipient was skipped (services.mailings), for the web page and the bot
SKIP_REASONS = {"no_address": N_("no address"), "no_consent": N_("no consent"),
                "do_not_contact": N_("do not contact"), "unsubscribed": N_("unsubscribed"),
                "client removed": N_("client removed")}


def skip_reason(reason: str, gettext: Callable[[str], str]) -> str:
    """A skip reason for the reader; a template that failed for one client
    ("render: <problem>") is said as such."""
    if reason in SKIP_REASONS:
        return gettext(SKIP_REASONS[reason])
    if reason.startswith("render: "):
        return gettext("the template failed: {problem}").format(problem=reason[8:])
    return reason


T = TypeVar("T")


def item_name(item, gettext: Callable[[str], str], seeded: dict[str, str]) -> str:
    """A dictionary item's name for the reader: a starter item not renamed by an admin
    (its name is still the seeded one, ``seeded[code]``) in their language; any other
    item as it was named."""
    code = getattr(item, "code", None)
    if code in ITEMS and seeded.get(code) == item.name:
        return gettext(ITEMS[code])
    return item.name


def dictionary_name(dictionary, gettext: Callable[[str], str], seeded: dict[str, str]) -> str:
    code = getattr(dictionary, "code", None)
    if code in DICTIONARIES and seeded.get(code) == dictionary.name:
        return gettext(DICTIONARIES[code])
    return dictionary.name


def type_name(code: str | None, name: str, gettext: Callable[[str], str]) -> str:
    return gettext(TYPES[code]) if code in TYPES else name


def with_type_names(table: T, gettext: Callable[[str], str]) -> T:
    """A report table (services.analytics.Table) with its types named for the reader."""
    return replace(table, types=[(code, type_name(code, name, gettext))
                                 for code, name in table.types])


# S-26: sales plan metrics
PLAN_METRICS = {"revenue": N_("Revenue"), "margin": N_("Margin"), "deals_won": N_("Deals won"),
                "quantity": N_("Quantity"), "sum": N_("Sum"),
                "documents": N_("Documents prepared"), "payments": N_("Payments collected")}


def sales_plan_label(row: Any, gettext: Callable[[str], str]) -> str:
    """"Revenue", "Quantity · Pipes": a sales plan's metric and subject for the reader."""
    metric = gettext(PLAN_METRICS.get(str(row.metric.value), str(row.metric.value)))
    return f"{metric} · {row.subject}" if row.subject else metric


def plan_amount(value: Any, currency: str | None) -> str:
    """1 500 000,5 RUB; a count without a currency as it is (2, 15.5)."""
    text = (f"{value:,.2f}" if currency else f"{value.normalize():,f}").replace(
        ",", "\u00a0").replace(".", ",")
    return f"{text} {currency}" if currency else text


# U-1: what a stage may require of a deal, process kinds and modes, for forms
REQUIREMENTS = {"amount": N_("amount"), "expected_close": N_("expected close date"),
                "contact": N_("contact person"), "tasks_done": N_("the stage's tasks done"),
                "order_posted": N_("a posted order")}
PROCESS_KINDS = {"sale": N_("sale"), "claim": N_("claim"),
                 "execution": N_("execution of a won deal"),
                 "partner": N_("partner relationship")}
PROCESS_MODES = {"managed": N_("managed: the stage's tasks are made, its rules enforced"),
                 "simple": N_("simple: stages moved by hand")}


def process_name(process, gettext: Callable[[str], str]) -> str:
    """A process type's name for the reader (a seeded one not renamed: translated)."""
    from services.deal_processes import seeded_label

    label = seeded_label(process, "process")
    return gettext(label) if label else process.name


def stage_name(stage, gettext: Callable[[str], str]) -> str:
    """A stage's name for the reader (a seeded one not renamed: translated)."""
    from services.deal_processes import seeded_label

    label = seeded_label(stage, "stage")
    return gettext(label) if label else stage.name


# U-4: the deal's environment — who someone is, where they stand, how two are tied
PARTY_ROLES = {"decision_maker": N_("decision maker"), "influencer": N_("influencer"),
               "user": N_("user of the product"), "competitor": N_("competitor"),
               "subcontractor": N_("subcontractor"), "partner": N_("partner"),
               "dealer": N_("dealer")}
STANCES = {"supporter": N_("for us"), "neutral": N_("neutral"),
           "opponent": N_("against us"), "unknown": N_("stance unknown")}
STANCE_ICONS = {"supporter": "👍", "neutral": "😐", "opponent": "👎", "unknown": "❔"}
LINK_KINDS = {"influences": N_("influences"), "reports_to": N_("reports to"),
              "works_with": N_("works with"), "competes_with": N_("competes with")}

# U-5: where a probability comes from, and what its factors are about
PROBABILITY_BASES = {"model": N_("from closed deals"),
                     "stages": N_("from how often deals at this stage were won"),
                     "default": N_("the stage's figure (too few closed deals yet)"),
                     "override": N_("set by the manager"),
                     "closed": N_("the deal is closed")}
FACTOR_FEATURES = {"source": N_("source"), "owner": N_("owner"), "kind": N_("client"),
                   "band": N_("amount")}
AMOUNT_BANDS = {"none": N_("no amount"), "b0": N_("under 100 000"),
                "b1": N_("100 000 – 1 000 000"), "b2": N_("1 000 000 – 10 000 000"),
                "b3": N_("10 000 000 and more")}
CLIENT_KINDS = {"company": N_("company"), "individual": N_("individual")}
