"""Which desk events raise an alert, once each, as the ``[alerts]`` settings allow."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

import pytest

from core.alerts import Alert, AlertKind, AlertRules, enabled, flatten_group
from core.desk import CloseIntent, IntentChanged, IntentState
from core.model import (
    CloseRequest,
    ConnectionEvent,
    ConnectionState,
    OrderStatus,
    OrderUpdate,
    PositionKey,
    PositionSide,
    Trigger,
)
from core.settings import Alerts
from core.venues.everstrike import EVERSTRIKE
from core.venues.qfex import QFEX

D = Decimal
AAPL = PositionKey("desk-q", QFEX, "AAPL-USD")
ETH = PositionKey("desk-e", EVERSTRIKE, "USD_ETH_PERP")


def intent(key: PositionKey = AAPL, *, quantity: str | None = None, reason: str | None = None,
           trigger: str | None = None, id: str = "i-1") -> CloseIntent:
    request = CloseRequest(key, PositionSide.LONG, D("25"),
                           quantity=None if quantity is None else D(quantity),
                           trigger=None if trigger is None else Trigger(D(trigger)),
                           reason=reason)
    return CloseIntent(id=id, request=request)


def update(status: OrderStatus, key: PositionKey = AAPL) -> OrderUpdate:
    return OrderUpdate(key.venue, key.account, key.symbol, status, status.value, final=False)


def connection(state: ConnectionState, account: str = "desk-q",
               message: str = "") -> ConnectionEvent:
    return ConnectionEvent(QFEX, account, state, message)


def kinds(alerts: list[Alert]) -> list[AlertKind]:
    return [a.kind for a in alerts]


# ---------------------------------------------------------------------------- closes
def test_a_full_close_alerts_once_when_verified_flat_not_when_the_venue_says_filled() -> None:
    rules = AlertRules()
    i = intent()
    assert rules.on_event(IntentChanged(i)) == []  # sending
    i.state, i.filled = IntentState.FILLED, D("25")
    assert rules.on_event(IntentChanged(i)) == []  # filled, flat not verified yet
    i.verified_flat = True
    [alert] = rules.on_event(IntentChanged(i))
    assert alert == Alert(AlertKind.CLOSE_FILLED, "Closed: AAPL-USD",
                          "Close of AAPL-USD on desk-q filled: 25 closed, verified flat.")
    # The desk announces the same intent again (another update, a check): said once.
    assert rules.on_event(IntentChanged(i)) == []
    assert rules.on_intent(i) == []


def test_a_partial_quantity_close_alerts_with_its_filled_size_at_once() -> None:
    rules = AlertRules()
    i = intent(quantity="10")
    i.state, i.filled = IntentState.FILLED, D("10")
    [alert] = rules.on_intent(i)
    assert alert.kind is AlertKind.CLOSE_FILLED
    assert alert.text == "Close of 10 AAPL-USD on desk-q filled: 10 closed."


def test_a_close_reconciled_filled_is_announced_without_a_flat_check() -> None:
    rules = AlertRules()
    i = intent()
    i.state, i.raw_status, i.filled = IntentState.FILLED, "RECONCILED", D("25")
    [alert] = rules.on_intent(i)
    assert alert.text == ("Close of AAPL-USD on desk-q filled: 25 closed, reconciled from the "
                          "venue's positions.")


def test_a_failed_flat_check_is_its_own_alert_and_never_a_filled_one() -> None:
    rules = AlertRules()
    i = intent()
    i.state = IntentState.FILLED
    i.verified_flat = False
    i.message = "Mismatch: the venue reported the close filled, but it still shows 3 open"
    [alert] = rules.on_intent(i)
    assert alert.kind is AlertKind.FLAT_CHECK_FAILED
    assert alert.title == "Not flat: AAPL-USD"
    assert alert.text == f"AAPL-USD on desk-q: {i.message}"
    assert rules.on_intent(i) == []


def test_a_residual_is_a_failed_flat_check_with_the_figures() -> None:
    rules = AlertRules()
    i = intent()
    i.state, i.filled = IntentState.PARTIAL, D("20")
    [alert] = rules.on_intent(i)
    assert alert.kind is AlertKind.FLAT_CHECK_FAILED
    assert alert.text == ("Close of AAPL-USD on desk-q partly filled: 20 of 25 closed; the rest "
                          "is still open.")


def test_a_rejection_alerts_once_with_the_reason() -> None:
    rules = AlertRules()
    i = intent(ETH)
    i.state, i.message = IntentState.REJECTED, "Insufficient margin"
    [alert] = rules.on_intent(i)
    assert alert == Alert(AlertKind.ORDER_REJECTED, "Rejected: USD_ETH_PERP",
                          "Close of USD_ETH_PERP on desk-e rejected: Insufficient margin")
    assert rules.on_intent(i) == []


@pytest.mark.parametrize("state", [IntentState.SENDING, IntentState.ACKNOWLEDGED,
                                   IntentState.RESTING, IntentState.CANCELLED,
                                   IntentState.UNKNOWN])
def test_states_that_end_nothing_raise_nothing(state: IntentState) -> None:
    i = intent()
    i.state = state
    assert AlertRules().on_intent(i) == []


def test_a_trigger_fires_once_whether_the_venue_says_triggered_or_it_fills_after_resting(
) -> None:
    rules = AlertRules()
    # Everstrike says "triggered".
    e = intent(ETH, trigger="2500", id="e")
    e.updates.append(update(OrderStatus.TRIGGER_ACK, ETH))
    e.state = IntentState.RESTING
    assert rules.on_intent(e) == []  # resting: not fired
    e.updates.append(update(OrderStatus.TRIGGERED, ETH))
    e.state = IntentState.ACKNOWLEDGED
    [alert] = rules.on_intent(e)
    assert alert == Alert(AlertKind.TRIGGER_FIRED, "Trigger fired: USD_ETH_PERP",
                          "The trigger close of USD_ETH_PERP on desk-e fired at 2500.")
    # QFEX: the resting stop is filled; the fill is its own alert once flat is verified.
    q = intent(trigger="180", id="q")
    q.updates.append(update(OrderStatus.TRIGGER_ACK))
    q.state = IntentState.RESTING
    assert rules.on_intent(q) == []
    q.updates.append(update(OrderStatus.FILLED))
    q.state, q.verified_flat = IntentState.FILLED, True
    assert kinds(rules.on_intent(q)) == [AlertKind.TRIGGER_FIRED, AlertKind.CLOSE_FILLED]
    assert rules.on_intent(q) == [] and rules.on_intent(e) == []


def test_a_trigger_cancelled_before_it_fired_raises_nothing() -> None:
    i = intent(trigger="180")
    i.updates.append(update(OrderStatus.TRIGGER_ACK))
    i.state = IntentState.CANCELLED
    assert AlertRules().on_intent(i) == []


def test_closes_of_a_flatten_carry_its_plan_id() -> None:
    i = intent(reason="flatten fp-20261204-153000-abc123 (retry of fp-1): end of day")
    i.state = IntentState.REJECTED
    [alert] = AlertRules().on_intent(i)
    assert alert.group == "fp-20261204-153000-abc123"
    assert flatten_group("flatten fp-2: why") == "fp-2"
    assert flatten_group("flatten fp-3") == "fp-3"
    assert flatten_group("closing before the flatten") is None
    assert flatten_group(None) is None


# ---------------------------------------------------------------------------- connections
def test_a_drop_alerts_once_and_the_return_is_quiet() -> None:
    rules = AlertRules()
    assert rules.on_event(connection(ConnectionState.CONNECTING)) == []
    assert rules.on_event(connection(ConnectionState.CONNECTED)) == []  # first connect
    [lost] = rules.on_event(connection(ConnectionState.DISCONNECTED, message="socket closed"))
    assert lost.kind is AlertKind.CONNECTION_LOST and not lost.quiet
    assert lost.title == "Connection lost: desk-q"
    assert lost.text.startswith("QFEX account desk-q disconnected: socket closed.")
    # Reconnect attempts that fail again are not new drops.
    for state in (ConnectionState.CONNECTING, ConnectionState.DISCONNECTED,
                  ConnectionState.CONNECTING, ConnectionState.FAILED):
        assert rules.on_event(connection(state)) == []
    [back] = rules.on_event(connection(ConnectionState.CONNECTED))
    assert back == Alert(AlertKind.CONNECTION_RESTORED, "Connection restored: desk-q",
                         "QFEX account desk-q is connected again.", quiet=True)
    assert rules.on_event(connection(ConnectionState.CONNECTED)) == []


def test_an_account_that_never_connected_raises_no_drop() -> None:
    rules = AlertRules()
    assert rules.on_event(connection(ConnectionState.CONNECTING)) == []
    assert rules.on_event(connection(ConnectionState.FAILED, message="bad key")) == []


def test_a_state_known_from_before_counts_as_up() -> None:
    rules = AlertRules()
    rules.know("desk-q", ConnectionState.CONNECTED)
    assert kinds(rules.on_event(connection(ConnectionState.DISCONNECTED))) == [
        AlertKind.CONNECTION_LOST]


def test_accounts_are_followed_separately() -> None:
    rules = AlertRules()
    for account in ("a", "b"):
        rules.on_event(connection(ConnectionState.CONNECTED, account))
    assert kinds(rules.on_event(connection(ConnectionState.DISCONNECTED, "a"))) == [
        AlertKind.CONNECTION_LOST]
    assert rules.on_event(connection(ConnectionState.CONNECTED, "b")) == []
    assert kinds(rules.on_event(connection(ConnectionState.DISCONNECTED, "b"))) == [
        AlertKind.CONNECTION_LOST]


# ---------------------------------------------------------------------------- settings
def every_kind(rules: AlertRules) -> list[Alert]:
    """One event of every kind, through ``rules``."""
    out: list[Alert] = []
    filled = intent(id="f")
    filled.state, filled.verified_flat = IntentState.FILLED, True
    rejected = intent(id="r")
    rejected.state, rejected.message = IntentState.REJECTED, "no"
    partial = intent(id="p")
    partial.state = IntentState.PARTIAL
    fired = intent(id="t", trigger="1")
    fired.updates.append(update(OrderStatus.TRIGGERED))
    fired.state = IntentState.ACKNOWLEDGED
    for i in (filled, rejected, partial, fired):
        out += rules.on_intent(i)
    for state in (ConnectionState.CONNECTED, ConnectionState.DISCONNECTED,
                  ConnectionState.CONNECTED):
        out += rules.on_event(connection(state))
    return out


def test_every_kind_is_on_by_default_without_sound() -> None:
    alerts = every_kind(AlertRules())
    assert kinds(alerts) == [AlertKind.CLOSE_FILLED, AlertKind.ORDER_REJECTED,
                             AlertKind.FLAT_CHECK_FAILED, AlertKind.TRIGGER_FIRED,
                             AlertKind.CONNECTION_LOST, AlertKind.CONNECTION_RESTORED]
    assert not any(a.sound for a in alerts)


@pytest.mark.parametrize(("field", "gone"), [
    ("close_filled", {AlertKind.CLOSE_FILLED}),
    ("trigger_fired", {AlertKind.TRIGGER_FIRED}),
    ("order_rejected", {AlertKind.ORDER_REJECTED}),
    ("connection_lost", {AlertKind.CONNECTION_LOST, AlertKind.CONNECTION_RESTORED}),
    ("flat_check_failed", {AlertKind.FLAT_CHECK_FAILED}),
])
def test_a_kind_turned_off_is_not_raised_and_the_others_are(field: str,
                                                             gone: set[AlertKind]) -> None:
    settings = replace(Alerts(), **{field: False})
    everything = set(kinds(every_kind(AlertRules())))
    assert set(kinds(every_kind(AlertRules(settings)))) == everything - gone
    for kind in AlertKind:
        assert enabled(kind, settings) is (kind not in gone)


def test_sound_is_asked_for_every_alert_but_a_quiet_one() -> None:
    alerts = every_kind(AlertRules(Alerts(sound=True)))
    assert [a.sound for a in alerts] == [True, True, True, True, True, False]
    assert [a.quiet for a in alerts] == [False] * 5 + [True]


def test_settings_changed_later_apply_to_the_next_event() -> None:
    rules = AlertRules()
    rules.settings = Alerts(order_rejected=False)
    i = intent()
    i.state = IntentState.REJECTED
    assert rules.on_intent(i) == []
    rules.settings = Alerts()
    assert rules.on_intent(i) == []  # that rejection was decided on already, not held back
