"""Simulated QFEX (see the modules of this package)."""

from core.sim.qfex.orders import QfexAccount, QfexSettings, QfexVenue

__all__ = ["QfexAccount", "QfexSettings", "QfexVenue"]
