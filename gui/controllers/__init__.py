"""Small action classes that add a feature to the main window from outside it."""
