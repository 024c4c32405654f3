"""Help → About Closeout: the version, the licence, the Qt, PySide6 and Python versions, and
where the settings, journals and logs are, each with "Open folder"; "Copy details" puts all of
it on the clipboard as text for a support ticket.

Opening a folder goes through ``opener`` (``QDesktopServices.openUrl`` in the app), so a test
sees the URL without a file manager opening.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt, QUrl
from PySide6.QtGui import QDesktopServices, QGuiApplication
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from gui.dialogs.about_facts import AboutFacts, AppPath

__all__ = ["TAGLINE", "AboutDialog", "Opener"]

Opener = Callable[[QUrl], bool]
TAGLINE = "See every open position on every venue and close it exactly once."


class AboutDialog(QDialog):
    """One per window; opened with ``open()``."""

    def __init__(self, facts: AboutFacts, opener: Opener = QDesktopServices.openUrl,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("aboutDialog")
        self.more: Callable[[], str] | None = None  # live facts added to "Copy details"
        self.setWindowTitle("About Closeout")
        self.facts = facts
        self.opener = opener
        self.openButtons: dict[str, QPushButton] = {}
        self.setMinimumWidth(640)  # a path on one line, mostly
        layout = QVBoxLayout(self)
        layout.setSpacing(10)
        layout.addLayout(self._header())
        grid = QGridLayout()  # one grid: the versions' and the paths' captions line up
        grid.setHorizontalSpacing(14)
        grid.setColumnStretch(1, 1)
        self._versions(grid)
        self._paths(grid)
        layout.addLayout(grid)
        self.copiedNote = QLabel("", self)
        self.copiedNote.setObjectName("aboutCopied")
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        self.copyButton = QPushButton("&Copy details", self)
        self.copyButton.setObjectName("copyDetailsButton")
        self.copyButton.setToolTip("Copy the version, the versions of Qt and Python and these "
                                   "paths, for a support ticket")
        self.copyButton.clicked.connect(self.copy_details)
        buttons.addButton(self.copyButton, QDialogButtonBox.ButtonRole.ActionRole)
        buttons.rejected.connect(self.reject)
        row = QHBoxLayout()
        row.addWidget(self.copiedNote, 1)
        row.addWidget(buttons)
        layout.addLayout(row)

    def _header(self) -> QHBoxLayout:
        row = QHBoxLayout()
        row.setSpacing(14)
        icon = QGuiApplication.windowIcon()
        if not icon.isNull():
            picture = QLabel(self)
            picture.setObjectName("aboutIcon")
            picture.setPixmap(icon.pixmap(64, 64))
            row.addWidget(picture)
        words = QVBoxLayout()
        title = QLabel("Closeout", self)
        title.setObjectName("dialogTitle")
        words.addWidget(title)
        self.versionLabel = _selectable(f"Version {self.facts.version}", self, "aboutVersion")
        words.addWidget(self.versionLabel)
        words.addWidget(QLabel(TAGLINE, self))
        row.addLayout(words, 1)
        return row

    def _versions(self, grid: QGridLayout) -> None:
        f = self.facts
        rows = (("Licence", f.licence, "aboutLicence"),
                ("Qt", f.qt_line(), "aboutQt"),
                ("Python", f.python, "aboutPython"),
                ("System", f.system, "aboutSystem"))
        for i, (caption, value, name) in enumerate(rows):
            grid.addWidget(_caption(caption, self), i, 0)
            grid.addWidget(_selectable(value, self, name), i, 1, 1, 2)

    def _paths(self, grid: QGridLayout) -> None:
        files = QLabel("Files", self)
        files.setObjectName("sectionTitle")
        grid.addWidget(files, grid.rowCount(), 0, 1, 3)
        first = grid.rowCount()
        for i, item in enumerate(self.facts.paths, start=first):
            grid.addWidget(_caption(item.label, self), i, 0)
            grid.addWidget(_selectable(str(item.path), self, f"path{_key(item)}"), i, 1)
            button = QPushButton("Open folder", self)
            button.setObjectName(f"open{_key(item)}Folder")
            button.setAccessibleName(f"Open the folder of {item.label.lower()}")
            exists = item.folder.is_dir()
            button.setEnabled(exists)
            button.setToolTip(str(item.folder) if exists
                              else f"{item.folder} does not exist yet: Closeout makes it when it "
                                   "first writes there")
            button.clicked.connect(lambda _=False, p=item: self.open_folder(p))
            grid.addWidget(button, i, 2)
            self.openButtons[item.label] = button

    def open_folder(self, item: AppPath) -> bool:
        return bool(self.opener(QUrl.fromLocalFile(str(item.folder))))

    def details(self) -> str:
        """The facts, and what ``more`` says now (the team link's state, in team mode)."""
        more = self.more() if self.more is not None else ""
        return self.facts.text() + (f"\n{more}" if more else "")

    def copy_details(self) -> None:
        QGuiApplication.clipboard().setText(self.details())
        self.copiedNote.setText("Copied to the clipboard")


def _key(item: AppPath) -> str:
    return item.label.title().replace(" ", "")


def _caption(text: str, parent: QWidget) -> QLabel:
    label = QLabel(text, parent)
    label.setObjectName("summaryCaption")
    return label


def _selectable(text: str, parent: QWidget, name: str) -> QLabel:
    label = QLabel(text, parent)
    label.setObjectName(name)
    label.setWordWrap(True)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    return label
