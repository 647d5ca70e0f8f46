"""Exceptions to the credit check (issue 14: A-15): a salesperson asks to post an order
over the limit, the credit controller approves or refuses.

* **Asking**: the order's owner, for a draft the check refuses, with a reason; one
  request waits at a time (a refused one may be asked again). The request keeps how far
  over the order was and its total: an approval holds for that total or less.
* **The credit controller**: the person the company's setting ``credit_controller_id``
  names, alone — while they are active; otherwise (and without the setting) the heads
  of the owner's department (or of a department above it) and the admins. Nobody
  decides on their own request.
* **Deciding** is done once: the request moves from pending with one conditional
  update, so of two presses (or two controllers) one decides and the other is told who
  did it and when (:class:`AlreadyDecided`).
* After the commit the front end delivers the notices: the controllers get the request
  (with ✅ Approve / ❌ Refuse in Telegram), the requester the decision.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from models import CreditOverride, Department, OrderState, OverrideState, Role, User
from services.clock import utcnow
from services.credit import company_credit, refusal
from services.errors import N_, DomainError, NotFound, PermissionDenied, ValidationFailed
from services.ledger import today_of


@dataclass
class CreditNotice:
    """Tell ``user_id`` about ``override_id`` after the commit: ``requested`` (to a
    controller, with the buttons), ``approved`` or ``refused`` (to the requester)."""

    user_id: int
    kind: str
    override_id: int
    by_user_id: int


@dataclass
class OverrideResult:
    override: CreditOverride
    notices: list[CreditNotice] = field(default_factory=list)


class AlreadyDecided(DomainError):
    code = "already_decided"
    template = N_("already decided by {who} on {when}")
    status = 409

    def __init__(self, override: CreditOverride, who: str, when: datetime | None) -> None:
        super().__init__("already decided", who=who,
                         when=when.strftime("%d.%m.%Y %H:%M") if when else "—")
        self.override = override


async def _heads_above(department_id: int | None) -> list[int]:
    """The departments a head of which manages ``department_id`` (it and those above)."""
    out: list[int] = []
    while department_id is not None and department_id not in out:
        out.append(department_id)
        found = await Department.filter(id=department_id).values_list("parent_id",
                                                                      flat=True)
        department_id = found[0] if found else None
    return out


async def controllers(owner: User) -> list[User]:
    """Who decides on the requests of ``owner`` (the rule in the module's docstring)."""
    company = await company_credit()
    if company.controller_id is not None:
        named = await User.get_or_none(id=company.controller_id)
        if named is not None and named.is_active:
            return [named]
    depts = await _heads_above(owner.department_id)
    people = await User.filter(role__in=[Role.ADMIN, Role.HEAD]).order_by("id")
    return [u for u in people if u.is_active and (
        u.role == Role.ADMIN or u.department_id in depts)]


async def may_decide(actor: User, override: CreditOverride) -> bool:
    if actor is None or not actor.is_active or actor.id == override.requested_by_id:
        return False
    owner = await User.get(id=override.requested_by_id)
    return any(u.id == actor.id for u in await controllers(owner))


async def pending_of(order_id: int) -> CreditOverride | None:
    return await CreditOverride.filter(order_id=order_id, state=OverrideState.PENDING
                                       ).first()


async def overrides_of(actor: User, order_id: int) -> list[CreditOverride]:
    """The order's requests, newest first (whoever sees the order)."""
    from services.orders import get_order

    await get_order(actor, order_id)
    return await CreditOverride.filter(order_id=order_id).order_by("-id").select_related(
        "requested_by", "decided_by")


async def do_request_override(actor: User, order_id: int, reason: str) -> OverrideResult:
    from services.orders import get_order

    order = await get_order(actor, order_id)
    if order.owner_id != actor.id:
        raise PermissionDenied("not the order's owner")
    if order.state != OrderState.DRAFT:
        raise ValidationFailed("state", N_("only a draft can be posted"))
    text = " ".join(str(reason or "").split())[:500]
    if not text:
        raise ValidationFailed("reason", N_("say why"))
    if await pending_of(order.id) is not None:
        raise ValidationFailed("state", N_("a request for this order is already waiting "
                                           "for a decision"))
    found = await refusal(order, today_of(actor), overrides=False)
    if found is None:
        raise ValidationFailed("state", N_("the order fits the credit limit: post it"))
    made = await CreditOverride.create(
        order_id=order.id, requested_by_id=actor.id, reason=text, over_by=found.over_by,
        currency=found.currency, order_total=order.total or 0)
    people = [u for u in await controllers(actor) if u.id != actor.id]
    return OverrideResult(made, [CreditNotice(u.id, "requested", made.id, actor.id)
                                 for u in people])


async def told_names(result: OverrideResult) -> list[str]:
    """The names of the people a request was sent to, by name."""
    return await User.filter(id__in=[n.user_id for n in result.notices]
                             ).order_by("full_name").values_list("full_name", flat=True)


async def get_override(actor: User, override_id: int) -> CreditOverride:
    """A request, for whoever sees its order or may decide on it."""
    from services.orders import get_order

    found = await CreditOverride.get_or_none(id=override_id).select_related(
        "requested_by", "decided_by", "order")
    if found is None:
        raise NotFound("override")
    if not await may_decide(actor, found):
        await get_order(actor, found.order_id)
    return found


async def do_decide(actor: User, override_id: int, approve: bool,
                    comment: str | None = None) -> OverrideResult:
    found = await CreditOverride.get_or_none(id=override_id)
    if found is None:
        raise NotFound("override")
    if found.state != OverrideState.PENDING:
        raise await _decided(found, actor)
    if not await may_decide(actor, found):
        raise PermissionDenied("not the credit controller")
    now = utcnow()
    state = OverrideState.APPROVED if approve else OverrideState.REFUSED
    note = " ".join(str(comment or "").split())[:500] or None
    moved = await CreditOverride.filter(id=found.id, state=OverrideState.PENDING).update(
        state=state, decided_by_id=actor.id, decided_at=now, comment=note)
    if not moved:
        raise await _decided(await CreditOverride.get(id=found.id), actor)
    found.state, found.decided_by_id, found.decided_at, found.comment = \
        state, actor.id, now, note
    return OverrideResult(found, [CreditNotice(found.requested_by_id, str(state), found.id,
                                               actor.id)])


async def _decided(found: CreditOverride, actor: User) -> AlreadyDecided:
    from zoneinfo import ZoneInfo

    who = await User.get_or_none(id=found.decided_by_id) if found.decided_by_id else None
    when = found.decided_at.astimezone(ZoneInfo(actor.timezone or "UTC")) \
        if found.decided_at else None
    return AlreadyDecided(found, who.full_name if who else "—", when)
