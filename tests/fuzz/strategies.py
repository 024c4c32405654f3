"""Hypothesis strategies for hostile frames of one venue: JSON built from the venue's own
vocabulary with hostile leaves, and seeds mutated with a hypothesis-driven random source."""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

from tests.fuzz.corpus import vocabulary
from tests.fuzz.mutate import CONSTANTS, HOSTILE_NUMBERS, UNICODE, Mutator, Raw, encode


def _leaves(venue: str) -> st.SearchStrategy[Any]:
    _, words = vocabulary(venue)
    return st.one_of(
        st.none(), st.booleans(), st.integers(),
        st.decimals(allow_nan=False, allow_infinity=False),
        st.sampled_from([Raw(t) for t in (*HOSTILE_NUMBERS, *CONSTANTS)]),
        st.sampled_from(HOSTILE_NUMBERS), st.sampled_from(words), st.sampled_from(UNICODE),
        st.text(max_size=20),
    )


def json_values(venue: str) -> st.SearchStrategy[Any]:
    """JSON-like values keyed by the venue's own field names, with hostile leaves."""
    keys, _ = vocabulary(venue)
    return st.recursive(
        _leaves(venue),
        lambda inner: st.one_of(
            st.lists(inner, max_size=4),
            st.dictionaries(st.one_of(st.sampled_from(keys), st.text(max_size=8)), inner,
                            max_size=6),
        ),
        max_leaves=30,
    )


def _as_wire(text: str, kind: int) -> str | bytes:
    if kind == 1:
        return text.encode("utf-8", "surrogatepass")
    if kind == 2:
        return text.encode("utf-8", "surrogatepass")[: max(0, len(text) // 2)]
    return text


def frames(venue: str) -> st.SearchStrategy[str | bytes]:
    """A frame as text or bytes: generated JSON, or a seed mutated by hypothesis' randomness."""
    generated = st.builds(lambda value, kind: _as_wire(encode(value), kind),
                          json_values(venue), st.integers(0, 2))
    mutated = st.builds(lambda rng: Mutator(venue, rng).frame()[0],
                        st.randoms(use_true_random=False))
    return st.one_of(generated, mutated)


__all__ = ["frames", "json_values"]
