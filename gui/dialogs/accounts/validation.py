"""Checking an account as typed, every field's problem at once, keyed by the form's fields.

The rules for what an account may hold live in core (``core.settings`` and ``check_endpoint``);
this adds what only the dialog can word well (a duplicate name, a pasted secret with spaces, an
environment without default URLs, the session-only choice) and puts core's own complaint at
the field it names.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from core.settings import AccountError, Settings, add_account, replace_account
from core.venue import AccountConfig, InsecureEndpoint, check_endpoint
from core.venues import default_endpoints
from gui.models import env_label

__all__ = ["Checked", "check_account", "field_key"]


@dataclass
class Checked:
    """The account when every field is fine, else None and each field's message."""

    account: AccountConfig | None
    errors: dict[str, str] = field(default_factory=dict)  # field key -> message


def field_key(core_field: str) -> str:
    """core.settings.AccountError.field -> the form's key ("public_key", "endpoints.rest")."""
    if core_field.startswith("options."):
        return "options"
    return core_field


def check_account(
    account: AccountConfig,
    secret: str,
    *,
    settings: Settings,
    editing: AccountConfig | None,
    endpoint_fields: Iterable[str],
    for_save: bool,
    persistent: bool,
    session_only: bool,
) -> Checked:
    """Every field's problem at once. ``account`` is the form as typed (name and URLs stripped,
    empty URLs left out); ``endpoint_fields`` the endpoint names the form shows. ``for_save``
    adds what only saving needs: a unique name, a secret for a new account, the session-only
    choice without a keyring (``persistent`` False)."""
    errors: dict[str, str] = {}
    name = account.name
    if not name:
        errors["name"] = "The account needs a name."
    elif for_save:
        taken = settings.account(name)
        if taken is not None and (editing is None or editing.name != name):
            errors["name"] = f"An account called “{name}” already exists; pick another name."
    if not account.public_key:
        errors["public_key"] = "The public API key is required."
    if secret and secret != secret.strip():
        errors["secret"] = ("The secret key starts or ends with spaces; paste it again "
                            "without them.")
    elif for_save and not secret and editing is None:
        errors["secret"] = "The secret key is required (it goes only to the OS keyring)."
    if for_save and secret and not persistent and not session_only:
        errors["session_only"] = (
            "Without a keyring the secret can only be kept for this session: tick the box "
            "to do that, or cancel. Nothing was saved."
        )
    defaults = default_endpoints(account.venue, account.environment)
    for ep_name in endpoint_fields:
        url = account.endpoints.get(ep_name, "")
        key = f"endpoints.{ep_name}"
        if not url:
            if ep_name not in defaults:
                errors[key] = (f"{env_label(account.environment)} has no default "
                               f"{ep_name} URL: enter one.")
            continue
        try:
            check_endpoint(url)
        except InsecureEndpoint as exc:
            errors[key] = str(exc)
    if not errors:
        errors.update(_core_errors(account, settings, editing, for_save=for_save))
    return Checked(None if errors else account, errors)


def _core_errors(account: AccountConfig, settings: Settings, editing: AccountConfig | None,
                 *, for_save: bool) -> dict[str, str]:
    """What the core checks beyond these (options, venue-specific rules), at its field."""
    try:
        if for_save:
            if editing is None:
                add_account(settings, account)
            else:
                replace_account(settings, editing.name, account)
        else:
            add_account(Settings(), account)
    except AccountError as exc:
        return {field_key(exc.field): exc.message}
    return {}
