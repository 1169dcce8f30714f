"""The exceptions pitr raises.

Every error is a :class:`PitrError`; the subclasses say what kind of failure
it is and carry what is known about where it happened (``file``, ``lsn``,
``line``, ``position``; ``None`` when unknown). ``str(error)`` is the full
message of the Rust core, which already names the file and position.
"""

from __future__ import annotations

from typing import Any, Optional


class PitrError(Exception):
    """Base class of every error raised by pitr.

    Attributes:
        message: the full message.
        file: the file the error is about, if any.
        lsn: the WAL position (:class:`pitr.Lsn`) the error is about, if any.
        line: 1-based line number in ``file``, if the format is line oriented.
        position: 0-based byte position within the line (or the input).
    """

    def __init__(
        self,
        message: str,
        *,
        file: Optional[str] = None,
        lsn: Optional[Any] = None,
        line: Optional[int] = None,
        position: Optional[int] = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.file = file
        self.lsn = lsn
        self.line = line
        self.position = position

    def __str__(self) -> str:
        return self.message


class ParseError(PitrError, ValueError):
    """A text or binary input did not follow its format (an LSN, a WAL file
    name, a history file, a backup_label...). Also a :class:`ValueError`.

    Attributes:
        what: what was being parsed, e.g. ``"LSN"``.
    """

    def __init__(self, message: str, *, what: Optional[str] = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.what = what


class CorruptWalError(PitrError):
    """WAL is damaged or cannot be read; ``file`` and ``lsn`` say where."""


class UnreachableTargetError(PitrError):
    """The recovery target cannot be reached with the backups and WAL at hand.

    Attributes:
        plan: the :class:`pitr.RecoveryPlan` whose ``errors`` say why and what
            PostgreSQL would log (set by :func:`pitr.restore` and
            :meth:`pitr.RecoveryPlan.check`), else ``None``.
    """

    def __init__(self, message: str, *, plan: Optional[Any] = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.plan = plan


class InvalidRequestError(PitrError):
    """A request that cannot be carried out as asked: a bad combination of
    options, refusing to overwrite a file, a running server..."""


class ServerError(PitrError):
    """A live server answered with an error or with something pitr did not
    expect (a query failed, a function this role may not call, a major
    version pitr does not support).

    Attributes:
        endpoint: the server, as ``host=... port=...``.
    """

    def __init__(self, message: str, *, endpoint: Optional[str] = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.endpoint = endpoint


class PitrConnectionError(ServerError, ConnectionError):
    """A live server could not be reached: an invalid connection string, a
    host or socket that does not answer, a refused connection. Also a
    :class:`ConnectionError`."""

    def __reduce__(self) -> Any:
        # Like every OSError, rebuild from the message and restore the attributes.
        return (type(self), (self.message,), dict(self.__dict__))


class PitrIOError(PitrError, OSError):
    """Reading or writing a file failed. Also an :class:`OSError`, with
    ``errno``, ``strerror`` and ``filename`` set as the operating system
    reported them."""

    def __init__(
        self,
        message: str,
        *,
        errno: Optional[int] = None,
        strerror: Optional[str] = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(message, **kwargs)
        self.errno = errno
        self.strerror = strerror
        self.filename = self.file

    def __reduce__(self) -> Any:
        # errno/strerror/filename live in OSError's slots, not in __dict__.
        state = dict(self.__dict__)
        state.update(errno=self.errno, strerror=self.strerror, filename=self.filename)
        return (type(self), (self.message,), state)


__all__ = [
    "PitrError",
    "ParseError",
    "CorruptWalError",
    "UnreachableTargetError",
    "InvalidRequestError",
    "ServerError",
    "PitrConnectionError",
    "PitrIOError",
]
