"""The app's look in light and dark: one palette per theme (``palettes``), the style sheet
filled from it (``sheet``), and the choice of theme, following the system's colour scheme
unless the user picked one (``follower``)."""
