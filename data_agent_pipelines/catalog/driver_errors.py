"""What a database driver's error means for the catalog: a write refused for the data it carries (retried row by
row, so that the offending item fails alone), or a full disk (no write can succeed until space is freed)."""

from __future__ import annotations

import sqlite3

from sqlalchemy.exc import DBAPIError

# SQLSTATE classes of a value the database refuses: data exception, integrity constraint, program limit (an index
# row or a string too large). Anything else (a lost connection, a full disk, a lock) is the backend's, not the row's.
_PG_DATA_CLASSES = ("22", "23", "54")
_SQLITE_DATA_ERRORS = ("SQLITE_TOOBIG", "SQLITE_MISMATCH", "SQLITE_RANGE")
_PG_DISK_FULL = "53100"


def driver_error(exc: BaseException) -> BaseException:
    """The database driver's own error behind SQLAlchemy's wrapper (or `exc` itself, as psycopg2 raises it raw
    from `execute_values`)."""
    return exc.orig if isinstance(exc, DBAPIError) else exc


def refused_by_data(exc: BaseException) -> bool:
    """Whether a write failed on what its rows hold rather than on the backend itself."""
    if isinstance(exc, (OverflowError, TypeError, UnicodeError)):
        return True
    orig = driver_error(exc)
    if isinstance(orig, sqlite3.Error):
        name = getattr(orig, "sqlite_errorname", "")
        return isinstance(orig, (sqlite3.DataError, sqlite3.IntegrityError)) or name in _SQLITE_DATA_ERRORS
    pgcode = getattr(orig, "pgcode", None)
    if pgcode is not None:
        return str(pgcode)[:2] in _PG_DATA_CLASSES
    # psycopg2 refuses a string with NUL before sending it, with a plain ValueError.
    return isinstance(orig, ValueError)


def refusal(exc: BaseException) -> str:
    """The reason an item gets when the catalog refused its row (the driver's first line, bounded)."""
    orig = driver_error(exc)
    lines = str(orig).strip().splitlines() or [type(orig).__name__]
    return f"the catalog refused the item: {lines[0][:300]}"


def disk_full(exc: BaseException) -> bool:
    """Whether the database refused a transaction for want of space."""
    orig = driver_error(exc)
    return getattr(orig, "sqlite_errorname", None) == "SQLITE_FULL" or getattr(orig, "pgcode", None) == _PG_DISK_FULL
