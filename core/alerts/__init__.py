"""Desktop alerts, decided without Qt: which desk events deserve one (``rules``) and how many
reach the user during a burst (``limiter``). The window only shows what these return."""

from core.alerts.kinds import Alert, AlertKind, enabled
from core.alerts.limiter import AlertLimiter
from core.alerts.rules import AlertRules, flatten_group

__all__ = ["Alert", "AlertKind", "AlertLimiter", "AlertRules", "enabled", "flatten_group"]
