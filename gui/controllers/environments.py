"""Which environment each account trades in, shown at all times: its rows' Env chip, its
badge, the LIVE / TESTNET / DEMO banners and the window title ("Closeout — LIVE · DEMO")."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from core.model import Environment
from gui.models.text import env_label

if TYPE_CHECKING:
    from gui.main_window import MainWindow

__all__ = ["Environments", "live_banner_text", "window_title"]

_ENV_ORDER = (Environment.LIVE, Environment.TESTNET, Environment.DEMO)


def window_title(envs: Iterable[Environment], demo: bool = False) -> str:
    """"Closeout — LIVE · DEMO": every environment connected, the riskiest first."""
    present = set(envs)
    if not present and demo:
        present = {Environment.DEMO}
    shown = [env_label(e) for e in _ENV_ORDER if e in present]
    return "Closeout — " + " · ".join(shown) if shown else "Closeout"


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
