"""Simulated Everstrike (see the modules of this package)."""

from core.sim.everstrike.rest import EverstrikeAccount, EverstrikeSettings, EverstrikeVenue

__all__ = ["EverstrikeAccount", "EverstrikeSettings", "EverstrikeVenue"]
