"""Mutations of a seed into a hostile frame, and the JSON writer that can say what
``json.dumps`` cannot: a raw number token of any size, NaN and Infinity, duplicate keys,
nesting deeper than any recursion limit, and text that is not valid UTF-8.

A frame is made by one to three structural mutations of a seed, then sometimes a mutation of its
text or bytes. Every mutation is named, so the report can count them.
"""

from __future__ import annotations

import copy
import json
import random
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from tests.fuzz.corpus import seeds, vocabulary


@dataclass(frozen=True)
class Raw:
    """A token written as it is: ``1E+999999999``, ``NaN``, ``-Infinity``."""

    text: str


@dataclass(frozen=True)
class Dup:
    """An object with its keys in this order, repeats included."""

    pairs: tuple[tuple[str, Any], ...]


@dataclass(frozen=True)
class Nest:
    """``value`` inside ``depth`` arrays (or objects under key ``"n"``)."""

    value: Any
    depth: int
    objects: bool = False


HOSTILE_NUMBERS = (
    "1E+999999999", "1e99999999999999999999", "-1e99999999999999999999", "1e-999999999",
    "1E+61", "-1E+61", "1E+60", "9.999999E+60", "1E-60", "1E-61", "0E-999999", "0E+999",
    "-0", "0.0", "1" + "0" * 100, "9" * 5000, "0." + "0" * 100 + "1", "18446744073709551616",
    "123456789.123456789123456789123456789", "1e400", "4.9e-324", "-1", "0.000001",
    "1e-7", "2.5E3", "-9E+60", "1" * 61, "1" * 62,
)
CONSTANTS = ("NaN", "Infinity", "-Infinity")
UNICODE = (
    "\u202e", "\ud800", "\udfff", "\x00", "é", "\U0001f642" * 50, "A" * 20_000, "\uffff",
    "e\u0301" * 10, "ѕymbol", " ", "", "\t\n", "null", "true", "{}", "[]", "\\", '"',
    "１２３", "٣", "1e99999999999999999999", "NaN",
)
DEPTHS = (64, 500, 1_000, 5_000, 100_000)


def encode(value: Any, ascii_only: bool = False) -> str:
    """JSON text for ``value``, which may hold Raw, Dup and Nest."""
    if isinstance(value, Nest):
        inner = encode(value.value, ascii_only)
        if value.objects:
            return '{"n":' * value.depth + inner + "}" * value.depth
        return "[" * value.depth + inner + "]" * value.depth
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, Raw):
        return value.text
    if isinstance(value, int | Decimal):
        return str(value)
    if isinstance(value, float):
        return repr(value) if value == value and abs(value) != float("inf") else "null"
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=ascii_only)
    if isinstance(value, Dup):
        return "{" + ",".join(f"{json.dumps(k, ensure_ascii=ascii_only)}:"
                              f"{encode(v, ascii_only)}" for k, v in value.pairs) + "}"
    if isinstance(value, dict):
        return "{" + ",".join(f"{json.dumps(str(k), ensure_ascii=ascii_only)}:"
                              f"{encode(v, ascii_only)}" for k, v in value.items()) + "}"
    if isinstance(value, list | tuple):
        return "[" + ",".join(encode(v, ascii_only) for v in value) + "]"
    raise TypeError(type(value).__name__)


Path = tuple[Any, ...]


def _paths(value: Any, path: Path = (), out: list[Path] | None = None) -> list[Path]:
    """Every node's path (keys and indexes), the root's too."""
    out = [] if out is None else out
    out.append(path)
    if isinstance(value, dict):
        for k, v in value.items():
            _paths(v, (*path, k), out)
    elif isinstance(value, list):
        for i, v in enumerate(value):
            _paths(v, (*path, i), out)
    return out


def _get(value: Any, path: Path) -> Any:
    for step in path:
        value = value[step]
    return value


def _set(root: Any, path: Path, new: Any) -> Any:
    if not path:
        return new
    parent = _get(root, path[:-1])
    parent[path[-1]] = new
    return root


