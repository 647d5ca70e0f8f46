"""A client's partner roles (M-7 dealer, M-8 marketing supplier) read together: the
client card shows both, and one query serves them."""

from __future__ import annotations

from models import PartnerKind, PartnerRole


async def roles_of(client_id: int) -> dict[PartnerKind, PartnerRole]:
    """Every role the client has or had (archived ones too), by kind."""
    return {PartnerKind(r.kind): r for r in await PartnerRole.filter(client_id=client_id)}
