"""Which environment each account trades in, shown at all times: its rows' Env chip, its
badge, the LIVE / TESTNET / DEMO banners and the window title ("LIVE · DEMO — Closeout")."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from core.model import Environment
from gui.models.text import env_label

if TYPE_CHECKING:
    from gui.main_window import MainWindow

__all__ = ["APP_NAME", "TITLE_SEPARATOR", "Environments", "live_banner_text", "window_title"]

_ENV_ORDER = (Environment.LIVE, Environment.TESTNET, Environment.DEMO)


APP_NAME = "Closeout"
TITLE_SEPARATOR = " — "


def window_title(envs: Iterable[Environment], demo: bool = False) -> str:
    """"LIVE · DEMO — Closeout": every environment connected, the riskiest first.

    The app's name comes last because Qt (xcb, Windows) appends the application display name
    to every window title that does not already end with it; "Closeout — DEMO" was shown as
    "Closeout — DEMO — Closeout"."""
    present = set(envs)
    if not present and demo:
        present = {Environment.DEMO}
    shown = [env_label(e) for e in _ENV_ORDER if e in present]
    return " · ".join(shown) + TITLE_SEPARATOR + APP_NAME if shown else APP_NAME


def live_banner_text(accounts: Iterable[str]) -> str:
    names = sorted(accounts, key=str.casefold)
    return f"LIVE — real orders, real money: {', '.join(names)}"


class Environments:
    """The environment of every account the window shows."""

    def __init__(self, window: MainWindow) -> None:
        self.window = window
        self.environments: dict[str, Environment] = {}  # account -> its environment

    def of(self, account: str) -> Environment | None:
        return self.environments.get(account)

    def set_account_environment(self, account: str, env: Environment | None) -> None:
        """Which environment an account trades in: its rows' chip, its badge, the title."""
        if self.environments.get(account) == env:
            return
        if env is None:
            self.environments.pop(account, None)
        else:
            self.environments[account] = env
        self.window.positions_model.set_environment(account, env)
        badge = self.window.connectionStrip.badges.get(account)
        if badge is not None:
            badge.set_environment(env)
        self.refresh()

    def refresh(self) -> None:
        w = self.window
        envs = set(self.environments.values())
        live = [n for n, e in self.environments.items() if e is Environment.LIVE]
        w.liveBanner.setText(live_banner_text(live) if live else "")
        w.liveBanner.setVisible(bool(live))
        w.demoBanner.setVisible(w.demo and not (envs - {Environment.DEMO}))
        w.testnetBanner.setVisible(Environment.TESTNET in envs and not live)
        w.setWindowTitle(window_title(envs, w.demo))
