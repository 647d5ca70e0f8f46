"""Product matrices (issue 13: S-22).

* **The organisation's matrix**: which products are offered to each business sphere
  (the items of the system dictionary ``sphere``); admins tick and untick them.
* **A manager's own matrix**: the products one tracks ("my products"), added and
  removed by each person for themselves.
* **A client's matrix**: the products of the client's spheres in the organisation's
  matrix (none when the client has no sphere or its spheres have no products); an
  order's line outside it needs confirming (services.orders).
"""

from __future__ import annotations

from dataclasses import dataclass

from tortoise.expressions import Subquery

from models import Client, DictionaryItem, MatrixEntry, Product, TrackedProduct, User
from services.catalogue import _admin
from services.errors import N_, NotFound, ValidationFailed
from services.price_admin import MAX_PAGE, product_search

MAX_TRACKED = 1000


async def spheres() -> list[DictionaryItem]:
    from services.dictionaries import SPHERE, ensure_system_dictionaries, list_items

    await ensure_system_dictionaries()
    return await list_items(SPHERE, limit=500)


async def _sphere(sphere_id: int) -> DictionaryItem:
    from services.dictionaries import SPHERE

    found = await DictionaryItem.get_or_none(id=sphere_id, dictionary__code=SPHERE)
    if found is None:
        raise NotFound("sphere")
    return found


@dataclass
class Ticked:
    product: Product
    on: bool


async def sphere_products(sphere_id: int, *, q: str | None = None, only_on: bool = False,
                          page: int = 1, per_page: int = 20) -> tuple[list[Ticked], bool]:
    """A page of products (search in SQL), each ticked when in the sphere's matrix."""
    sphere = await _sphere(sphere_id)
    per_page = max(1, min(per_page, MAX_PAGE))
    page = max(1, min(page, 10_000))
    in_matrix = MatrixEntry.filter(sphere_id=sphere.id).values("product_id")
    if q:
        from services.products import _fill_missing

        await _fill_missing()
    qs = product_search(q)
    if only_on:
        qs = qs.filter(id__in=Subquery(in_matrix))
    found = await qs.order_by("name", "id").offset((page - 1) * per_page).limit(per_page + 1)
    on = set(await MatrixEntry.filter(sphere_id=sphere.id, product_id__in=[
        p.id for p in found]).values_list("product_id", flat=True))
    return [Ticked(p, p.id in on) for p in found[:per_page]], len(found) > per_page


async def do_set_matrix(actor: User, sphere_id: int, product_id: int, on: bool) -> bool:
    """Put a product into a sphere's matrix or take it out (admins)."""
    _admin(actor, "the product matrix")
    sphere = await _sphere(sphere_id)
    if not await Product.filter(id=product_id).exists():
        raise NotFound("product")
    if on:
        await MatrixEntry.get_or_create(sphere_id=sphere.id, product_id=product_id)
    else:
        await MatrixEntry.filter(sphere_id=sphere.id, product_id=product_id).delete()
    return on


async def my_products(actor: User) -> list[Product]:
    return await Product.filter(id__in=Subquery(TrackedProduct.filter(
        user_id=actor.id).values("product_id"))).order_by("name", "id").limit(MAX_TRACKED)


async def do_track(actor: User, product_id: int, on: bool) -> bool:
    """Add a product to one's own matrix or remove it."""
    if not actor.is_active:
        raise NotFound("product")
    if not await Product.filter(id=product_id).exists():
        raise NotFound("product")
    if on:
        if await TrackedProduct.filter(user_id=actor.id).count() >= MAX_TRACKED:
            raise ValidationFailed("product_id", N_("at most {max} products"),
                                   max=MAX_TRACKED)
        await TrackedProduct.get_or_create(user_id=actor.id, product_id=product_id)
    else:
        await TrackedProduct.filter(user_id=actor.id, product_id=product_id).delete()
    return on


async def client_matrix(client_id: int) -> set[int] | None:
    """S-22: the products of the client's business spheres in the organisation's
    matrix; None when the client has no sphere or its spheres have no products."""
    client = await Client.get(id=client_id)
    ids = [s.id for s in await client.spheres.all()]
    if not ids:
        return None
    products = set(await MatrixEntry.filter(sphere_id__in=ids).values_list(
        "product_id", flat=True))
    return products or None


async def client_products(actor: User, client_id: int, *, limit: int = 100
                          ) -> list[Product]:
    """The client's matrix as products, for its card ("Products for this client")."""
    from services.clients import get_client

    client = await get_client(actor, client_id)
    ids = [s.id for s in await client.spheres.all()]
    if not ids:
        return []
    return await Product.filter(archived=False, id__in=Subquery(MatrixEntry.filter(
        sphere_id__in=ids).values("product_id"))).order_by("name", "id").limit(limit)
