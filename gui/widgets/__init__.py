"""Small widgets: the painted-button delegates (delegates), the table views (views), the
environment chip (env), the connection badges (connection) and the health strip (health)."""

from core.desk.freshness import silence_limit
from gui.widgets.connection import SKEW_NOTABLE_MS, ConnectionBadge, ConnectionStrip, fmt_clock
from gui.widgets.delegates import (
    ButtonDelegate,
    CancelButtonDelegate,
    CloseButtonDelegate,
    button_rect,
    residual_button_rect,
)
from gui.widgets.env import EnvChip, EnvChipDelegate
from gui.widgets.health import (
    HEADROOM_AMBER,
    HEADROOM_RED,
    RTT_AMBER_MS,
    RTT_RED_MS,
    SILENCE_RED_FACTOR,
    SKEW_AMBER_MS,
    SKEW_RED_MS,
    HealthFigure,
    HealthPanel,
    HealthStrip,
    fmt_age,
    fmt_skew,
    health_figures,
)
from gui.widgets.views import LogView, PositionsView, WorkingOrdersView

__all__ = [
    "HEADROOM_AMBER",
    "HEADROOM_RED",
    "RTT_AMBER_MS",
    "RTT_RED_MS",
    "SILENCE_RED_FACTOR",
    "SKEW_AMBER_MS",
    "SKEW_NOTABLE_MS",
    "SKEW_RED_MS",
    "ButtonDelegate",
    "CancelButtonDelegate",
    "CloseButtonDelegate",
    "ConnectionBadge",
    "ConnectionStrip",
    "EnvChip",
    "EnvChipDelegate",
    "HealthFigure",
    "HealthPanel",
    "HealthStrip",
    "LogView",
    "PositionsView",
    "WorkingOrdersView",
    "button_rect",
    "fmt_age",
    "fmt_clock",
    "fmt_skew",
    "health_figures",
    "residual_button_rect",
    "silence_limit",
]
