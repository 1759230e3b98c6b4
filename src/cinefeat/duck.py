"""The process's one in-memory DuckDB database, shared by loaders, transforms and the stores."""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
import threading

import duckdb

from cinefeat.sqltext import sql_string

__all__ = ["connect"]

_database: duckdb.DuckDBPyConnection | None = None
_MAX_SPILL = "16GB"
_database_lock = threading.Lock()


def connect() -> duckdb.DuckDBPyConnection:
    """A connection (cursor) to the process's in-memory DuckDB database; close it after use.

    Opening a database costs about 18 ms, a cursor on it microseconds, and cursors may be used
    from different threads. The time zone is UTC for all of them: casting a naive Parquet
    timestamp to TIMESTAMPTZ must mean UTC, not the machine's local zone.
    """
    global _database
    with _database_lock:
        if _database is None:
            _database = duckdb.connect()
            _database.execute("SET GLOBAL TimeZone = 'UTC'")
            # Spill files go to a directory of this process's own under the system's temp
            # directory (DuckDB names its spill files alike in every process, and removes them
            # on exit), and may not fill the disk: a query that would need more fails instead.
            spill = tempfile.mkdtemp(prefix="cinefeat-duckdb-")
            atexit.register(shutil.rmtree, spill, ignore_errors=True)
            _database.execute(f"SET GLOBAL temp_directory = {sql_string(spill)}")
            _database.execute(f"SET GLOBAL max_temp_directory_size = '{_MAX_SPILL}'")
            # A pipeline's worker processes each get one thread: processes are the parallelism.
            if threads := os.environ.get("CINEFEAT_DUCKDB_THREADS"):
                _database.execute(f"SET GLOBAL threads = {int(threads)}")
        return _database.cursor()
