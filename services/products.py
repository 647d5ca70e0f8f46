"""Finding a product and saying its price to a client (issue 13: ``/price``, the order's
product picker).

* **Search** (SQL): every word of the query must be in the product's folded search
  text (name, article, barcode; ``ё`` is ``е``, any case), an article or a barcode
  typed whole comes first. With nothing found and a word of four letters or more, a
  typo is forgiven: the products whose text has a word beginning with the same two
  letters (at most 2,000, in SQL) are ranked by similarity (rapidfuzz: the whole text,
  or word by word for a long name) and the close ones kept. Archived products are not offered.
* **The answer** to "what is the price": the client's price for the quantity with its
  trace (services.pricing), the free stock per warehouse (services.stock), and the unit.
* Products made before issue 13 get their search text on the first search (a thousand
  at a time), so nothing is missed while it fills.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from rapidfuzz import fuzz, process
from tortoise.expressions import Q

from models import Product, StockLevel, Warehouse
from models.staff import fold
from services import pricing
from services.text import search_blob
from services.text import words as split_words

TYPO_POOL = 2000


def search_text_of(name: str | None, code: str | None = None,
                   barcode: str | None = None) -> str:
    """Folded words and their Latin spelling (as clients and the CommerceML import)."""
    return search_blob(name, code, barcode)[:1000]


async def _fill_missing() -> None:
    rows = await Product.filter(search_text="").limit(1000)
    for p in rows:
        p.search_text = search_text_of(p.name, p.code, p.barcode) or " "
    if rows:
        await Product.bulk_update(rows, fields=["search_text"])


async def search_products(query: str, *, limit: int = 8) -> list[Product]:
    text = " ".join((query or "").split())[:200]
    words = split_words(text)[:6]
    if not words:
        return []
    await _fill_missing()
    live = Product.filter(archived=False)
    whole = await live.filter(Q(code=text) | Q(barcode=text)).limit(limit)
    qs = live
    for w in words:
        qs = qs.filter(search_text__contains=w)
    found = whole + [p for p in await qs.order_by("name", "id").limit(limit)
                     if p.id not in {w.id for w in whole}]
    if found:
        return found[:limit]
    longest = max(words, key=len)
    if len(longest) < 4:
        return []
    head = longest[:2]
    pool = await live.filter(Q(search_text__startswith=head) |
                             Q(search_text__contains=" " + head)).limit(TYPO_POOL)
    by_id = {p.id: p for p in pool}
    ranked = process.extract(fold(text), {p.id: p.search_text for p in pool},
                             scorer=_typo_score, limit=limit, score_cutoff=75)
    return [by_id[key] for _choice, _score, key in ranked]


def _typo_score(query: str, text: str, **_kwargs) -> float:
    """The whole query against the whole text, or word by word (each word of the query
    against the text's closest word, averaged): a typo in a short query is forgiven in
    a long name too («бумга» for «Бумага A4 «Снегурочка», 500 л.»)."""
    mine, theirs = query.split(), text.split()
    by_word = sum(max((fuzz.ratio(w, t) for t in theirs), default=0.0) for w in mine
                  ) / len(mine) if mine else 0.0
    return max(fuzz.WRatio(query, text), by_word)


@dataclass
class PriceAnswer:
    priced: pricing.Priced
    price_list: str
    currency: str
    stock: list[tuple[str, Decimal]]  # (warehouse, free)

    @property
    def free_total(self) -> Decimal:
        return sum((free for _name, free in self.stock), Decimal(0))


async def price_answer(client_id: int, product_id: int, quantity: Decimal,
                       on: date) -> PriceAnswer:
    """The client's price for the quantity, with the free stock in each warehouse."""
    ctx = await pricing.context_for(client_id, on)
    priced = (await pricing.price_lines(ctx, [(product_id, quantity)]))[0]
    rows = await StockLevel.filter(product_id=product_id,
                                   warehouse__archived=False).values_list(
        "warehouse__name", "on_hand", "reserved")
    stock = [(name, Decimal(on_hand) - Decimal(reserved)) for name, on_hand, reserved in rows]
    if not priced.product.is_service and not stock and await Warehouse.exists(archived=False):
        stock = [(w.name, Decimal(0)) for w in await Warehouse.filter(archived=False)
                 .order_by("-is_default", "id").limit(3)]
    return PriceAnswer(priced, ctx.price_list.name, ctx.price_list.currency, stock)
