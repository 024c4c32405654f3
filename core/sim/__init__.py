"""Simulated venues (QFEX and Everstrike) on loopback: demo mode, tests and benchmarks.

Written from the venues' documentation, never from our client code (``core.venues``), so the
clients are tested against an independent reference. ``python -m core.sim`` runs it alone.
"""

from core.sim.common import Received
from core.sim.contract import DemoAccess
from core.sim.faults import Faults
from core.sim.simulator import EverstrikeInfo, QfexInfo, SimInfo, Simulator

__all__ = ["DemoAccess", "EverstrikeInfo", "Faults", "QfexInfo", "Received", "SimInfo",
           "Simulator"]
