"""How "Test connection" proves an Everstrike secret without sending an order.

Everstrike's WebSocket auth and private GETs take the API key alone; only ``POST /auth/*`` is
signed (VENUES.md 2.2). So the probe signs the one harmless request there is: a cancel of an
order id that cannot exist. A refusal of the signature (HTTP 401, as the simulator and E-MM's
error map have it) means a wrong secret; any other refusal (the unknown id) means the signature
was accepted.
"""

from __future__ import annotations

from typing import Final

from core.model import WorkingKind, WorkingOrder
from core.venue import AccountConfig, CancelRejected, VenueSession
from core.venues.info import SecretCheck

__all__ = ["PROBE_ORDER_ID", "prove_secret"]

PROBE_ORDER_ID: Final = "0" * 24
# Cancel failures that say nothing about the signature.
_NOT_CHECKED: Final = frozenset({"unreachable", "no_answer", "rate_limited"})


async def prove_secret(session: VenueSession, account: AccountConfig) -> SecretCheck:
    probe = WorkingOrder(account.venue, account.name, "", PROBE_ORDER_ID, WorkingKind.LIMIT,
                         side=None, quantity=None)
    try:
        await session.cancel(session.prepare_cancel(probe))
    except CancelRejected as exc:
        if exc.code == "401":
            return SecretCheck(refused=True)
        if exc.code in _NOT_CHECKED:
            return SecretCheck(note=f"the secret could not be checked ({exc})")
    return SecretCheck()
