"""The parser fuzz suite: hostile frames through every parser of both venues.

``python -m tests.fuzz`` (``make fuzz``) runs the full job: at least a million frames per venue,
each through every parser of its venue, built by mutating every documented example (the seeds in
``docs/seeds``, the wire shapes of VENUES.md, the examples the protocol tests use) and by
hypothesis strategies. The rule checked on every call: a parser raises only its own typed
error (or returns a ``ProtocolError`` event), and nothing it accepts holds a number outside the
bound of ``core.bounds``. ``test_fuzz_parsers.py`` is a small run of the same job inside
``make test``.

The parts: ``corpus`` (the seeds), ``mutate`` (the mutations and the JSON writer that can say
what ``json.dumps`` cannot), ``strategies`` (hypothesis), ``targets`` (the parsers and the
rule), ``run`` (the runner and its report).
"""
