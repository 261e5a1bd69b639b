"""A SQLite side index of the numeric and categorical metadata, for filter+sort.

Why it exists: Chroma has no ORDER BY, so a sorted query must fetch every
matching row's metadata and sort in Python; with 100,000 records a filtered
``get`` alone takes 120-500 ms here. This table answers "filter, sort, limit"
with B-tree indexes in a few ms and returns record ids; the rows themselves are
then read from Chroma, which stays the store of record. The index is derived
data: it is rebuilt from Chroma whenever their counts differ (a writer killed
between the two writes, another client of the same server).
"""
from __future__ import annotations

import sqlite3
import threading
from pathlib import Path
from typing import Iterable, Sequence

# column -> SQL type; names match the Chroma metadata keys
COLUMNS: dict[str, str] = {
    "kind": "TEXT", "status": "TEXT", "model": "TEXT", "model_name": "TEXT", "model_key": "TEXT",
    "family": "TEXT", "architecture": "TEXT", "method": "TEXT", "quant_type": "TEXT", "bits": "INTEGER",
    "device": "TEXT", "threads": "INTEGER", "cpu_busy": "REAL", "host": "TEXT", "artifact": "TEXT",
    "size_bytes": "INTEGER", "gen_tok_s": "REAL", "prompt_tok_s": "REAL", "kld_mean": "REAL",
    "ppl": "REAL", "ppl_delta_pct": "REAL", "peak_rss_mb": "REAL", "duration_s": "REAL",
    "created_at": "REAL", "tasks": "TEXT",
}
INDEXED = ["status", "model_key", "quant_type", "method", "bits", "size_bytes", "gen_tok_s",
           "kld_mean", "created_at"]


class SideIndex:
    def __init__(self, path: Path):
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._local = threading.local()
        with self._conn() as c:
            cols = ", ".join(f"{k} {t}" for k, t in COLUMNS.items())
            c.execute(f"CREATE TABLE IF NOT EXISTS runs (id TEXT PRIMARY KEY, {cols})")
            have = {row[1] for row in c.execute("PRAGMA table_info(runs)").fetchall()}
            for k, t in COLUMNS.items():  # an index made by an older version gains the new columns
                if k not in have:
                    c.execute(f"ALTER TABLE runs ADD COLUMN {k} {t}")
            c.execute("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT)")
            for col in INDEXED:
                c.execute(f"CREATE INDEX IF NOT EXISTS runs_{col} ON runs({col})")

    def _conn(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.path, timeout=30, isolation_level=None)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn = _Tx(conn)
            self._local.conn = conn
        return conn

    def close(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.raw.close()
            self._local.conn = None

    # ---- writes --------------------------------------------------------
    def upsert(self, rows: Iterable[tuple[str, dict]]) -> None:
        names = list(COLUMNS)
        sql = (f"INSERT OR REPLACE INTO runs (id, {', '.join(names)}) "
               f"VALUES (?, {', '.join('?' for _ in names)})")
        data = [(rid, *(_cell(meta, n) for n in names)) for rid, meta in rows]
        with self._conn() as c:
            c.executemany(sql, data)

    def delete(self, ids: Sequence[str]) -> None:
        with self._conn() as c:
            for i in range(0, len(ids), 500):
                chunk = ids[i:i + 500]
                c.execute(f"DELETE FROM runs WHERE id IN ({','.join('?' * len(chunk))})", chunk)

    def clear(self) -> None:
        with self._conn() as c:
            c.execute("DELETE FROM runs")

    def set_meta(self, key: str, value: str) -> None:
        with self._conn() as c:
            c.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, value))

    def get_meta(self, key: str) -> str | None:
        row = self._conn().raw.execute("SELECT value FROM meta WHERE key=?", (key,)).fetchone()
        return row[0] if row else None

    # ---- reads ---------------------------------------------------------
    def count(self, where_sql: str = "", params: Sequence = ()) -> int:
        sql = "SELECT COUNT(*) FROM runs" + (f" WHERE {where_sql}" if where_sql else "")
        return self._conn().raw.execute(sql, params).fetchone()[0]

    def ids(self) -> set[str]:
        return {r[0] for r in self._conn().raw.execute("SELECT id FROM runs")}

    def has(self, ids: Sequence[str]) -> set[str]:
        found: set[str] = set()
        raw = self._conn().raw
        for i in range(0, len(ids), 500):
            chunk = list(ids[i:i + 500])
            q = f"SELECT id FROM runs WHERE id IN ({','.join('?' * len(chunk))})"
            found.update(r[0] for r in raw.execute(q, chunk))
        return found

    def select(self, where_sql: str, params: Sequence, order_sql: str = "",
               limit: int | None = None, columns: str = "id") -> list[tuple]:
        sql = f"SELECT {columns} FROM runs"
        if where_sql:
            sql += f" WHERE {where_sql}"
        if order_sql:
            sql += f" ORDER BY {order_sql}"
        if limit is not None:
            sql += f" LIMIT {int(limit)}"
        return self._conn().raw.execute(sql, params).fetchall()

    def distinct_models(self) -> list[str]:
        rows = self._conn().raw.execute(
            "SELECT DISTINCT model FROM runs UNION SELECT DISTINCT model_key FROM runs "
            "UNION SELECT DISTINCT model_name FROM runs").fetchall()
        return sorted({r[0] for r in rows if r[0]})


def _cell(meta: dict, name: str):
    value = meta.get(name)
    if name == "tasks" and value is not None:
        return f",{value},"  # so LIKE '%,chat,%' matches whole tags only
    return value


class _Tx:
    """``with conn:`` as BEGIN IMMEDIATE ... COMMIT on an autocommit connection."""

    def __init__(self, raw: sqlite3.Connection):
        self.raw = raw

    def __enter__(self) -> sqlite3.Connection:
        self.raw.execute("BEGIN IMMEDIATE")
        return self.raw

    def __exit__(self, exc_type, exc, tb) -> None:
        self.raw.execute("ROLLBACK" if exc_type else "COMMIT")
