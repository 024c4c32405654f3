"""The typed errors: what the venue refused or what could not be read (``EverstrikeError``
and its kinds), and a close that cannot be put on the wire (``EncodeError``)."""

from __future__ import annotations


class EverstrikeError(Exception):
    """The venue refused a request, or its reply could not be read.

    ``http_status`` is None when no HTTP response was involved (a parser fed a bad object).
    """

    def __init__(
        self,
        http_status: int | None,
        code: int | None,
        msg: str,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(msg)
        self.http_status = http_status
        self.code = code
        self.msg = msg
        self.retry_after = retry_after

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(http_status={self.http_status!r}, code={self.code!r}, "
            f"msg={self.msg!r}, retry_after={self.retry_after!r})"
        )


class RateLimited(EverstrikeError):
    """HTTP 429; the wait is only in the text ("Care to try again in 0.043 seconds?")."""


class StaleTimestamp(EverstrikeError):
    """HTTP 408 with body code 414: our timestamp is too old, so our clock offset is off."""


class MalformedReply(EverstrikeError):
    """Not JSON, not the documented envelope, or a result without the fields we need."""


class EncodeError(ValueError):
    """A close request that cannot be put on the wire; ``field`` names the culprit."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
