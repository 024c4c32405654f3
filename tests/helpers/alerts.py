"""A notifier that keeps the window's alerts instead of showing them."""

from __future__ import annotations

from core.alerts import Alert, AlertKind

__all__ = ["RecordingNotifier"]


class RecordingNotifier:
    def __init__(self) -> None:
        self.alerts: list[Alert] = []

    def notify(self, alert: Alert) -> None:
        self.alerts.append(alert)

    def kinds(self) -> list[AlertKind]:
        return [a.kind for a in self.alerts]
