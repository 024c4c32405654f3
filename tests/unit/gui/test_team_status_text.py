"""The words of the status bar's team line and of its tooltip (pure functions of a LinkState):
what each phase says, the backlog counted, the database's place without its password, the
leases held listed and capped; and the lines told on a transition and at quit."""

from __future__ import annotations

from core.model import PositionKey
from core.team.link import LinkBack, LinkDown, LinkPhase, LinkState
from core.venues.qfex import QFEX
from gui.controllers.quitting import quit_question, team_waiting_line
from gui.controllers.team_status import back_text, down_text, left_text
from gui.widgets.team_status import LEASES_LISTED, database_place, indicator_text, tooltip_text

ADDRESS = "postgresql://closeout_app@db.desk.internal:6543/closeout?sslmode=verify-full"
AAPL = PositionKey("client-7", QFEX, "AAPL-USD")


def test_the_line_says_shared_catching_up_connecting_or_unreachable() -> None:
    assert indicator_text(LinkState(LinkPhase.UP, 9, 9, None), "Desk 3") == (
        "Team · Desk 3 · shared", "good")
    assert indicator_text(LinkState(LinkPhase.UP, 9, 21, None), "Desk 3") == (
        "Team · 12 records waiting", "info")
    assert indicator_text(LinkState(LinkPhase.UP, 9, 10, None), "Desk 3") == (
        "Team · 1 record waiting", "info")
    assert indicator_text(LinkState(LinkPhase.STARTING, 0, 0, None), "Desk 3") == (
        "Team · Desk 3 · connecting…", "info")
    assert indicator_text(LinkState(LinkPhase.DOWN, 10, 1_050, "refused"), "Desk 3") == (
        "Team database unreachable · 1,040 records waiting locally · closes need an override",
        "bad")
    assert indicator_text(LinkState(LinkPhase.DOWN, 10, 10, "refused"), "Desk 3") == (
        "Team database unreachable · closes need an override", "bad")


def test_the_place_of_the_database_never_carries_a_password() -> None:
    assert database_place(ADDRESS) == (
        "db.desk.internal:6543, database closeout, user closeout_app, sslmode verify-full")
    placed = database_place("postgresql://app:hunter2@127.0.0.1/closeout?password=hunter3")
    assert "hunter" not in placed and placed == "127.0.0.1:5432, database closeout, user app"


def test_the_tooltip_gives_the_facts_a_support_engineer_asks_for() -> None:
    state = LinkState(LinkPhase.DOWN, 1_200, 1_240, "OperationalError: connection refused",
                      held=(AAPL,))
    tip = tooltip_text(state, address=ADDRESS, desk_id="desk-5e1f", desk_name="Desk 3",
                       since=None)
    lines = tip.splitlines()
    assert lines[0] == ("Team database: db.desk.internal:6543, database closeout, user "
                        "closeout_app, sslmode verify-full")
    assert lines[1] == "This desk: Desk 3 (id desk-5e1f)"
    assert lines[2].startswith("Unreachable: closes are refused unless overridden")
    assert lines[3] == "Last record stored: 1,200 · newest local: 1,240 · 40 records waiting"
    assert lines[4] == "Last error: OperationalError: connection refused"
    assert lines[5:] == ["Leases held now: 1", "  • AAPL-USD on client-7 (QFEX)"]


def test_the_tooltip_says_since_when_and_caps_the_leases_listed() -> None:
    held = tuple(PositionKey("client-7", QFEX, f"S{i}-USD") for i in range(LEASES_LISTED + 3))
    tip = tooltip_text(LinkState(LinkPhase.UP, 5, 5, None, held=held), address=ADDRESS,
                       desk_id="d", desk_name="Desk 3", since=0.0)
    assert "Reachable: closes take a lease; records are shared (since " in tip
    assert "none waiting" in tip and "Last error" not in tip
    assert f"Leases held now: {LEASES_LISTED + 3}" in tip
    assert tip.count("  • S") == LEASES_LISTED and tip.endswith("  • … and 3 more")
    none = tooltip_text(LinkState(LinkPhase.UP, 5, 5, None), address=ADDRESS, desk_id="d",
                        desk_name="Desk 3", since=None)
    assert none.endswith("Leases held now: none") and "(since" not in none


def test_the_lines_told_on_a_transition_and_at_quit() -> None:
    assert down_text(LinkDown(1.0, 40, "x")) == (
        "Team database unreachable: closes are refused unless overridden; records wait "
        "locally (40 records waiting)")
    assert down_text(LinkDown(1.0, 0, None)).endswith("records wait locally")
    assert back_text(LinkBack(2.0, 40)) == "Team database back: 40 records sent"
    assert left_text(3).startswith("3 records of this desk did not reach the team database")


def test_the_quit_question_counts_the_records_left_only_when_some_are() -> None:
    assert team_waiting_line(0) == ""
    assert team_waiting_line(1).startswith("1 record of this desk has not reached")
    assert "up to 5 s" in team_waiting_line(12, 5.0)
    assert quit_question([]).endswith("They stay working after Closeout quits. Quit anyway?")
    asked = quit_question([], 12)
    assert "12 records of this desk have not reached the team database yet" in asked
    assert asked.endswith("next start.\n\nQuit anyway?")
