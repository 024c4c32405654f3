"""The health strip's round trip is the wire time, and a connection's first round trips are
shown but not judged: no amber for a first sample taken while everything was starting."""

from __future__ import annotations

import pytest

from core.model import SessionHealth
from gui.widgets.health import RTT_AMBER_MS, RTT_SETTLED_SAMPLES
from tests.gui.test_window_fake_desk import BETA, Rig, rig  # noqa: F401


@pytest.mark.asyncio
async def test_the_first_round_trips_are_not_coloured(rig: Rig) -> None:  # noqa: F811
    w = rig.window
    session = rig.sessions[BETA]
    now = rig.clock.now

    def show(rtt_ms: float, samples: int) -> tuple[str, str, str, str]:
        session.health_now = SessionHealth(connected=True, last_message_at=now, rtt_ms=rtt_ms,
                                           keepalive_s=30.0, rtt_samples=samples)
        w.refresh_health()
        panel = w.healthStrip.panels[BETA]
        label = panel.labels["rtt"]
        return label.text(), str(label.property("tone") or ""), panel.tone, label.toolTip()

    slow_start = RTT_AMBER_MS + 80  # a first trip slowed by the connection's start
    text, tone, panel_tone, tip = show(slow_start, 1)
    assert text == f"RTT {slow_start:.0f} ms"  # shown as measured
    assert tone == "" and panel_tone != "warn"  # but not amber, and not the panel's tone
    assert f"Not coloured until {RTT_SETTLED_SAMPLES} round trips" in tip
    assert "on the wire" in tip and "app's own delays are not in it" in tip

    text, tone, _, _ = show(20.0, RTT_SETTLED_SAMPLES)
    assert (text, tone) == ("RTT 20 ms", "good")
    _, tone, panel_tone, tip = show(slow_start, RTT_SETTLED_SAMPLES + 1)
    assert tone == "warn" and panel_tone == "warn"  # a settled figure is judged as before
    assert "amber from 500 ms" in tip
