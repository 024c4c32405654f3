"""What the Accounts dialog says outside its field checks: environments, where a secret is,
the removal question, the settings file's state. Plain values and functions of their inputs."""

from __future__ import annotations

from pathlib import Path

from core.model import Environment
from core.venues.info import VenueInfo

__all__ = [
    "DEMO_OFFER",
    "EMPTY_HINT",
    "ENV_ORDER",
    "ENV_TEXT",
    "NO_KEYRING_WARNING",
    "SECRET_TIPS",
    "SESSION_ONLY_NOTE",
    "SWITCH_TOOLTIP",
    "TEST_TOOLTIP",
    "environment_note",
    "remove_question",
    "settings_error_text",
    "settings_line",
]

NO_KEYRING_WARNING = (
    "No system keyring is available: secrets can't be saved. Keep this secret in memory for "
    "this session only?"
)
ENV_ORDER = (Environment.LIVE, Environment.TESTNET, Environment.DEMO)
ENV_TEXT = {
    Environment.LIVE: "Live — real orders, real money",
    Environment.TESTNET: "Testnet / UAT — the venue's test environment",
    Environment.DEMO: "Demo — a simulator on this computer",
}
SECRET_TIPS = {
    "keyring": "The secret key is in the OS keyring",
    "this session": "The secret key is held in memory until Closeout quits",
    "missing": "No secret key is stored: edit the account to enter it",
}
SESSION_ONLY_NOTE = " The secret is kept in memory for this session only."
EMPTY_HINT = "No accounts yet: Closeout runs in demo mode. Add one to trade a real account."
DEMO_OFFER = ("This window runs the demo, with its own journal: your accounts connect once you "
              "switch to them.")
SWITCH_TOOLTIP = ("Leave the demo in this window: the simulated accounts disconnect, the real "
                  "journal takes over, and every configured account connects")
TEST_TOOLTIP = ("Connect and authenticate once, count positions and working orders, then "
                "disconnect; nothing is sent")


def remove_question(name: str) -> str:
    return (
        f"Remove “{name}”? Its settings are deleted and its secret is removed from the "
        "keyring. Open positions stay open at the venue; this only stops Closeout "
        "showing them."
    )


def settings_error_text(error: Exception) -> str:
    return (
        f"The settings file can't be read, so accounts can't be changed here until it "
        f"is fixed or moved aside (it was not touched):\n{error}"
    )


def settings_line(path: Path, *, persistent: bool) -> str:
    """The footer: which settings file, and where secrets go."""
    where = "the OS keyring" if persistent else "memory only, this session (no keyring)"
    return f"Settings: {path}   ·   secrets: {where}"


def environment_note(info: VenueInfo, environment: Environment, *, new: bool) -> str:
    """Under the environment picker: why a new account starts where it does, and a testnet
    chosen on a venue that runs none. Empty when there is nothing to say."""
    has_testnet = info.has_environment(Environment.TESTNET)
    if environment is Environment.TESTNET and not has_testnet:
        return (f"{info.label} has no testnet of its own: enter the test environment's "
                "endpoints below.")
    if not new:
        return ""
    if has_testnet:
        return (f"New accounts start on Testnet: {info.label} has a test environment, with no "
                "real money. Choose Live to trade for real.")
    return (f"{info.label} has no testnet, so a new account starts on Live: real orders, real "
            "money.")
