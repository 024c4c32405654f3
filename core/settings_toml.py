"""The text of settings.toml for a save, keeping the user's file as they wrote it.

A save edits the document that is on disk (parsed with tomlkit, which keeps comments, key
order, blank lines and quoting) instead of writing a new one: only the values that changed are
replaced, a removed account's table goes, a new one is appended. A key the file leaves out
stays out while its value is the default. Everything else, including each comment, stays
byte for byte. With no file (or nothing usable to start from) a fresh document is written.

Only what ``Settings`` holds is ever written, so nothing but its validated fields (never a
secret: ``core.settings`` refuses secret-like keys) can reach the file.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any, Final

import tomlkit
from tomlkit.container import Container as Body
from tomlkit.items import (
    AoT,
    Bool,
    Comment,
    Float,
    InlineTable,
    Integer,
    Item,
    String,
    Table,
    Whitespace,
)

if TYPE_CHECKING:
    from core.settings import Settings
    from core.venue import AccountConfig

__all__ = ["HEADER", "render"]

HEADER: Final = "Closeout settings. Secrets are never stored here: they live in the OS keyring."

Container = tomlkit.TOMLDocument | Table | InlineTable


def render(settings: Settings, current: str | None, version: int) -> str:
    """The file's new text: ``current`` (the file as it is now, already known to load) with
    ``settings`` written into it, or a fresh document when there is no ``current``."""
    if current is None:
        return fresh(settings, version)
    doc = tomlkit.parse(current)
    _put(doc, "version", version, default=None)
    _sync_preferences(doc, settings)
    _sync_alerts(doc, settings)
    _sync_team(doc, settings)
    _sync_accounts(doc, settings.accounts)
    return doc.as_string()


def fresh(settings: Settings, version: int) -> str:
    """A new document: the header, the version, every preference, then the accounts."""
    doc = tomlkit.document()
    doc.add(tomlkit.comment(HEADER))
    doc.add("version", version)
    doc.add("preferences", tomlkit.table())
    _sync_preferences(doc, settings, write_defaults=True)
    _sync_alerts(doc, settings, write_defaults=True)
    _sync_team(doc, settings)
    _sync_accounts(doc, settings.accounts)
    return doc.as_string()


# --------------------------------------------------------------------------- values
def _number(item: object) -> Decimal | None:
    """A TOML number (or numeric text) as the Decimal its digits say, for comparing."""
    if isinstance(item, bool | Bool):
        return None
    if isinstance(item, Float):  # its own digits, not the binary float
        text = item.as_string().replace("_", "")
    elif isinstance(item, int | float | Decimal | String | str):
        text = str(item)
    else:
        return None
    try:
        value = Decimal(text)
    except InvalidOperation:
        return None
    return value if value.is_finite() else None


def _option_text(item: object) -> str | None:
    """What ``core.settings`` reads an option value as (its text)."""
    if isinstance(item, bool | Bool):
        return "true" if bool(item) else "false"
    if isinstance(item, Float):
        number = _number(item)
        return None if number is None else str(number)
    if isinstance(item, int | Integer):
        return str(int(item))
    if isinstance(item, str | String):
        return str(item)
    return None


def _same(old: object, new: object) -> bool:
    """Whether the file already says ``new`` (so its line, quoting and comment are kept)."""
    if isinstance(new, bool):
        return isinstance(old, bool | Bool) and bool(old) is new
    if isinstance(new, int | float | Decimal):
        number = _number(old) if not isinstance(old, String | str) else None
        return number is not None and number == Decimal(str(new))
    if isinstance(new, str):
        return isinstance(old, String | str) and str(old) == new
    return False


def _item(value: object) -> Item:
    if isinstance(value, Decimal):  # its exact digits, as a TOML number
        return tomlkit.value(format(value, "f"))
    return tomlkit.item(value)


def _add(table: Container, key: str, item: Item) -> None:
    """A new key right after the table's last plain key, so it lands above the comments and
    blank lines that lead to the next table (tomlkit would append it below them)."""
    container = table if isinstance(table, tomlkit.TOMLDocument) else table.value
    body = container.body
    plain = [i for i, (k, v) in enumerate(body)
             if k is not None and not isinstance(v, Table | AoT)]
    if plain and plain[-1] + 1 < len(body) and not isinstance(item, Table | AoT):
        container._insert_at(plain[-1] + 1, key, item)
    else:
        table[key] = item


def _put(table: Container, key: str, value: object, *, default: object) -> None:
    """Set ``key`` unless the file already says it; a key the file leaves out stays out while
    ``value`` is its default."""
    if key in table:
        if not _same(table[key], value):
            table[key] = _item(value)
    elif value != default or default is None:
        _add(table, key, _item(value))


def _drop(table: Container, keys: set[str]) -> None:
    for key in [k for k in table if k not in keys]:
        del table[key]


# --------------------------------------------------------------------------- preferences
def _sync_preferences(doc: tomlkit.TOMLDocument, settings: Settings, *,
                      write_defaults: bool = False) -> None:
    from core.settings import Preferences

    prefs, defaults = settings.preferences, Preferences()
    wanted: dict[str, tuple[object, object]] = {
        "operator_name": (prefs.operator_name, defaults.operator_name),
        "stale_after_s": (float(prefs.stale_after_s), defaults.stale_after_s),
        "confirm": (prefs.confirm, defaults.confirm),
        "theme": (prefs.theme, defaults.theme),
        "thousands_separator": (prefs.thousands_separator, defaults.thousands_separator),
    }
    if prefs.large_close_notional is not None:
        wanted["large_close_notional"] = (prefs.large_close_notional, None)
    if "preferences" not in doc:
        if all(value == default for value, default in wanted.values()):
            return  # the file leaves every preference at its default: so does the save
        doc.add("preferences", tomlkit.table())
    table = doc["preferences"]
    assert isinstance(table, Table | InlineTable)
    for key, (value, default) in wanted.items():
        _put(table, key, value, default=None if write_defaults else default)
    _drop(table, set(wanted))


# --------------------------------------------------------------------------- alerts
def _sync_alerts(doc: tomlkit.TOMLDocument, settings: Settings, *,
                 write_defaults: bool = False) -> None:
    """The ``[alerts]`` table: left out of the file while every alert is at its default; once
    there, each key is kept, changed or added like a preference's."""
    from core.settings import Alerts

    alerts, defaults = settings.alerts, Alerts()
    names = [f.name for f in dataclasses.fields(Alerts)]
    new = "alerts" not in doc
    if new and alerts == defaults:
        return
    table = tomlkit.table() if new else doc["alerts"]
    assert isinstance(table, Table | InlineTable)
    for key in names:
        _put(table, key, getattr(alerts, key),
             default=None if write_defaults else getattr(defaults, key))
    _drop(table, set(names))
    if new:
        doc.add("alerts", table)
        _move_before_accounts(doc, "alerts")


