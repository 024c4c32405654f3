"""Fault knobs for one simulated venue, settable from any thread while the simulator runs.

Tests flip these from the test thread while the venue reads them on the simulator thread, so
every read and every consume-once counter goes through one lock.
"""

from __future__ import annotations

import threading
from collections import deque
from typing import Literal

__all__ = ["MALFORMED_FRAME", "Faults", "PositionsShape"]

PositionsShape = Literal["position_response", "v4_positions"]

# Truncated JSON: what a half-written frame looks like to a client parser.
MALFORMED_FRAME = '{"order_response": {"order_id": "5b3099'


class Faults:
    """Every knob defaults to "behave like a healthy venue"."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._latency = 0.0
        self._clock_skew = 0.0
        self._silent = False
        self._duplicate = False
        self._reorder = False
        self._reorder_hold = 0.2
        self._drop_before_ack = 0
        self._drop_executes = True
        self._malformed: deque[str] = deque()
        self._http_statuses: deque[int] = deque()
        self._positions_shape: PositionsShape = "position_response"

    def reset(self) -> None:
        fresh = Faults()
        with self._lock:
            for name, value in vars(fresh).items():
                if name != "_lock":
                    setattr(self, name, value)

    # ------------------------------------------------------------------ plain knobs
    @property
    def latency(self) -> float:
        """Seconds added before every reply and push."""
        with self._lock:
            return self._latency

    @latency.setter
    def latency(self, value: float) -> None:
        with self._lock:
            self._latency = max(0.0, float(value))

    @property
    def clock_skew(self) -> float:
        """Seconds added to the venue's clock (server time, timestamp checks, event times)."""
        with self._lock:
            return self._clock_skew

    @clock_skew.setter
    def clock_skew(self, value: float) -> None:
        with self._lock:
            self._clock_skew = float(value)

    @property
    def silent(self) -> bool:
        """Send nothing (WS frames are discarded, HTTP replies held) but keep sockets open."""
        with self._lock:
            return self._silent

    @silent.setter
    def silent(self, value: bool) -> None:
        with self._lock:
            self._silent = bool(value)

    @property
    def duplicate(self) -> bool:
        """Send every order update twice."""
        with self._lock:
            return self._duplicate

    @duplicate.setter
    def duplicate(self, value: bool) -> None:
        with self._lock:
            self._duplicate = bool(value)

    @property
    def reorder(self) -> bool:
        """Swap each pair of consecutive order updates on a connection (ACK after FILLED)."""
        with self._lock:
            return self._reorder

    @reorder.setter
    def reorder(self, value: bool) -> None:
        with self._lock:
            self._reorder = bool(value)

    @property
    def reorder_hold(self) -> float:
        """How long a held update waits for a partner before it is sent anyway."""
        with self._lock:
            return self._reorder_hold

    @reorder_hold.setter
    def reorder_hold(self, value: float) -> None:
        with self._lock:
            self._reorder_hold = max(0.0, float(value))

    @property
    def positions_shape(self) -> PositionsShape:
        """QFEX only: which of the two documented ``positions`` wire shapes to push."""
        with self._lock:
            return self._positions_shape

    @positions_shape.setter
    def positions_shape(self, value: PositionsShape) -> None:
        if value not in ("position_response", "v4_positions"):
            raise ValueError(f"unknown positions shape {value!r}")
        with self._lock:
            self._positions_shape = value

    # ------------------------------------------------------------------ consume-once knobs
    def drop_next(self, count: int = 1, *, execute: bool = True) -> None:
        """Drop the connection after the next ``count`` order commands arrive, before any reply.

        QFEX: the trade WS is aborted after ``close_position``/``add_order``. Everstrike: the HTTP
        connection of ``/auth/close``/``/auth/order`` is aborted with no response. With
        ``execute`` the order still reaches the market, which is the dangerous case a client
        must reconcile.
        """
        with self._lock:
            self._drop_before_ack = count
            self._drop_executes = execute

    def take_drop(self) -> tuple[bool, bool]:
        """(drop this one?, does it still execute?)"""
        with self._lock:
            if self._drop_before_ack <= 0:
                return False, True
            self._drop_before_ack -= 1
            return True, self._drop_executes

    def inject_malformed(self, count: int = 1, frame: str = MALFORMED_FRAME) -> None:
        """Send ``frame`` before each of the next ``count`` WebSocket pushes."""
        with self._lock:
            self._malformed.extend([frame] * count)

    def take_malformed(self) -> str | None:
        with self._lock:
            return self._malformed.popleft() if self._malformed else None

    def force_http(self, status: int, count: int = 1) -> None:
        """Everstrike: answer the next ``count`` HTTP requests with ``status`` (429, 503, 408,
        ...) without executing them."""
        with self._lock:
            self._http_statuses.extend([int(status)] * count)

    def take_http_status(self) -> int | None:
        with self._lock:
            return self._http_statuses.popleft() if self._http_statuses else None
