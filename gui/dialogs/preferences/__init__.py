"""File → Preferences…: what settings.toml holds besides the accounts, edited in a form that is
checked by the file's own reader and saved by its round-trip save."""

from gui.dialogs.preferences.dialog import PreferencesDialog

__all__ = ["PreferencesDialog"]
