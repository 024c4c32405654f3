"""The form bodies for ``/auth/close`` and ``/auth/cancel``, and the close rules a close
must pass first. A body is built once: it is what is signed and sent."""

from __future__ import annotations

from urllib.parse import urlencode

from core.closing.rules import FieldError, check_amounts, check_request
from core.model import CloseRequest, Instrument, TriggerEvent
from core.venues.everstrike.protocol.codec import format_decimal
from core.venues.everstrike.protocol.errors import EncodeError
from core.venues.everstrike.protocol.facts import CAPABILITIES


def _finish(fields: list[tuple[str, str]], timestamp_ms: int, recv_window: int | None) -> str:
    if isinstance(timestamp_ms, bool) or not isinstance(timestamp_ms, int) or timestamp_ms <= 0:
        raise EncodeError("timestamp", f"timestamp must be positive ms, not {timestamp_ms!r}")
    fields.append(("timestamp", str(timestamp_ms)))
    if recv_window is not None:
        if isinstance(recv_window, bool) or not isinstance(recv_window, int) or recv_window <= 0:
            raise EncodeError("recv_window", f"recv_window must be positive, not {recv_window!r}")
        fields.append(("recv_window", str(recv_window)))
    return urlencode(fields)


def encode_close(request: CloseRequest, timestamp_ms: int, recv_window: int | None) -> str:
    """The exact form body for ``POST /auth/close``: only the fields the user set.

    Built once; the caller signs this string and sends these very bytes.
    """
    pair = request.key.symbol
    if not pair or pair != pair.strip():
        raise EncodeError("symbol", f"invalid pair {pair!r}")
    if request.time_in_force is not None:
        raise EncodeError("time_in_force", "Everstrike's close endpoint takes no time in force")
    try:
        check_amounts(request)
    except FieldError as exc:
        raise EncodeError(exc.field, exc.message) from None
    fields: list[tuple[str, str]] = [("pair", pair)]
    if request.quantity is not None:
        fields.append(("qty", format_decimal(request.quantity, "quantity")))
    if request.limit_price is not None:
        fields.append(("price", format_decimal(request.limit_price, "limit_price")))
    if request.trigger is not None:
        trigger = request.trigger
        fields.append(("trigger_price", format_decimal(trigger.price, "trigger_price")))
        try:
            event = TriggerEvent(trigger.event)
        except ValueError:
            raise EncodeError("trigger_event", f"unknown trigger event {trigger.event!r}") from None
        fields.append(("trigger_event", event.value))
        fields.append(("close_on_trigger", "true" if trigger.close_on_trigger else "false"))
    return _finish(fields, timestamp_ms, recv_window)


def check_close(request: CloseRequest, instrument: Instrument | None) -> None:
    """Refuse, naming the field, what ``GET /pairs`` and the capabilities say the venue would
    refuse: the close rules (core.closing.rules), as Everstrike sizes a close. Only a close with
    a ``qty`` puts a quantity on the wire; a full close is sized by the venue.
    """
    try:
        check_request(request, CAPABILITIES, instrument, sized=request.quantity is not None)
    except FieldError as exc:
        raise EncodeError(exc.field, exc.message) from None


def encode_cancel(order_id: str, timestamp_ms: int, recv_window: int | None) -> str:
    """The form body for ``POST /auth/cancel``."""
    if not order_id:
        raise EncodeError("order_id", "order id is empty")
    return _finish([("id", order_id)], timestamp_ms, recv_window)
