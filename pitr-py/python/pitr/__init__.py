"""pitr: PostgreSQL point-in-time recovery toolkit.

LSNs (:class:`Lsn`), WAL segment sizes (:class:`WalSegSize`), WAL file names
(:class:`SegmentName`, :class:`WalFileName`) and PostgreSQL major versions
(:class:`PgMajor`) for PostgreSQL 13 to 18, from the Rust core of pitr.
Errors are :class:`PitrError` subclasses.
"""

from ._errors import (
    CorruptWalError,
    InvalidRequestError,
    ParseError,
    PitrError,
    PitrIOError,
    UnreachableTargetError,
)
from ._pitr import (
    OLD_WAL_MAGICS,
    ArchiveStatus,
    Compression,
    Lsn,
    PgMajor,
    SegmentName,
    WalFileKind,
    WalFileName,
    WalSegSize,
    __version__,
    backup_history_file_name,
    history_file_name,
)

__all__ = [
    "__version__",
    "OLD_WAL_MAGICS",
    # LSNs and segment sizes
    "Lsn",
    "WalSegSize",
    # WAL file names
    "SegmentName",
    "WalFileName",
    "WalFileKind",
    "Compression",
    "ArchiveStatus",
    "history_file_name",
    "backup_history_file_name",
    # PostgreSQL versions
    "PgMajor",
    # errors
    "PitrError",
    "ParseError",
    "CorruptWalError",
    "UnreachableTargetError",
    "InvalidRequestError",
    "PitrIOError",
]