def _sync_team(doc: tomlkit.TOMLDocument, settings: Settings) -> None:
    """The ``[team]`` table: nothing in the app edits it, so a save keeps it as written;
    it is added or removed only when the settings say so."""
    team = settings.team
    if team is None:
        if "team" in doc:
            del doc["team"]
        return
    new = "team" not in doc
    table = tomlkit.table() if new else doc["team"]
    assert isinstance(table, Table | InlineTable)
    from core.team.config import LEASE_TTL_DEFAULT_S

    _put(table, "database", team.database, default=None)
    if team.desk_name is None:
        if "desk_name" in table:
            del table["desk_name"]
    else:
        _put(table, "desk_name", team.desk_name, default=None)
    _put(table, "lease_ttl_s", team.lease_ttl_s, default=LEASE_TTL_DEFAULT_S)
    if new:
        doc.add("team", table)
        _move_before_accounts(doc, "team")


def _move_before_accounts(doc: tomlkit.TOMLDocument, key: str) -> None:
    """A new table goes above the ``[[accounts]]``, beside ``[preferences]``, not below them
    (where TOML would read it as fine but a reader would look for it last). The comment and
    blank lines that lead into the accounts stay just above them."""
    if "accounts" not in doc:
        return
    accounts, table = doc["accounts"], doc[key]
    assert isinstance(table, Table)
    at = next((i for i, (_, v) in enumerate(doc.body) if v is accounts), None)
    if at is None:
        return
    del doc[key]
    before = doc.body[at - 1][1] if at > 0 else None
    lead: list[Item] = []
    if isinstance(before, Table):  # tomlkit keeps those lines at the end of the table above
        body = _deepest(before)
        while body.body and body.body[-1][0] is None and isinstance(
                body.body[-1][1], Comment | Whitespace):
            lead.insert(0, body.body.pop()[1])
    table.trivia.indent = "\n"
    doc._insert_at(at, key, table)
    for item in lead:
        table.value.append(None, item)


