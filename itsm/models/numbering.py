"""Human record numbers (INC0001001, PRB0001001, ...) from one PostgreSQL sequence per prefix.

A sequence hands out each value once, whatever the concurrency, without locking a row for the
length of the caller's transaction. A rolled-back transaction leaves a gap; never a collision.
"""

from __future__ import annotations

import re
from typing import ClassVar

from django.db import connection, models, transaction
from django.db.utils import ProgrammingError

from .base import Record

NUMBER_DIGITS = 7
NUMBER_START = 1001
_PREFIX = re.compile(r"^[A-Z]{2,6}$")


def _sequence_name(prefix: str) -> str:
    if not _PREFIX.match(prefix):
        raise ValueError(f"record number prefix must be 2-6 capital letters, not {prefix!r}")
    return f"itsm_number_{prefix.lower()}"


def ensure_number_sequence(prefix: str, using: str = "default") -> None:
    """Create the sequence for a prefix if it is missing (run after migrate for every numbered model)."""
    from django.db import connections

    with connections[using].cursor() as cursor:
        cursor.execute(f"CREATE SEQUENCE IF NOT EXISTS {_sequence_name(prefix)} START WITH {NUMBER_START}")


def format_number(prefix: str, value: int) -> str:
    return f"{prefix}{value:0{NUMBER_DIGITS}d}"


# Sequences this process has used; sequences are never dropped while the application runs.
_seen: set[str] = set()


def allocate_numbers(prefix: str, count: int) -> list[str]:
    """Allocate ``count`` consecutive-ish numbers for bulk loads in one round trip."""
    sequence = _sequence_name(prefix)
    # The name is built from a validated prefix (2-6 capital letters), never from user input.
    sql = f"SELECT nextval('{sequence}') FROM generate_series(1, %s)"  # noqa: S608
    if sequence in _seen:
        # Known to exist: no savepoint (two round trips) around the one statement.
        with connection.cursor() as cursor:
            cursor.execute(sql, [count])
            return [format_number(prefix, row[0]) for row in cursor.fetchall()]
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(sql, [count])
            values = [row[0] for row in cursor.fetchall()]
        _seen.add(sequence)
    except ProgrammingError:
        # The sequence is created after migrate; a database migrated by hand may lack it.
        ensure_number_sequence(prefix)
        with connection.cursor() as cursor:
            cursor.execute(sql, [count])
            values = [row[0] for row in cursor.fetchall()]
    return [format_number(prefix, value) for value in values]


def allocate_number(prefix: str) -> str:
    """Allocate the next number for a prefix."""
    return allocate_numbers(prefix, 1)[0]


class NumberedRecord(Record):
    """A record with a human number, allocated when it is first saved."""

    number_prefix: ClassVar[str]

    number = models.CharField(max_length=20, unique=True, editable=False)

    class Meta:
        abstract = True

    def save(self, *args, **kwargs):
        if not self.number:
            self.number = allocate_number(self.number_prefix)
        super().save(*args, **kwargs)

    def __str__(self) -> str:
        return self.number
