"""The PySide6 GUI. Talks only to core.desk.Desk; see gui.app for the entry point."""
