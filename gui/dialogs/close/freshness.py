"""The freshness guard of the close dialog, and its one more click.

At Send the position is re-read from the live book: if its side changed, or it shrank below the
quantity, or a full close would now close a different size, nothing is sent, and the dialog says
what changed against the position the user last acknowledged (:attr:`Freshness.seen`). Data
older than the stale threshold, and the confirmation policy, ask for one more click.
"""

from __future__ import annotations

import html
from decimal import Decimal

from core.closing.words import describe
from core.desk import PositionChanged
from core.model import CloseRequest, Environment, Instrument, Position
from core.settings import Preferences
from gui.dialogs.close.callbacks import DataAge, Guard
from gui.dialogs.close.text import changed_text, confirmation_reason, stale_question
from gui.models import env_label, fmt_decimal

__all__ = ["Freshness"]


class Freshness:
    """The position as the user last acknowledged it (at opening, or when the guard asked
    again), against the live book. A request carries ``seen``, so the desk refuses if the book
    moved away from it."""

    def __init__(self, position: Position, guard: Guard | None,
                 data_age: DataAge | None) -> None:
        self.seen = position
        self.asked = False  # the guard has stopped a Send once already
        self._guard = guard
        self._data_age = data_age

    def moved(self, now: Position) -> bool:
        seen = self.seen
        return now.side is not seen.side or now.quantity != seen.quantity

    def changed(self, now: Position) -> PositionChanged:
        """``now`` against ``seen``, as the desk would say it."""
        seen = self.seen
        reason = "side" if now.side is not seen.side else (
            "shrank" if now.quantity < seen.quantity else "grew")
        return PositionChanged("the position changed", reason, now)

    def check(self, request: CloseRequest, now: Position) -> PositionChanged | None:
        """What changed, or None when the live book still matches what the user saw."""
        if self._guard is not None:
            try:
                self._guard(request)
            except PositionChanged as exc:
                return exc
        if request.is_full and self.moved(now):
            # The desk lets a full close of a changed position through (it closes what is
            # there), but the user confirmed a size: show the new one first.
            return self.changed(now)
        return None

    def explain(self, exc: PositionChanged, typed: Decimal | None, *,
                acknowledge: bool) -> tuple[str, Decimal | None]:
        """What changed, in words, and the quantity to offer "Clamp to" (None: no clamp).

        At Send (``acknowledge``) the current position becomes the one seen, and the user must
        press Send again; while the dialog merely watches the book it is only said. A shrunk
        partial close (``typed`` above what is left) is offered a clamp, never clamped
        silently."""
        since = ("when you last pressed Send" if self.asked
                 else "when you opened this dialog")
        text = changed_text(exc, self.seen, since)
        current = exc.current
        if acknowledge:
            self.asked = True
        if current is None:
            return text + " Nothing was sent.", None
        if acknowledge:
            self.seen = current
        if exc.reason == "shrank" and typed is not None and typed > current.quantity:
            return text + (f" You asked to close {fmt_decimal(typed)}; only "
                           f"{fmt_decimal(current.quantity)} is left. Nothing was sent."), \
                current.quantity
        if acknowledge:
            return text + " Nothing was sent: check the close below and press Send again.", None
        return text + " Send will ask again before anything goes out.", None

    def stale_age(self, preferences: Preferences) -> float | None:
        """How old the row's venue data is, when it is past the stale threshold."""
        age = self._data_age() if self._data_age is not None else None
        if age is None or age <= preferences.stale_after_s:
            return None
        return age

    def question(self, request: CloseRequest, preferences: Preferences,
                 environment: Environment | None, instrument: Instrument | None,
                 mark: Decimal | None) -> tuple[str, str] | None:
        """(the question, its button's text) when one more click is needed."""
        age = self.stale_age(preferences)
        reason = confirmation_reason(request, preferences, environment, mark)
        if age is None and reason is None:
            return None
        key = request.key
        env = f" ({env_label(environment)})" if environment is not None else ""
        lines = []
        if age is not None:
            lines.append(f"<b>{stale_question(age)}</b>")
        what = describe(request, instrument).rstrip(".")
        lines.append(html.escape(f"Send {what} on {key.account}{env}?"))
        if reason is not None:
            lines.append(f"<span style='color:#6b7280'>Asked because "
                         f"{html.escape(reason)}.</span>")
        return "<br>".join(lines), "Close anyway" if age is not None else "Confirm close"
