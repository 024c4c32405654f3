"""Where in settings.toml's text a problem is, for the messages of ``core.settings``: the TOML
reader reports only syntax positions, and must not be handed what would make it recurse past
Python's limit. These scans are best effort: they name a line and a key, or nothing."""

from __future__ import annotations

import re
from typing import Final

__all__ = ["NESTING_MAX", "Locator", "long_number", "too_deep"]

# Arrays or tables nested deeper than this are refused before the TOML reader recurses into
# them (no settings field is nested more than three deep).
NESTING_MAX: Final = 32
_ACCOUNTS_HEADER = re.compile(r"^\s*\[\[\s*accounts\s*\]\]")
_TABLE_HEADER = re.compile(r"^\s*\[")


class Locator:
    """Best-effort line numbers for semantic errors; TOML only reports syntax positions."""

    def __init__(self, text: str) -> None:
        self.lines = text.splitlines()
        self.account_starts = [
            i for i, line in enumerate(self.lines) if _ACCOUNTS_HEADER.match(line)
        ]

    def _key_line(self, key: str, start: int, stop: int) -> int | None:
        pattern = re.compile(rf"^\s*(?:\"{re.escape(key)}\"|{re.escape(key)})\s*=|"
                             rf"[{{,]\s*{re.escape(key)}\s*=")
        for i in range(start, stop):
            if pattern.search(self.lines[i]):
                return i + 1
        return None

    def top(self, key: str) -> int | None:
        first_table = next(
            (i for i, line in enumerate(self.lines) if _TABLE_HEADER.match(line)), len(self.lines)
        )
        found = self._key_line(key, 0, first_table)
        if found is None:  # a table: [key], [[key]] or [key.sub]
            header = re.compile(rf"^\s*\[\[?\s*{re.escape(key)}\s*[\].]")
            found = next((i + 1 for i, line in enumerate(self.lines) if header.match(line)), None)
        return found

    def table(self, name: str, key: str | None = None) -> int | None:
        header = re.compile(rf"^\s*\[\s*{re.escape(name)}\s*\]")
        for i, line in enumerate(self.lines):
            if header.match(line):
                if key is None:
                    return i + 1
                stop = next((j for j in range(i + 1, len(self.lines))
                             if _TABLE_HEADER.match(self.lines[j])), len(self.lines))
                return self._key_line(key, i + 1, stop) or i + 1
        return self.top(name)

    def account(self, index: int, key: str | None = None) -> int | None:
        if index >= len(self.account_starts):
            return None
        start = self.account_starts[index]
        stop = (self.account_starts[index + 1] if index + 1 < len(self.account_starts)
                else len(self.lines))
        if key is None:
            return start + 1
        return self._key_line(key, start + 1, stop) or start + 1


_BARE_OR_QUOTED = r"""(?:[A-Za-z0-9_-]+|"[^"\n]*"|'[^'\n]*')"""
_KEY_AT = re.compile(rf"^\s*({_BARE_OR_QUOTED}(?:\s*\.\s*{_BARE_OR_QUOTED})*)\s*=")
_HEADER_AT = re.compile(rf"^\s*\[\[?\s*({_BARE_OR_QUOTED}(?:\s*\.\s*{_BARE_OR_QUOTED})*)")
_LONG_DIGITS = re.compile(r"[0-9_]{4000,}")


def _key_on(lines: list[str], index: int) -> str | None:
    """The key assigned on ``lines[index]`` or the nearest line above that assigns one, with
    its table ("preferences.confirm")."""
    for i in range(index, -1, -1):
        match = _KEY_AT.match(lines[i])
        if match:
            key = match.group(1).strip()
            header = next((h for h in map(_HEADER_AT.match, reversed(lines[:i])) if h), None)
            return f"{header.group(1).strip()}.{key}" if header else key
    return None


def too_deep(text: str) -> tuple[str | None, int] | None:
    """(key, line) of the first value nested deeper than ``NESTING_MAX``, by a scan of the
    brackets outside strings and comments; None when nothing is. The TOML reader recurses once
    per level and would otherwise end in RecursionError."""
    depth = 0
    quote = ""
    lines = text.split("\n")
    for number, line in enumerate(lines):
        i = 0
        while i < len(line):
            char = line[i]
            if quote:
                if line.startswith(quote, i):
                    i += len(quote)
                    quote = ""
                    continue
                if char == "\\" and quote in ('"', '"""'):
                    i += 1
            elif char == "#":
                break
            elif line.startswith('"""', i) or line.startswith("'''", i):
                quote = line[i:i + 3]
                i += 3
                continue
            elif char in "\"'":
                quote = char
            elif char in "[{":
                depth += 1
                if depth > NESTING_MAX:
                    return _key_on(lines, number), number + 1
            elif char in "]}":
                depth = max(0, depth - 1)
            i += 1
        if quote in ('"', "'"):  # a one-line string does not run on (bad TOML, reported later)
            quote = ""
    return None


def long_number(text: str) -> tuple[int | None, str | None]:
    """(line, key) of the first run of digits too long to be an integer, if one is found."""
    match = _LONG_DIGITS.search(text)
    if match is None:
        return None, None
    lines = text.split("\n")
    index = text.count("\n", 0, match.start())
    return index + 1, _key_on(lines, index)
