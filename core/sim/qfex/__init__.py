"""Simulated QFEX: trade WebSocket, market-data WebSocket and REST on one loopback server.

Written from the venue documentation (VENUES.md section 1 and docs/seeds/qfex-close-position.md),
never from our client code, so a client bug cannot be mirrored here. Paths:

* ``/``      trade WS (``?api_key=`` and the ``x-qfex-*`` handshake headers are accepted and
             ignored; the ``auth`` message is what authenticates)
* ``/mds``   market-data WS (public)
* ``GET /user/positions`` (HMAC headers), ``GET /refdata[?ticker=]`` (public)

Assumptions where the documentation is silent (each also noted at its code):

* ``unix_ts`` may differ from the server clock by at most ``auth_window`` (30 s) either way.
* Nonces must be lower-case or upper-case hex, 1-100 chars; a nonce is remembered per public key
  for ``nonce_window`` (15 min, documented) once it authenticated successfully.
* A failed auth replies ``{"authenticated": false}`` and leaves the socket open.
* The ``x-qfex-*`` handshake headers are not verified (the CLI sends them *and* the auth message).
* ``close_position`` with no open position -> ``order_response`` status REJECTED, quantity 0.
* ``close_position`` is pegged at the touch (SELL at the bid, BUY at the ask).
* A FILLED ``order_response`` carries the fills' average price; ACK carries the limit price.
* A standalone TAKE_PROFIT/STOP_LOSS ``add_order`` is ACKed on ``order_responses`` (type = the
  stop type, price = trigger) and shown on ``stop_orders``; a trigger already on the wrong side
  of the mark is rejected with INVALID_TAKEPROFIT_PRICE / INVALID_STOPLOSS_PRICE.
* An ALO order that would cross is REJECTED.
* ``get_user_orders`` lists stops with ``order_id`` = ``stop_order_id`` (UNKNOWN #7).
* ``cancel_stop_order`` answers ``{"ack":{"incoming_message":...}}`` and sends nothing on
  ``stop_orders`` (the documented ``stop_order_response`` has no status field to say
  "cancelled"); the stop leaves ``get_user_orders``. A stop that fires or fails also just
  leaves. An unknown ``stop_order_id`` gets ``err`` InvalidOrder.
* ``cancel_order`` on a stop answers the caller CANCELLED with the stop's type and trigger.
* A rejected order's ``quantity_remaining`` equals its ``quantity`` (nothing was filled), and
  ``get_order`` on a rejected order's ``order_id`` returns the rejection again.
* Rate limit (off unless ``QfexSettings.rate_limit_budget`` is set): the documented weights,
  summed per user over a sliding ``rate_limit_window`` (the docs say "an EMA"), in two buckets
  (cancels; everything else) that each get the whole budget. ``close_position`` is not in the
  weight table: it weighs ``rate_limit_default_weight`` (1, like ``add_order``). A refused
  request is not executed, does not count, and gets ``err`` RateLimited whose message carries
  the hint as "Rate limit exceeded, retry after <N>ms" (format UNKNOWN, VENUES.md 1.11 #2).
* ``positions``/``balances`` also push a snapshot right after subscribing.
* ``fill_response.timestamp`` is epoch seconds (a JSON number, like ``update_time``).
* MDS ``subscribe`` gets no acknowledgement; unsupported channels get
  ``{"type":"error","message":...}``; ``mark_price`` and ``bbo`` send the current value on
  subscribe. ``bbo`` has one level a side: bid and ask around the mark, sized at the symbol's
  liquidity; ``trade`` is one message per fill with the fill's ``trade_id``, execution type T.
* ``quantity``, ``price``, ``take_profit`` and ``stop_loss`` sent as JSON strings get ``err``
  InvalidParameter: the schemas and the official CLI use numbers; the venue's own behaviour
  with strings is UNKNOWN.

The parts: ``venue`` builds them around one market; ``trade`` (the trade socket), ``orders``
(its order commands), ``wire`` (order bodies), ``positions`` (positions and balances),
``market_data`` (``/mds``), ``rest``, ``auth`` (HMAC, timestamps, nonces), ``limits`` (request
weights), ``session`` (open sockets), ``params``, ``settings`` and ``timing``.
"""

from typing import Final

from core.sim.contract import SimulatedVenue
from core.sim.qfex.settings import QfexAccount, QfexSettings
from core.sim.qfex.venue import QfexInfo, QfexVenue

__all__ = ["SIMULATED_VENUE", "QfexAccount", "QfexInfo", "QfexSettings", "QfexVenue"]

SIMULATED_VENUE: Final[type[SimulatedVenue]] = QfexVenue
