"""The secrets scan (issue 4): configure one account per venue with a known secret, test the
connections, run a desk with a real journal that closes positions every way there is, export
the journal, and then look for the secret in every byte the app wrote and every log record.

It must appear nowhere. The scan is checked against itself first (it finds a planted secret,
in each encoding it looks for), and the journal is checked to hold the closes, so a pass is
never vacuous.
"""

from __future__ import annotations

import base64
import io
import json
import logging
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import pytest

from core.accounts import credentials_for
from core.accounts import test_connection as run_test_connection
from core.desk import Desk, IntentState
from core.journal import Journal, JournalFilter, default_journal_path
from core.model import (
    CloseRequest,
    Environment,
    PositionKey,
    PositionSide,
    TimeInForce,
    Trigger,
    TriggerEvent,
    WorkingKind,
    WorkingOrder,
)
from core.secrets import SecretStore
from core.settings import Preferences, Settings, load_settings, save_settings, settings_path
from core.sim import Simulator
from core.venue import AccountConfig, redact
from core.venues.everstrike import EVERSTRIKE
from core.venues.qfex import QFEX
from tests.helpers.keyrings import MemoryKeyring
from tests.helpers.polling import market_data, until

D = Decimal
QFEX_POSITIONS = [
    ("AAPL-USD", D(40), D(220)),  # full close at market
    ("TSLA-USD", D(-12), D(351)),  # partial close at market
    ("NVDA-USD", D(40), D(175)),  # limit close far from the mark, then cancelled
    ("MSFT-USD", D(-6), D(498)),  # trigger close, left working
]
ES_POSITIONS = [
    ("USD_ETH_PERP", D("-3.5"), D(4400)),  # full close at market
    ("USD_SOL_PERP", D(120), D(190)),  # partial at market, then a trigger on the rest
    ("USD_BTC_PERP", D("0.5"), D(110000)),  # limit close far from the mark, then cancelled
]


def _forms(secret: str) -> dict[str, bytes]:
    """The secret as it could leak: verbatim, or encoded the ways a careless log would."""
    raw = secret.encode()
    return {
        "raw": raw,
        "utf-16": secret.encode("utf-16-le"),
        "hex": raw.hex().encode(),
        "base64": base64.b64encode(raw).rstrip(b"="),
        "base64url": base64.urlsafe_b64encode(raw).rstrip(b"="),
        "json-escaped": json.dumps(secret).encode()[1:-1],
    }


def _files(root: Path) -> Iterator[Path]:
    for path in sorted(root.rglob("*")):
        if path.is_file() and not path.is_symlink():
            yield path


def scan_files(root: Path, secret: str) -> list[str]:
    """Every (file, encoding) under ``root`` holding ``secret``."""
    found = []
    forms = _forms(secret)
    for path in _files(root):
        data = path.read_bytes()
        found += [f"{path.relative_to(root)} ({name})" for name, form in forms.items()
                  if form in data]
    return found


def scan_records(records: list[logging.LogRecord], secret: str) -> list[str]:
    """Every log record whose message, arguments, exception or stack text holds ``secret``."""
    formatter = logging.Formatter()
    forms = [f.decode("utf-8", "replace") for f in _forms(secret).values()]
    found = []
    for record in records:
        parts = [record.getMessage(), repr(record.msg), repr(record.args)]
        if record.exc_info:
            parts.append(formatter.formatException(record.exc_info))
        if record.exc_text:
            parts.append(record.exc_text)
        if record.stack_info:
            parts.append(record.stack_info)
        parts += [repr(v) for k, v in vars(record).items() if k not in _STANDARD_ATTRS]
        text = "\n".join(parts)
        found += [f"{record.name}:{record.lineno} {record.getMessage()[:80]!r}"
                  for form in forms if form in text]
    return found


_STANDARD_ATTRS = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {
    "message", "asctime"}


