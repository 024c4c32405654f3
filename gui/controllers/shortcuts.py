"""The keyboard: one registry of the window's shortcuts, and Help → Keyboard shortcuts (F1).

Every key the window binds is a ``Shortcut`` here and is set on its QAction with ``bind``. The
help lists what is actually bound: it walks the window's QActions and QShortcuts and reads
their keys, so it cannot drift from the code. Keys that a widget handles itself (Enter in the
table, the close dialog's keys) are listed from ``WIDGET_KEYS``.
"""

from __future__ import annotations

import html
from dataclasses import dataclass

from PySide6.QtCore import QObject, Qt
from PySide6.QtGui import QAction, QKeySequence, QShortcut
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QLabel, QVBoxLayout, QWidget

__all__ = [
    "CANCEL_WORKING",
    "FOCUS_HISTORY",
    "FOCUS_LOG",
    "FOCUS_POSITIONS",
    "FOCUS_WORKING",
    "KEYBOARD_HELP",
    "KEYBOARD_SHORTCUTS",
    "PREFERENCES",
    "QUICK_CLOSE",
    "QUICK_CLOSE_SHORTCUT",
    "QUIT",
    "ROW_MENU",
    "WIDGET_KEYS",
    "WINDOW_SHORTCUTS",
    "KeyboardHelp",
    "Shortcut",
    "bind",
    "key_bindings",
]


@dataclass(frozen=True, slots=True)
class Shortcut:
    """One key of the window: the object it is set on (its objectName), the key in Qt's
    portable text, and what it does (the help's words and the action's status tip)."""

    name: str
    keys: str
    what: str


QUICK_CLOSE_SHORTCUT = "Ctrl+Shift+C"
QUICK_CLOSE = Shortcut("quickCloseAction", QUICK_CLOSE_SHORTCUT,
                       "Close the selected row in full, after one confirmation naming its side, "
                       "size and symbol (Enter and Space wait 300 ms before they confirm)")
CANCEL_WORKING = Shortcut("cancelWorkingAction", "Del",
                          "In Working orders: cancel the selected order (asks first)")
ROW_MENU = Shortcut("rowMenuAction", "Shift+F10",
                    "In the positions table: the menu of the selected row (the Menu key too)")
FOCUS_POSITIONS = Shortcut("focusPositionsAction", "Alt+1", "Go to the positions table")
FOCUS_LOG = Shortcut("focusLogAction", "Alt+2", "Go to the order log")
FOCUS_WORKING = Shortcut("focusWorkingAction", "Alt+3", "Go to the working orders")
FOCUS_HISTORY = Shortcut("focusHistoryAction", "Alt+4", "Go to History (the audit journal)")
KEYBOARD_HELP = Shortcut("keyboardAction", "F1", "Keyboard help: this list")
QUIT = Shortcut("quitAction", "Ctrl+Q",
                "Quit Closeout (asks first, listing them, while orders are working)")
PREFERENCES = Shortcut("preferencesAction", "Ctrl+,",
                       "Preferences: operator, stale rows, confirmations, alerts, theme, numbers")
WINDOW_SHORTCUTS: tuple[Shortcut, ...] = (
    QUICK_CLOSE, CANCEL_WORKING, ROW_MENU, FOCUS_POSITIONS, FOCUS_LOG, FOCUS_WORKING,
    FOCUS_HISTORY, KEYBOARD_HELP, PREFERENCES, QUIT,
)

# Keys a widget handles itself (no QAction): the help lists them from here.
WIDGET_KEYS: tuple[tuple[str, str], ...] = (
    ("Enter", "In the positions table: open the close dialog for the selected row"),
    ("Esc", "In the positions table: stop choosing by keyboard (a held sort resumes)"),
    ("Tab, Shift+Tab", "Next / previous control; leaves a table too"),
    ("Alt+underlined letter", "Open that menu, or go to that labelled control"),
    ("Ctrl+1 … Ctrl+4", "In the close dialog: 25 %, 50 %, 75 %, 100 % of the position"),
    ("Enter (in the dialog)", "Send; when a confirmation is asked, Enter confirms"),
    ("Esc (in a dialog)", "Cancel the dialog (a close already sent is not recalled)"),
)

