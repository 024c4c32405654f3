"""Simulated Everstrike: signed REST and an events WebSocket on one loopback server.

Written from the venue documentation (VENUES.md section 2 and docs/seeds/everstrike-close.md),
never from our client code. Paths: REST at ``/`` (``POST /auth/close``, ``/auth/order``,
``/auth/order/bulk``, ``/auth/cancel``, ``/auth/cancel/bulk``, ``/leverage``; private GETs
``/active_positions``, ``/position``, ``/orders``, ``/order``, ``/active_orders``,
``/completed_orders``, ``/cancelled_orders``, ``/triggers``, ``/fills``, ``/account``,
``/personal``, ``/balances``; public ``/pairs``, ``/time``, ``/ping``, ``/ticker``) and the WS at
``/ws``.

Assumptions where the documentation is silent (each also noted at its code):

* Bad or missing ``x-api-key``/``x-signature`` -> HTTP 401 ``{"code":401,"msg":...,"result":null}``.
* ``timestamp`` is optional (some doc examples omit it). When present, it is stale if
  ``now - timestamp > recv_window`` (default 15000 ms, from the close page's "15 seconds"), and
  rejected if more than ``future_tolerance_ms`` (5000) ahead; both -> HTTP 408, body code 414.
* Everstrike has no nonce, so an identical signed body from the same key within
  ``replay_window`` (15 min) is a replay -> HTTP 503 with the documented envelope.
* The form body must be ``application/x-www-form-urlencoded``; numbers are decimals (the docs'
  int32 typing is a doc error). Unknown fields (``leverage``, ``ks``, ``hidden``...) are ignored.
* ``/auth/order`` also takes ``time_in_force``, ``type``, ``trigger_price``, ``trigger_event`` and
  ``close_on_trigger`` like ``/auth/close``; ``/auth/cancel`` cancels trigger orders too;
  ``/auth/cancel/bulk`` with no ids cancels active (not untriggered) orders and accepts ids as
  ``ids``, ``ids[]`` or ``ids[n]``, repeated or comma-separated.
* Position ``size`` is signed; ``stats.size`` is unsigned; a flat position keeps its last
  ``direction``. Balances are in ``USD``. 200 replies carry ``msg: "null"`` as the docs' example.
* WS: ``sub``/``sub_pair`` are acknowledged with category ``subscribed`` and ``result``
  ``{"subscriptions": [...]}``; an ``index`` subscription also gets the current index at once.
  ``sub_pair`` subscribes the pair's seven public categories, each counting toward the 10; the
  ``subscriptions`` reply is the README's plain array of ``PAIR:category``. The 20 messages/s
  limit is enforced per connection with an ``error`` reply. Partial fills are announced as
  ``order_partially_completed`` (also before an IOC residual's ``order_cancelled``).
* ``/active_orders`` lists resting (ACTIVE, partly filled) orders only, never untriggered
  triggers (VENUES.md 2.9 #7); ``/triggers`` lists every trigger order with its status
  (UNTRIGGERED until it fires, then ACTIVE/COMPLETED, or CANCELLED). Both return full order
  objects, newest first.
* ``/auth/cancel`` on a resting order pushes ``order_cancelled``; on an untriggered trigger,
  ``trigger_cancelled`` (2.9 #6 assumed yes). ``result`` is the cancelled order object.
* ``GET /ticker`` is unwrapped (the official adapter reads ``response[pair]``) although its docs
  page shows the envelope; ``EverstrikeSettings.ticker_enveloped`` serves the documented form.
  No 24 h history is kept: open, high and low are the mark, changes and volumes zero.
* Fills (in orders and ``GET /fills``) carry the fills page's fields; every simulated fill
  takes liquidity, and commissions are in USD.
* ``/auth/order/bulk`` reads ``orders[i][field]`` form fields; a ``timestamp`` inside an order
  (the docs' example) is checked like the request's. The reply is ``{"orders": [...]}`` (what
  the official bot reads; the docs' example was not visible).
* ``POST /leverage`` checks ``x-signature`` only when sent (the docs' curl has none; the
  official adapter signs it without a timestamp), is never a replay, caps leverage at 100 and
  reflects it in the position's ``stats``.
* A trigger that fails on firing reads CANCELLED with ``msg`` in the order object, pushed as
  ``trigger_failed``. Forced 401/500 bodies (undocumented) are ``{"code":401|500,"msg":...,
  "result":null}``.

The parts: ``venue`` builds them around one market; ``rest`` (routing, GETs, the signed POSTs'
fault knobs), ``orders`` (the signed POST handlers), ``signing`` (key, signature, timestamp,
replays), ``wire`` (order, position and balance objects), ``ws`` (the WebSocket), ``replies``
(the envelope), ``forms`` (field parsing) and ``settings``.
"""

from typing import Final

from core.sim.contract import SimulatedVenue
from core.sim.everstrike.settings import EverstrikeAccount, EverstrikeSettings
from core.sim.everstrike.venue import EverstrikeInfo, EverstrikeVenue

__all__ = ["SIMULATED_VENUE", "EverstrikeAccount", "EverstrikeInfo", "EverstrikeSettings",
           "EverstrikeVenue"]

SIMULATED_VENUE: Final[type[SimulatedVenue]] = EverstrikeVenue