class Everything(logging.Handler):
    """Keeps every record at every level, as a DEBUG log file would."""

    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh XDG tree for this test alone: everything the app writes lands in here."""
    root = tmp_path / "home"
    for var, sub in (("XDG_CONFIG_HOME", "config"), ("XDG_DATA_HOME", "data"),
                     ("XDG_STATE_HOME", "state"), ("XDG_CACHE_HOME", "cache")):
        monkeypatch.setenv(var, str(root / sub))
    monkeypatch.setenv("HOME", str(root))
    return root


@pytest.fixture
def logs(home: Path, caplog: pytest.LogCaptureFixture) -> Iterator[Everything]:
    """All records at DEBUG, kept in memory and written to a log file under the tree."""
    caplog.set_level(logging.DEBUG)
    keep = Everything()
    log_dir = home / "state" / "closeout"
    log_dir.mkdir(parents=True)
    to_file = logging.FileHandler(log_dir / "closeout.log", encoding="utf-8")
    to_file.setLevel(logging.DEBUG)
    to_file.setFormatter(logging.Formatter(
        "%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.addHandler(keep)
    root.addHandler(to_file)
    try:
        yield keep
    finally:
        root.removeHandler(keep)
        root.removeHandler(to_file)
        to_file.close()


# ----------------------------------------------------------------------------- the scanner
def test_the_scanner_finds_a_planted_secret_in_every_form(tmp_path: Path) -> None:
    secret = "planted-" + secrets.token_hex(8)
    for name, form in _forms(secret).items():
        (tmp_path / f"{name}.bin").write_bytes(b"prefix " + form + b" suffix")
    (tmp_path / "clean.txt").write_text("nothing here")
    found = scan_files(tmp_path, secret)
    assert {f.split(" ")[0] for f in found} == {f"{name}.bin" for name in _forms(secret)}
    assert all(f"{name}.bin ({name})" in found for name in _forms(secret))
    record = logging.LogRecord("x", logging.DEBUG, __file__, 1, "key %s", (secret,), None)
    assert scan_records([record], secret) != []
    assert scan_records([logging.LogRecord("x", logging.DEBUG, __file__, 1, "clean", None,
                                           None)], secret) == []


# ----------------------------------------------------------------------------- the session
@dataclass
class Session:
    sim: Simulator
    secrets: dict[str, str]
    public_keys: dict[str, str]
    journal_path: Path
    exports: list[Path]


async def _close(desk: Desk, request: CloseRequest) -> None:
    intent = await desk.close(request, allow_concurrent=True)
    await intent.settled(timeout=10)
    assert intent.state in (IntentState.FILLED, IntentState.PARTIAL, IntentState.RESTING), \
        intent.message


async def _working(desk: Desk, account: str, symbol: str, kind: WorkingKind) -> WorkingOrder:
    def find() -> WorkingOrder | None:
        return next((o for o in desk.working_orders.values()
                     if o.account == account and o.symbol == symbol and o.kind is kind), None)

    await until(lambda: find() is not None, what=f"a working {kind} on {account} {symbol}")
    order = find()
    assert order is not None
    return order


async def _run_session(sim: Simulator, home: Path, memory_keyring: MemoryKeyring) -> Session:
    known = {"scan-q": "qfex-scan-secret-" + secrets.token_hex(16),
             "scan-e": "es-scan-secret-" + secrets.token_hex(16)}
    public = {"scan-q": "qfex_pub_scan_" + secrets.token_hex(8),
              "scan-e": "es_key_scan_" + secrets.token_hex(8)}

    def register() -> None:
        sim.qfex.add_account("scan-q", QFEX_POSITIONS, public_key=public["scan-q"],
                             secret_key=known["scan-q"])
        sim.everstrike.add_account("scan-e", ES_POSITIONS, api_key=public["scan-e"],
                                   secret_key=known["scan-e"])

    sim.call(register)
    q, e = sim.info.qfex, sim.info.everstrike

    # The Accounts dialog: settings to disk, secrets to the keyring, each connection tested.
    accounts = [
        AccountConfig("scan-q", QFEX, Environment.TESTNET, public["scan-q"],
                      {"trade_ws": q.trade_ws, "mds_ws": q.mds_ws, "rest": q.rest},
                      {"rate_budget": "12000"}),
        AccountConfig("scan-e", EVERSTRIKE, Environment.TESTNET, public["scan-e"],
                      {"rest": e.rest, "ws": e.ws}, {"recv_window": "5000"}),
    ]
    save_settings(Settings(accounts=accounts,
                           preferences=Preferences(operator_name="Scan Desk")))
    store = SecretStore()
    for name, secret in known.items():
        assert store.set(name, secret) is True
    assert set(memory_keyring.store.values()) == set(known.values())
    for account in accounts:
        creds = credentials_for(account, store)
        assert creds is not None
        report = await run_test_connection(account, creds)
        assert report.ok, report.message

    # The app starting: settings and secrets read back, a journal, a desk.
    settings = load_settings()
    store = SecretStore()
    pairs = []
    for account in settings.accounts:
        creds = credentials_for(account, store)
        assert creds is not None
        pairs.append((account, creds))
    journal_path = default_journal_path(demo=False)
    journal = Journal(journal_path, operator_name=settings.preferences.operator_name)
    desk = Desk(journal=journal)
    try:
        assert await desk.start(pairs) == []
        await market_data(desk)
        kq = {s: PositionKey("scan-q", QFEX, s) for s, _, _ in QFEX_POSITIONS}
        ke = {s: PositionKey("scan-e", EVERSTRIKE, s) for s, _, _ in ES_POSITIONS}
        # QFEX: full, partial, limit (then cancel), trigger.
        await _close(desk, CloseRequest(kq["AAPL-USD"], PositionSide.LONG, D(40),
                                        reason="TICKET-1 full"))
        await _close(desk, CloseRequest(kq["TSLA-USD"], PositionSide.SHORT, D(12),
                                        quantity=D(5), reason="TICKET-2 partial"))
        await _close(desk, CloseRequest(kq["NVDA-USD"], PositionSide.LONG, D(40),
                                        quantity=D(10), limit_price=D(1000),
                                        time_in_force=TimeInForce.GTC, reason="TICKET-3"))
        await desk.cancel(await _working(desk, "scan-q", "NVDA-USD", WorkingKind.LIMIT),
                          reason="TICKET-3 cancel")
        mark = desk.mark(QFEX, "MSFT-USD")
        assert mark is not None
        await _close(desk, CloseRequest(kq["MSFT-USD"], PositionSide.SHORT, D(6),
                                        quantity=D(2), trigger=Trigger(mark.mark + 50),
                                        reason="TICKET-4 trigger"))
        await _working(desk, "scan-q", "MSFT-USD", WorkingKind.TRIGGER)
        # Everstrike: full, partial, limit (then cancel), trigger.
        await _close(desk, CloseRequest(ke["USD_ETH_PERP"], PositionSide.SHORT, D("3.5"),
                                        reason="TICKET-5 full"))
        await _close(desk, CloseRequest(ke["USD_SOL_PERP"], PositionSide.LONG, D(120),
                                        quantity=D(20), reason="TICKET-6 partial"))
        await _close(desk, CloseRequest(ke["USD_BTC_PERP"], PositionSide.LONG, D("0.5"),
                                        limit_price=D(200000), reason="TICKET-7"))
        await desk.cancel(await _working(desk, "scan-e", "USD_BTC_PERP", WorkingKind.LIMIT),
                          reason="TICKET-7 cancel")
        await until(lambda: desk.positions[ke["USD_SOL_PERP"]].quantity == D(100),
                    what="the partial Everstrike close in the book")
        await _close(desk, CloseRequest(ke["USD_SOL_PERP"], PositionSide.LONG, D(100),
                                        quantity=D(30),
                                        trigger=Trigger(D(150), TriggerEvent.MARK),
                                        reason="TICKET-8 trigger"))
        await _working(desk, "scan-e", "USD_SOL_PERP", WorkingKind.TRIGGER)
    finally:
        await desk.stop()

    # Exports, the way the History view and `closeout journal export` write them.
    export_dir = home / "exports"
    export_dir.mkdir()
    exports = []
    for fmt in ("jsonl", "csv"):
        buffer = io.StringIO()
        assert journal.export(JournalFilter(), fmt, buffer) > 0
        out = export_dir / f"journal.{fmt}"
        out.write_text(buffer.getvalue(), encoding="utf-8")
        exports.append(out)
    journal.close()
    return Session(sim, known, public, journal_path, exports)


@pytest.mark.asyncio
async def test_no_secret_in_any_file_or_log_record(
    bare_sim: Simulator, home: Path, logs: Everything, caplog: pytest.LogCaptureFixture,
    memory_keyring: MemoryKeyring,
) -> None:
    run = await _run_session(bare_sim, home, memory_keyring)

    # Not vacuous: the files exist, the journal holds every close and cancel, and logging ran.
    written = {str(p.relative_to(home)) for p in _files(home)}
    assert str(settings_path().relative_to(home)) in written
    assert {str(run.journal_path.relative_to(home)), "exports/journal.jsonl",
            "exports/journal.csv", "state/closeout/closeout.log"} <= written
    journal = Journal(run.journal_path, read_only=True)
    try:
        records = list(journal.iter_all())
    finally:
        journal.close()
    reasons = {r.reason for r in records if r.kind == "intent"}
    assert {f"TICKET-{n}" for n in (3, 7)} <= reasons
    assert {"TICKET-1 full", "TICKET-2 partial", "TICKET-4 trigger", "TICKET-5 full",
            "TICKET-6 partial", "TICKET-8 trigger"} <= reasons
    assert sum(r.kind == "cancel_result" for r in records) == 2
    for account in ("scan-q", "scan-e"):  # four closes and one cancel went on the wire
        assert sum(r.kind == "request" and r.account == account for r in records) == 5
    filled = {r.account for r in records
              if r.kind == "order_update" and json.loads(r.payload)["status"] == "FILLED"}
    assert filled == {"scan-q", "scan-e"}
    assert all(r.operator.endswith("(Scan Desk)") for r in records)
    assert len(logs.records) > 50 and caplog.records

    # The scan proper.
    for name, secret in run.secrets.items():
        assert scan_files(home, secret) == [], f"{name}'s secret was written to disk"
        assert scan_records(logs.records, secret) == [], f"{name}'s secret was logged"
        assert scan_records(caplog.records, secret) == [], f"{name}'s secret was logged"
        assert secret not in caplog.text

    # Public keys: in the settings file (that is where they live), never whole in the journal.
    journal_files = [p for p in _files(home)
                     if p.name.startswith(run.journal_path.name) or p.parent.name == "exports"]
    assert len(journal_files) >= 3  # the database, its WAL, and the exports at least
    for name, key in run.public_keys.items():
        assert key in settings_path().read_text()
        for path in journal_files:
            assert key.encode() not in path.read_bytes(), f"{name}'s public key in {path.name}"
        payloads = "\n".join(r.payload for r in records)
        assert key not in payloads
    everstrike_requests = [r.payload for r in records
                           if r.kind == "request" and r.account == "scan-e"]
    assert everstrike_requests and all(redact(run.public_keys["scan-e"]) in p
                                       for p in everstrike_requests)
