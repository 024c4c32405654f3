"""The application's dialogs, one package per dialog that has parts."""
