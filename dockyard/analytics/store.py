"""The analytics store: one DuckDB database file, a table per dataset.

Why DuckDB: the request log is append-only, read as aggregates over a time window, and on
one machine it is millions of rows an hour. DuckDB stores each column compressed and keeps
min/max per row group of about 122,000 rows; rows arrive in time order, so a query for one
hour reads only the row groups of that hour, however many days the table holds. It runs
in the API process (no server to operate), and what the collector appends is queryable at
once. Retention deletes whole days of rows at a time, oldest first.

One process opens the file read-write (the API's collector); every query goes through
that process. `read` runs one statement with a deadline: past it the statement is
interrupted (QueryTooExpensive).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import duckdb

from dockyard.analytics.records import TABLES, Table

log = logging.getLogger(__name__)

QUERY_SECONDS = 5.0
MEMORY_LIMIT = "512MB"


class QueryTooExpensive(Exception):
    """The statement ran past its deadline and was interrupted."""


class QueryFailed(Exception):
    """DuckDB refused the statement (an unknown column, a type that does not fit)."""


class AnalyticsStore:
    def __init__(self, path: Path | None, tables: Sequence[Table] = TABLES) -> None:
        """`path` None: an in-memory store (tests, benchmarks, one query's scratch)."""
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
        self._db = duckdb.connect(str(path) if path is not None else ":memory:")
        self._db.execute(f"SET memory_limit = '{MEMORY_LIMIT}'")
        self._write = threading.Lock()
        self._tables = tuple(tables)
        for table in self._tables:
            columns = ", ".join(f'"{name}" {kind}' for name, kind in table.columns)
            self._db.execute(f"CREATE TABLE IF NOT EXISTS {table.name} ({columns})")
            for name, kind in table.columns:  # a column added since the file was made
                self._db.execute(
                    f'ALTER TABLE {table.name} ADD COLUMN IF NOT EXISTS "{name}" {kind}'
                )

    def append(self, table: Table, rows: Sequence[Sequence[Any]]) -> None:
        """Append rows (tuples in the table's column order), as one columnar insert."""
        if not rows:
            return
        columns = [list(column) for column in zip(*rows, strict=True)]
        names = ", ".join(f'"{name}"' for name in table.column_names)
        unnest = ", ".join(f"UNNEST($c{i})" for i in range(len(table.columns)))
        params = {f"c{i}": column for i, column in enumerate(columns)}
        with self._write:
            self._db.execute(f"INSERT INTO {table.name} ({names}) SELECT {unnest}", params)

    def forget_before(self, time_ms: int) -> int:
        """Delete every row older than `time_ms`; returns how many went."""
        gone = 0
        with self._write:
            for table in self._tables:
                result = self._db.execute(
                    f"DELETE FROM {table.name} WHERE time < $cutoff",  # noqa: S608 - our own names
                    {"cutoff": time_ms},
                ).fetchone()
                gone += int(result[0]) if result else 0
            if gone:
                self._db.execute("CHECKPOINT")
        return gone

    def read(
        self, sql: str, *, seconds: float = QUERY_SECONDS
    ) -> tuple[list[str], list[tuple[Any, ...]]]:
        """Run one read statement: (column names, rows)."""
        cursor = self._db.cursor()
        timer = threading.Timer(seconds, cursor.interrupt)
        timer.start()
        try:
            result = cursor.execute(sql)
            names = [column[0] for column in result.description or ()]
            return names, result.fetchall()
        except duckdb.InterruptException as error:
            raise QueryTooExpensive(str(error)) from error
        except duckdb.Error as error:
            raise QueryFailed(_first_line(str(error))) from error
        finally:
            timer.cancel()
            cursor.close()

    def close(self) -> None:
        self._db.close()


def _first_line(message: str) -> str:
    return message.strip().splitlines()[0] if message.strip() else "the query failed"
