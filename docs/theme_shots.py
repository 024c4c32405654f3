"""Makes docs/main-light.png and docs/main-dark.png (the demo window in each theme, with
thousands separators on) and docs/preferences.png (the Preferences dialog refusing a value in
the settings file's own words). Run: QT_QPA_PLATFORM=offscreen .venv/bin/python
docs/theme_shots.py (from the checkout's root; demo mode against the simulator, settings and
journal in a temporary directory)."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

DOCS = Path(__file__).resolve().parent


def main_window(theme: str, home: Path) -> None:
    config = home / theme / "config" / "closeout"
    config.mkdir(parents=True)
    (config / "settings.toml").write_text(
        f'version = 2\n[preferences]\ntheme = "{theme}"\nthousands_separator = true\n',
        encoding="utf-8")
    env = dict(os.environ, XDG_CONFIG_HOME=str(config.parent),
               XDG_DATA_HOME=str(home / theme / "data"), XDG_STATE_HOME=str(home / theme / "st"),
               QT_QPA_PLATFORM="offscreen", PYTHONPATH=str(ROOT))
    subprocess.run([sys.executable, "-m", "gui.app", "--demo", "--screenshot",
                    str(DOCS / f"main-{theme}.png")], cwd=ROOT, env=env, check=True, timeout=120)


def preferences(home: Path) -> None:
    from PySide6.QtCore import Qt
    from PySide6.QtTest import QTest
    from PySide6.QtWidgets import QApplication

    from core.settings import Settings
    from gui.dialogs.preferences import PreferencesDialog
    from gui.theme.follower import theme_follower

    app = QApplication(sys.argv[:1])
    theme_follower(app, "light")
    path = home / "settings.toml"
    path.write_text('version = 2\n[preferences]\noperator_name = "j.doe"\n', encoding="utf-8")
    dialog = PreferencesDialog(path, Settings())
    dialog.show()
    field = dialog.general.staleAfter
    field.selectAll()
    QTest.keyClicks(field, "0")  # refused: the file's reader says why, under the field
    QTest.keyClick(field, Qt.Key.Key_End)
    app.processEvents()
    dialog.grab().save(str(DOCS / "preferences.png"))
    dialog.close()


def main() -> int:
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp)
        for theme in ("light", "dark"):
            main_window(theme, home)
        preferences(home)
    return 0


if __name__ == "__main__":
    sys.exit(main())