# --------------------------------------------------------------------------- accounts
def _sync_strings(parent: Table | InlineTable, key: str, wanted: Mapping[str, str], *,
                  options: bool) -> None:
    """An account's endpoints or options table: changed values replaced, new ones added,
    gone ones removed, and the table removed when nothing is left."""
    if not wanted:
        if key in parent:
            del parent[key]
        return
    if key not in parent:
        parent[key] = tomlkit.table()
    table = parent[key]
    assert isinstance(table, Table | InlineTable)
    for name, text in wanted.items():
        old = table.get(name)
        if old is not None and (_option_text(old) if options else old) == text:
            continue
        item = tomlkit.item(int(text) if options and isinstance(old, Integer)
                            and text.isdigit() else text)  # a number the user wrote stays one
        if old is None:
            _add(table, name, item)
        else:
            table[name] = item
    _drop(table, set(wanted))


def _sync_account(table: Table, account: AccountConfig) -> None:
    for key, value in (("name", account.name), ("venue", account.venue.value),
                       ("environment", account.environment.value),
                       ("public_key", account.public_key)):
        _put(table, key, value, default=None)
    _sync_strings(table, "endpoints", account.endpoints, options=False)
    _sync_strings(table, "options", account.options, options=True)


def _account_table(account: AccountConfig) -> Table:
    table = tomlkit.table()
    table.trivia.indent = "\n"  # a blank line before the new [[accounts]]
    _sync_account(table, account)
    return table


def _sync_accounts(doc: tomlkit.TOMLDocument, accounts: list[AccountConfig]) -> None:
    """Each account's table found by name (a renamed account by its place, as a rename keeps
    it), synced in place; removed ones deleted, new ones appended."""
    if not accounts:
        if "accounts" in doc:
            del doc["accounts"]
        return
    if "accounts" not in doc:
        doc.add("accounts", tomlkit.aot())
    aot = doc["accounts"]
    assert isinstance(aot, AoT)
    old_names = [str(t.get("name", "")) for t in aot]
    new_names = {a.name for a in accounts}
    keep: dict[int, AccountConfig] = {}
    for i, account in enumerate(accounts):
        if account.name in old_names:
            keep[old_names.index(account.name)] = account
        elif (len(accounts) == len(old_names) and old_names[i] not in new_names
              and i not in keep):
            keep[i] = account  # renamed in place
    for i in reversed(range(len(old_names))):
        if i not in keep:
            _remove_table(doc, aot, i)
    kept = [keep[i] for i in sorted(keep)]
    for table, account in zip(list(aot), kept, strict=True):
        _sync_account(table, account)
    placed = {a.name for a in kept}
    for account in accounts:
        if account.name not in placed:
            aot.append(_account_table(account))
    order = [a.name for a in accounts]
    if [str(t["name"]) for t in aot] != order:  # an unusual reorder: follow the settings
        tables: dict[str, Any] = {str(t["name"]): t for t in aot}
        for i in reversed(range(len(aot))):
            del aot[i]
        for name in order:
            aot.append(tables[name])


# --------------------------------------------------------------------------- comments
# tomlkit keeps the comment lines above a table at the end of the table before it. So when an
# account's table goes, the comments above it (at the end of the one before) go with it, and
# its own last comments, which introduce the next account, move up to take their place.
def _deepest(table: Table) -> Body:
    """The body holding a table's last lines (those of its last sub-table, if any)."""
    body = table.value
    while body.body and isinstance(body.body[-1][1], Table):
        last = body.body[-1][1]
        assert isinstance(last, Table)
        body = last.value
    return body


def _take_comments(body: Body) -> list[Comment]:
    """Remove and return the comment lines at the very end of ``body``."""
    taken: list[Comment] = []
    while body.body and body.body[-1][0] is None and isinstance(body.body[-1][1], Comment):
        item = body.body.pop()[1]
        assert isinstance(item, Comment)
        taken.insert(0, item)
    return taken


def _before(doc: tomlkit.TOMLDocument, aot: AoT, index: int) -> Body | None:
    """Where the lines just above ``aot[index]`` live."""
    if index > 0:
        return _deepest(aot[index - 1])
    position = next((i for i, (_, item) in enumerate(doc.body) if item is aot), None)
    if position is None or position == 0:
        return None
    previous = doc.body[position - 1][1]
    return _deepest(previous) if isinstance(previous, Table) else None


def _remove_table(doc: tomlkit.TOMLDocument, aot: AoT, index: int) -> None:
    above = _before(doc, aot, index)
    if above is not None:
        _take_comments(above)
    following = _take_comments(_deepest(aot[index])) if index + 1 < len(aot) else []
    del aot[index]
    if above is not None:
        for comment in following:
            above.append(None, comment)