# What older callers import: every key with its words, the window's first.
KEYBOARD_SHORTCUTS: tuple[tuple[str, str], ...] = (
    *((s.keys, s.what) for s in WINDOW_SHORTCUTS), *WIDGET_KEYS)


def bind(action: QAction, shortcut: Shortcut,
         context: Qt.ShortcutContext = Qt.ShortcutContext.WindowShortcut) -> QAction:
    """Set a registry key on its action: the key, its context, its name and status tip."""
    action.setObjectName(shortcut.name)
    action.setShortcut(QKeySequence(shortcut.keys))
    action.setShortcutContext(context)
    action.setStatusTip(shortcut.what)
    action.setProperty("keyHelp", shortcut.what)
    return action


def _in_dialog(obj: QObject, window: QWidget) -> bool:
    """True when ``obj`` belongs to a dialog of the window (its keys work only in there)."""
    node: QObject | None = obj.parent()
    while node is not None and node is not window:
        if isinstance(node, QDialog):
            return True
        node = node.parent()
    return False


def key_bindings(window: QWidget) -> list[tuple[str, str]]:
    """Every key bound in the window (not in its dialogs) by a QAction or QShortcut, with what
    it does: (key as the user's platform writes it, words); the registry's in its order, then
    any other in the order it was made."""
    order = {s.name: i for i, s in enumerate(WINDOW_SHORTCUTS)}
    found: list[tuple[int, str, str]] = []
    bound: list[QAction | QShortcut] = [*window.findChildren(QAction),
                                        *window.findChildren(QShortcut)]
    for obj in bound:
        if _in_dialog(obj, window):
            continue
        sequences = obj.shortcuts() if isinstance(obj, QAction) else obj.keys()
        keys = [k for k in sequences if not k.isEmpty()]
        if not keys:
            continue
        what = obj.property("keyHelp") or obj.whatsThis()
        if not what and isinstance(obj, QAction):
            what = obj.statusTip() or obj.text().replace("&", "").split("\t")[0]
        rank = order.get(obj.objectName(), len(order))
        for key in keys:
            found.append((rank, key.toString(QKeySequence.SequenceFormat.NativeText), str(what)))
    found.sort(key=lambda row: row[0])  # stable: the unregistered keep their order
    return [(keys, what) for _, keys, what in found]


def help_rows(window: QWidget) -> list[tuple[str, str]]:
    return [*key_bindings(window), *WIDGET_KEYS]


class KeyboardHelp:
    """The keyboard help dialog of one window, made on first use and refilled on each show."""

    def __init__(self, parent: QWidget) -> None:
        self.parent = parent
        self.dialog: QDialog | None = None
        self.label: QLabel | None = None

    def show(self) -> QDialog:
        """F1, or Help → Keyboard shortcuts: every key, in a small dialog opened with open()."""
        if self.dialog is None:
            dialog = QDialog(self.parent)
            dialog.setObjectName("keyboardHelp")
            dialog.setWindowTitle("Keyboard shortcuts")
            layout = QVBoxLayout(dialog)
            label = QLabel(dialog)
            label.setObjectName("keyboardHelpText")
            label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            layout.addWidget(label)
            buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, dialog)
            buttons.rejected.connect(dialog.reject)
            layout.addWidget(buttons)
            self.dialog, self.label = dialog, label
        assert self.label is not None
        rows = "".join(
            f"<tr><td style='padding:3px 14px 3px 0'><b>{html.escape(keys)}</b></td>"
            f"<td>{html.escape(what)}</td></tr>" for keys, what in help_rows(self.parent))
        self.label.setText(f"<table>{rows}</table>")
        self.dialog.open()
        return self.dialog