class Mutator:
    """Frames for one venue from its seeds, reproducible from ``rng``'s seed."""

    def __init__(self, venue: str, rng: random.Random) -> None:
        self.venue = venue
        self.rng = rng
        self.seeds = seeds(venue)
        self.keys, self.words = vocabulary(venue)
        self.structural: dict[str, Callable[[Any], Any]] = {
            "delete_field": self._delete,
            "type_swap": self._type_swap,
            "hostile_number": self._number,
            "nan_infinity": self._constant,
            "number_as_text": self._number_text,
            "unicode": self._unicode,
            "duplicate_keys": self._duplicate,
            "deep_nesting": self._nest,
            "crossover": self._crossover,
            "key_swap": self._key_swap,
            "word_swap": self._word_swap,
            "wrap": self._wrap,
        }
        self.textual: dict[str, Callable[[str], str | bytes]] = {
            "truncate": self._truncate,
            "bytes_utf8": lambda t: t.encode("utf-8", "surrogatepass"),
            "bytes_invalid": self._invalid_bytes,
            "bytes_other_encoding": self._other_encoding,
            "garbage": self._garbage,
        }

    def frame(self) -> tuple[str | bytes, list[str]]:
        """One frame and the names of the mutations that made it."""
        rng = self.rng
        value = copy.deepcopy(rng.choice(self.seeds))
        names: list[str] = []
        for _ in range(rng.choice((1, 1, 2, 3))):
            name = rng.choice(list(self.structural))
            value = self.structural[name](value)
            names.append(name)
        text = encode(value, ascii_only=rng.random() < 0.2)
        if rng.random() < 0.3:
            name = rng.choice(list(self.textual))
            names.append(name)
            return self.textual[name](text), names
        return text, names

    # ---------------------------------------------------------------- structure
    def _pick(self, value: Any, want: Callable[[Any], bool] = lambda _: True) -> Path | None:
        found = [p for p in _paths(value) if want(_get(value, p))]
        return self.rng.choice(found) if found else None

    def _delete(self, value: Any) -> Any:
        path = self._pick(value, lambda v: isinstance(v, dict) and bool(v))
        if path is not None:
            node = _get(value, path)
            del node[self.rng.choice(list(node))]
        return value

    def _type_swap(self, value: Any) -> Any:
        path = self._pick(value)
        if path is None:
            return value
        old = _get(value, path)
        new = self.rng.choice([None, True, False, "", "x", "123", Decimal(0), Decimal(-1), 7,
                               [], {}, [old], {"k": old}, str(old)[:50], 1.5])
        return _set(value, path, new)

    def _numeric_path(self, value: Any) -> Path | None:
        numeric = self._pick(value, lambda v: isinstance(v, int | float | Decimal)
                             and not isinstance(v, bool))
        return numeric if numeric is not None and self.rng.random() < 0.9 else self._pick(value)

    def _number(self, value: Any) -> Any:
        path = self._numeric_path(value)
        return value if path is None else _set(value, path, Raw(self.rng.choice(HOSTILE_NUMBERS)))

    def _constant(self, value: Any) -> Any:
        path = self._numeric_path(value)
        return value if path is None else _set(value, path, Raw(self.rng.choice(CONSTANTS)))

    def _number_text(self, value: Any) -> Any:
        path = self._numeric_path(value)
        text = self.rng.choice((*HOSTILE_NUMBERS, *CONSTANTS, " 1", "1 ", "1_000", "0x10"))
        return value if path is None else _set(value, path, text)

    def _unicode(self, value: Any) -> Any:
        rng = self.rng
        if rng.random() < 0.3:  # a key: a look-alike or junk where a field name was
            path = self._pick(value, lambda v: isinstance(v, dict) and bool(v))
            if path is not None:
                node = _get(value, path)
                key = rng.choice(list(node))
                node[rng.choice(UNICODE) + key[1:] if rng.random() < 0.5 else
                     rng.choice(UNICODE)] = node.pop(key)
                return value
        path = self._pick(value, lambda v: isinstance(v, str)) or self._pick(value)
        junk = rng.choice(UNICODE)
        return value if path is None else _set(value, path, junk)

    def _duplicate(self, value: Any) -> Any:
        path = self._pick(value, lambda v: isinstance(v, dict) and bool(v))
        if path is None:
            return value
        node = _get(value, path)
        pairs = list(node.items())
        key = self.rng.choice(list(node))
        other = self.rng.choice([None, Raw("1E+999999999"), "x", Decimal(1), {}, []])
        at = self.rng.randrange(len(pairs) + 1)
        pairs.insert(at, (key, other))
        return _set(value, path, Dup(tuple(pairs)))

    def _nest(self, value: Any) -> Any:
        path = self._pick(value)
        if path is None:
            return value
        wrapped = Nest(_get(value, path), self.rng.choice(DEPTHS), self.rng.random() < 0.5)
        return _set(value, path, wrapped)

    def _crossover(self, value: Any) -> Any:
        donor = self.rng.choice(self.seeds)
        part = _get(donor, self._pick(donor) or ())
        path = self._pick(value)
        return value if path is None else _set(value, path, copy.deepcopy(part))

    def _key_swap(self, value: Any) -> Any:
        path = self._pick(value, lambda v: isinstance(v, dict) and bool(v))
        if path is not None:
            node = _get(value, path)
            node[self.rng.choice(self.keys)] = node.pop(self.rng.choice(list(node)))
        return value

    def _word_swap(self, value: Any) -> Any:
        path = self._pick(value, lambda v: isinstance(v, str)) or self._pick(value)
        return value if path is None else _set(value, path, self.rng.choice(self.words))

    def _wrap(self, value: Any) -> Any:
        rng = self.rng
        if self.venue == "everstrike":
            category = rng.choice(self.words)
            return rng.choice([{"code": 200, "msg": "", "result": value},
                               {"code": 200, "msg": "", "category": category,
                                "pair": "USD_BTC_PERP", "result": {"order": value}},
                               {"code": 200, "msg": "", "category": category, "pair": None,
                                "result": value},
                               [value], {"USD_BTC_PERP": value}])
        key = rng.choice(self.keys)
        return rng.choice([{key: value}, {"order_response": value}, [value],
                           {"type": "market_stats", "mark_prices": [value]},
                           {"all_orders_response": {"orders": [value]}}, {"data": [value]},
                           {"positions": [value]}])

    # ---------------------------------------------------------------- text and bytes
    def _truncate(self, text: str) -> str:
        return text[: self.rng.randrange(len(text) + 1)]

    def _invalid_bytes(self, text: str) -> bytes:
        data = bytearray(text.encode("utf-8", "surrogatepass"))
        for _ in range(self.rng.randint(1, 4)):
            at = self.rng.randrange(len(data) + 1)
            data[at:at] = self.rng.choice([b"\xff", b"\xc0\x80", b"\xed\xa0\x80", b"\x80",
                                           b"\xef\xbb\xbf", b"\x00"])
        return bytes(data)

    def _other_encoding(self, text: str) -> bytes:
        encoding = self.rng.choice(("utf-16", "utf-32", "latin-1", "utf-8-sig"))
        return text.encode(encoding, "replace")

    def _garbage(self, text: str) -> str:
        rng = self.rng
        extra = rng.choice(["}", "]", ",", "\x00", " " * 10, "{", "garbage", "\ufeff", "\n{}"])
        return (extra + text) if rng.random() < 0.5 else (text + extra)
