"""Closing a position, one home for the dialog, ``closeout close`` and the venue protocols.

``rules`` holds every check a close must pass (quantity, price, tick, lot, the venue's bounds
and capabilities). ``form`` turns typed fields into a ``CloseRequest`` or field errors. ``words``
holds what both front ends print about a close.
"""
