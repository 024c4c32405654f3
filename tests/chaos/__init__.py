"""The chaos suite (``make chaos``): randomised fault scenarios and kill -9 runs."""
