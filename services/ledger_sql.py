"""Small helpers the ledger's raw SQL shares (services.ledger, services.ledger_reports).

Sums of money are taken in whole cents (``CAST(ROUND(x * 100) AS BIGINT)``), so SQLite,
which keeps a decimal as text and would add it as a float, gives the exact sum too.
Only values checked here are written into a query: integers, dates (ISO), the entry
kinds and currency codes of three capital letters.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import date
from decimal import Decimal
from typing import Any

from tortoise import connections

from models import Role, User
from models.settlements import CREDITS, DEBITS
from services.permissions import department_subtree_ids

CURRENCY = re.compile(r"^[A-Z]{3}$")


def cents(column: str) -> str:
    return f"CAST(ROUND({column} * 100) AS BIGINT)"


def money(value: Any) -> Decimal:
    """Cents from a query as Decimal money."""
    return (Decimal(int(value or 0)) / 100).quantize(Decimal("0.01"))


def to_cents(value: Decimal) -> int:
    """Money as whole cents (the amounts the ledger keeps have two places)."""
    return int((Decimal(value) * 100).to_integral_value())


def lit(value: date) -> str:
    return f"'{date.fromisoformat(value.isoformat()).isoformat()}'"


def ints(values: Iterable[int]) -> str:
    return ", ".join(str(int(v)) for v in values) or "NULL"


def cur(value: str) -> str:
    if not CURRENCY.match(value or ""):
        raise ValueError(value)
    return f"'{value}'"


def kinds(which: tuple) -> str:
    return ", ".join(f"'{k.value}'" for k in which)


DEBIT_KINDS = kinds(DEBITS)
CREDIT_KINDS = kinds(CREDITS)
SIGNED = (f"CASE WHEN e.kind IN ({DEBIT_KINDS}) THEN {cents('e.amount')} "
          f"WHEN e.kind IN ({CREDIT_KINDS}) THEN -{cents('e.amount')} ELSE 0 END")


def as_date(value: Any) -> date | None:
    if value is None or isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])


async def rows(sql: str) -> list[dict[str, Any]]:
    conn = connections.get("default")
    return await conn.execute_query_dict(sql)


async def client_scope(actor: User, column: str = "e.client_id", *,
                       department_id: int | None = None, manager_id: int | None = None
                       ) -> str:
    """A condition keeping the rows of the clients ``actor`` sees (like
    services.clients.visible_clients: an admin all, a head their departments' clients, a
    manager their own), narrowed to a department or a manager when asked."""
    if actor is None or not actor.is_active:
        from services.errors import PermissionDenied

        raise PermissionDenied("not staff")
    # "not an archived client's" rather than "a current client's": the same rows, but
    # for an admin a report reads the ledger through, where SQLite would otherwise look
    # the rows up client by client through the index
    where = [f"{column} NOT IN (SELECT c.id FROM client c WHERE c.archived_at IS NOT NULL)"]
    managed = ("SELECT cm.client_id FROM client_manager cm JOIN staff_user u ON "
               "u.id = cm.user_id WHERE cm.unassigned_at IS NULL")
    if actor.role == Role.ADMIN:
        pass
    elif actor.role == Role.HEAD and actor.department_id is not None:
        depts = await department_subtree_ids(actor.department_id)
        where.append(f"{column} IN ({managed} AND u.department_id IN ({ints(depts)}))")
    else:
        where.append(f"{column} IN ({managed} AND cm.user_id = {int(actor.id)})")
    if department_id is not None:
        depts = await department_subtree_ids(int(department_id))
        where.append(f"{column} IN ({managed} AND u.department_id IN ({ints(depts)}))")
    if manager_id is not None:
        where.append(f"{column} IN ({managed} AND cm.user_id = {int(manager_id)})")
    return " AND ".join(where)


# the client's responsible person: the primary current manager, else the first one
MAIN_MANAGER = ("(SELECT cm.user_id FROM client_manager cm WHERE cm.client_id = {col} "
                "AND cm.unassigned_at IS NULL ORDER BY cm.is_primary DESC, cm.id LIMIT 1)")


def open_debits(where: str) -> str:
    """A subquery of the debits (not void) matching ``where`` (over ``e``) with their
    amount and open part in cents."""
    return (f"SELECT e.id AS id, e.client_id AS client_id, e.currency AS currency, "
            f"e.legal_entity_id AS legal_entity_id, e.own_entity_id AS own_entity_id, "
            f"e.kind AS kind, e.dated AS dated, e.due AS due, e.number AS number, "
            f"e.order_id AS order_id, {cents('e.amount')} AS amount, "
            f"{cents('e.amount')} - COALESCE((SELECT SUM({cents('a.amount')}) FROM "
            f"allocation a WHERE a.debit_id = e.id), 0) AS open "
            f"FROM ledger_entry e WHERE e.void = FALSE AND e.kind IN ({DEBIT_KINDS}) "
            f"AND {where}")


def free_credits(where: str) -> str:
    """The same for credits: what each has not paid off yet (the client's credit)."""
    return (f"SELECT e.id AS id, e.client_id AS client_id, e.currency AS currency, "
            f"e.legal_entity_id AS legal_entity_id, e.own_entity_id AS own_entity_id, "
            f"{cents('e.amount')} - COALESCE((SELECT SUM({cents('a.amount')}) FROM "
            f"allocation a WHERE a.credit_id = e.id), 0) AS free "
            f"FROM ledger_entry e WHERE e.void = FALSE AND e.kind IN ({CREDIT_KINDS}) "
            f"AND {where}")
