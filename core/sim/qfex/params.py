"""Reading a trade message's ``params``: a wrong type is an InvalidParameter ``err``."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

__all__ = ["BadParam", "dec_param", "flag_param", "str_param"]


class BadParam(Exception):
    """Answered with ``err`` InvalidParameter and the exception's text."""


def str_param(params: dict[str, Any], key: str, default: str | None = None) -> str:
    value = params.get(key, default)
    if not isinstance(value, str):
        raise BadParam(f"{key} must be a string")
    return value


def dec_param(params: dict[str, Any], key: str, default: Decimal | None = None) -> Decimal:
    value = params.get(key)
    if value is None:
        if default is None:
            raise BadParam(f"{key} is required")
        return default
    if isinstance(value, bool) or not isinstance(value, int | Decimal):
        raise BadParam(f"{key} must be a number")
    return Decimal(value)


def flag_param(params: dict[str, Any], key: str) -> bool:
    value = params.get(key, False)
    if not isinstance(value, bool):
        raise BadParam(f"{key} must be true or false")
    return value
