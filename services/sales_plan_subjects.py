"""What a sales plan of a product or a category is about (S-26): the plan grid's
subject picker. A subject is written ``p<id>`` (a product) or ``c<id>`` (a category, with
every category under it); the grid shows one subject and one measure (quantity or
sum) at a time as a column of cells, one per person, each with its plan against the
fact (:func:`services.sales_plans.plans_vs_fact`).

Anyone on the staff may search the catalogue for a subject; who may write the plans
is :func:`services.sales_plans.do_set_plans`'s business.
"""

from __future__ import annotations

from dataclasses import dataclass

from models import PlanMetric, Product, ProductCategory, User
from models.staff import fold
from services.errors import N_, ValidationFailed
from services.permissions import require_staff

MEASURES = (PlanMetric.QUANTITY, PlanMetric.SUM)
CATEGORY_POOL = 5000


@dataclass(frozen=True)
class Subject:
    kind: str  # "p" a product, "c" a category
    id: int
    name: str

    @property
    def code(self) -> str:
        return f"{self.kind}{self.id}"

    @property
    def product_id(self) -> int | None:
        return self.id if self.kind == "p" else None

    @property
    def category_id(self) -> int | None:
        return self.id if self.kind == "c" else None


def measure_of(raw: str | None) -> PlanMetric:
    """``quantity`` or ``sum`` (ValidationFailed naming ``measure`` otherwise)."""
    try:
        metric = PlanMetric((raw or "").strip())
    except ValueError:
        metric = None
    if metric not in MEASURES:
        raise ValidationFailed("measure", N_("choose a value from the list"))
    return metric


async def subject_of(code: str | None) -> Subject:
    """The product or category a code names; ValidationFailed naming ``subject``."""
    text = (code or "").strip()
    kind, digits = text[:1], text[1:]
    if kind not in ("p", "c") or not digits.isdigit() or len(digits) > 10:
        raise ValidationFailed("subject", N_("choose a product or a category"))
    model = Product if kind == "p" else ProductCategory
    found = await model.get_or_none(id=int(digits))
    if found is None:
        raise ValidationFailed("subject", N_("no such product") if kind == "p"
                               else N_("no such category"))
    return Subject(kind, found.id, found.name)


async def search_subjects(actor: User, query: str, *, limit: int = 20) -> list[Subject]:
    """Categories whose name holds the words, then products found like the catalogue's
    search (code, barcode, words, typos); archived ones are left out. An empty query
    gives the top categories."""
    from services.products import search_products

    require_staff(actor)
    text = " ".join((query or "").split())[:200]
    cats = ProductCategory.filter(archived=False)
    if not text:
        found = await cats.filter(parent_id=None).order_by("sort_order", "name").limit(limit)
        return [Subject("c", c.id, c.name) for c in found]
    words = [fold(w) for w in text.split()[:6]]  # any script and case (SQLite's LIKE
    # folds ASCII only); a catalogue has a few hundred categories at most
    named = await cats.order_by("name").limit(CATEGORY_POOL).values_list("id", "name")
    out = [Subject("c", cid, name) for cid, name in named
           if all(w in fold(name) for w in words)][:limit // 2]
    out += [Subject("p", p.id, p.name) for p in await search_products(
        text, limit=limit - len(out))]
    return out


def planned_subjects(rows) -> list[tuple[PlanMetric, Subject]]:
    """The (measure, subject) pairs that have plans among ``rows``, by name."""
    seen: dict[tuple[str, str], tuple[PlanMetric, Subject]] = {}
    for r in rows:
        if r.metric not in MEASURES or not r.subject:
            continue
        subject = Subject("p", r.product_id, r.subject) if r.product_id else \
            Subject("c", r.category_id, r.subject)
        seen.setdefault((r.metric.value, subject.code), (r.metric, subject))
    return sorted(seen.values(), key=lambda x: (x[1].name.casefold(), x[0].value))
