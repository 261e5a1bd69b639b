"""The SQLite side index: every record, answering filters and sorts.

Chroma has no ORDER BY and keeps one SQL row per metadata key, so the store
keeps its records here instead: ``runs`` holds the columns queries filter and
sort on (tools/store/schema.COLUMNS; its indexes, ``INDEXES``, each carry
every column a filter reads, so a query reads one index and then the table
rows it shows),
``bodies`` the rest of each record as compact JSON, ``descriptions`` the
embedded sentences (one per distinct text, shared by the runs that have it;
Chroma holds their vectors under the same id) and ``meta`` small state (how
far the journal was imported, or a server's runs pulled).
"""
from __future__ import annotations

import sqlite3
import threading
from pathlib import Path
from typing import Iterator, Sequence

from lqmf.tools.store import schema
from lqmf.tools.store.records import ExperimentRecord

# The columns every query filter reads (tools/store/query.Filter.sql). Each
# index below carries them after its leading columns, so a filter is checked
# inside the index: sorting walks one index in order and stops after the
# limit, counting reads one index, and neither visits the table.
CARRIED = ["task_mask", "status", "kind", "bits", "method", "quant_type", "model_key",
           "size_bytes", "gen_tok_s", "family_tag", "architecture"]
# Sorted columns get (col, created_at DESC) and (col DESC, created_at DESC), so
# "sort by col, newest first among equals, NULLs last, first n" walks an index
# (tools/store/query.Query.order_sql); a range filter on col seeks into it.
SORTED = ["size_bytes", "gen_tok_s", "kld_mean"]


def _index_defs() -> dict[str, str]:
    """name -> columns of every index of ``runs``."""
    def carry(*lead: str) -> str:
        names = [x.split()[0] for x in lead]
        return ", ".join([*lead, *(c for c in CARRIED if c not in names)])

    defs = {"runs_date": carry("created_at"),                           # newest first, since_days
            "runs_model": carry("model_key", "quant_type", "created_at"),  # a model (and type)
            "runs_status": carry("status", "created_at"),                # failed, queued ...
            "runs_by_desc": carry("desc_id", "created_at")}              # semantic search
    for col in SORTED:
        defs[f"runs_{col}_up"] = carry(col, "created_at DESC")
        defs[f"runs_{col}_down"] = carry(f"{col} DESC", "created_at DESC")
    return defs


INDEXES = _index_defs()
# indexes of earlier versions of this file, dropped when it is opened
OLD_INDEXES = ["runs_filters", "runs_kind", "runs_model_key", "runs_quant_type", "runs_method",
               "runs_bits", "runs_created_at"]
CHUNK = 500   # ids per IN (...) list
_RECORD_COLS = ", ".join(f"r.{n}" for n in schema.ROW_NAMES) + ", b.rest"


class SideIndex:
    def __init__(self, path: Path):
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._local = threading.local()
        with self._conn() as c:
            cols = ", ".join(f"{k} {t}" for k, t in schema.COLUMNS.items())
            c.execute(f"CREATE TABLE IF NOT EXISTS runs (id TEXT PRIMARY KEY, {cols})")
            c.execute("CREATE TABLE IF NOT EXISTS bodies (id TEXT PRIMARY KEY, rest TEXT) WITHOUT ROWID")
            have = {row[1] for row in c.execute("PRAGMA table_info(runs)").fetchall()}
            for k, t in schema.COLUMNS.items():  # a file made by an older version gains new columns
                if k not in have:
                    c.execute(f"ALTER TABLE runs ADD COLUMN {k} {t}")
                    if k in schema.REST_FIELDS_BEFORE:  # its values were kept in the rest JSON
                        c.execute(f"UPDATE runs SET {k} = (SELECT json_extract(rest, '$.{k}') FROM bodies "
                                  "WHERE bodies.id = runs.id)")
            if "task_mask" not in have:
                self._fill_task_mask(c)
            c.execute("CREATE TABLE IF NOT EXISTS descriptions (id TEXT PRIMARY KEY, text TEXT NOT NULL) "
                      "WITHOUT ROWID")
            c.execute("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT)")
            for name in OLD_INDEXES:
                c.execute(f"DROP INDEX IF EXISTS {name}")
            for name, cols in INDEXES.items():
                if c.execute("SELECT sql FROM sqlite_master WHERE type='index' AND name=?",
                             (name,)).fetchone() not in (None, (self._index_sql(name, cols),)):
                    c.execute(f"DROP INDEX {name}")   # the same name with other columns
                c.execute(self._index_sql(name, cols).replace("CREATE INDEX", "CREATE INDEX IF NOT EXISTS"))

    @staticmethod
    def _index_sql(name: str, cols: str) -> str:
        return f"CREATE INDEX {name} ON runs({cols})"

    @staticmethod
    def _fill_task_mask(c: sqlite3.Connection) -> None:
        """Rows written before task_mask existed get it from task_tags."""
        bits = " + ".join(f"(CASE WHEN task_tags LIKE '%,{t},%' THEN {schema.task_bit(t)} ELSE 0 END)"
                          for t in schema.TASKS)
        c.execute(f"UPDATE runs SET task_mask = {bits} WHERE task_mask IS NULL")

    def _conn(self) -> "_Tx":
        conn = getattr(self._local, "conn", None)
        if conn is None:
            raw = sqlite3.connect(self.path, timeout=30, isolation_level=None)
            raw.execute("PRAGMA journal_mode=WAL")
            raw.execute("PRAGMA synchronous=NORMAL")
            raw.execute("PRAGMA temp_store=MEMORY")
            conn = self._local.conn = _Tx(raw)
        return conn

    def close(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.raw.close()
            self._local.conn = None

    # ---- writes --------------------------------------------------------
    def upsert(self, rows: Sequence[tuple[tuple, str, str]]) -> tuple[dict[str, str], set[str]]:
        """Insert or replace records, given as tools/store/schema.to_row triples.
        Returns the descriptions new to the index (id -> text: their vectors must
        be added) and the description ids no run uses any more."""
        texts = {row[-1]: text for row, _, text in rows}   # desc_id is the last derived column
        names = ["id", *schema.COLUMNS]
        sql = f"INSERT OR REPLACE INTO runs ({', '.join(names)}) VALUES ({', '.join('?' * len(names))})"
        with self._conn() as c:
            before = set(self._column_in(c, "desc_id", "runs", "id", [row[0] for row, _, _ in rows]))
            c.executemany(sql, [row for row, _, _ in rows])
            c.executemany("INSERT OR REPLACE INTO bodies VALUES (?, ?)", [(row[0], rest) for row, rest, _ in rows])
            known = set(self._column_in(c, "id", "descriptions", "id", list(texts)))
            new = {d: t for d, t in texts.items() if d not in known}
            c.executemany("INSERT INTO descriptions VALUES (?, ?)", new.items())
            unused = self._drop_unused(c, before - set(texts))
        return new, unused

    def delete(self, ids: Sequence[str]) -> set[str]:
        """Remove records; returns the description ids no run uses any more."""
        with self._conn() as c:
            descs = set(self._column_in(c, "desc_id", "runs", "id", list(ids)))
            for i in range(0, len(ids), CHUNK):
                chunk = list(ids[i:i + CHUNK])
                marks = ",".join("?" * len(chunk))
                c.execute(f"DELETE FROM runs WHERE id IN ({marks})", chunk)
                c.execute(f"DELETE FROM bodies WHERE id IN ({marks})", chunk)
            return self._drop_unused(c, descs)

    @staticmethod
    def _drop_unused(c: sqlite3.Connection, descs: set[str]) -> set[str]:
        gone = {d for d in descs if d and c.execute(
            "SELECT 1 FROM runs WHERE desc_id = ? LIMIT 1", (d,)).fetchone() is None}
        c.executemany("DELETE FROM descriptions WHERE id = ?", [(d,) for d in gone])
        return gone

    @staticmethod
    def _column_in(c: sqlite3.Connection, col: str, table: str, key: str, values: list) -> list:
        out = []
        for i in range(0, len(values), CHUNK):
            chunk = values[i:i + CHUNK]
            q = f"SELECT {col} FROM {table} WHERE {key} IN ({','.join('?' * len(chunk))})"
            out += [r[0] for r in c.execute(q, chunk)]
        return out

    def set_meta(self, key: str, value: str) -> None:
        with self._conn() as c:
            c.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, value))

    def get_meta(self, key: str) -> str | None:
        row = self._conn().raw.execute("SELECT value FROM meta WHERE key=?", (key,)).fetchone()
        return row[0] if row else None

    # ---- reads ---------------------------------------------------------
    def count(self, where_sql: str = "", params: Sequence = (), at_most: int | None = None) -> int:
        """Runs matching; with ``at_most``, counting stops after ``at_most + 1``
        matches (a broad filter then reads a few thousand index entries, not all)."""
        if not where_sql:
            n = self._conn().raw.execute("SELECT COUNT(*) FROM runs").fetchone()[0]
            return n if at_most is None else min(n, at_most + 1)
        inner = f"SELECT 1 FROM runs WHERE {where_sql}"
        if at_most is not None:
            inner += f" LIMIT {int(at_most) + 1}"
        return self._conn().raw.execute(f"SELECT COUNT(*) FROM ({inner})", params).fetchone()[0]

    def analyze(self, force: bool = False) -> None:
        """Refresh the planner's statistics when the table has grown 2x since the last time."""
        n = self.count()
        last = int(self.get_meta("analyzed_rows") or 0)
        if force or n >= max(2 * last, 1000):
            self._conn().raw.execute("ANALYZE")
            self.set_meta("analyzed_rows", str(n))
            # a bulk import leaves a WAL as large as its biggest batch: give the space back
            self._conn().raw.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    def has(self, ids: Sequence[str]) -> set[str]:
        return set(self._column_in(self._conn().raw, "id", "runs", "id", list(ids)))

    def select(self, where_sql: str, params: Sequence, order_sql: str = "",
               limit: int | None = None, columns: str = "id") -> list[tuple]:
        """Rows of ``columns`` from ``runs``. An order of tools/store/query.Query.order_sql
        walks its own index (``ordered_by``), whatever the filters."""
        sql = f"SELECT {columns} FROM runs"
        index = self.ordered_by(order_sql)
        if index:
            sql += f" INDEXED BY {index}"
        if where_sql:
            sql += f" WHERE {where_sql}"
        if order_sql:
            sql += f" ORDER BY {order_sql}"
        if limit is not None:
            sql += f" LIMIT {int(limit)}"
        return self._conn().raw.execute(sql, params).fetchall()

    @staticmethod
    def ordered_by(order_sql: str) -> str | None:
        """The index that yields rows in this order, if one does.

        Walking it in order, checking the filters on the columns it carries and
        stopping after the limit costs at most one pass over the index; the
        planner, without statistics of skew, would often seek a filter that
        matches most runs ("succeeded") and sort all of them instead."""
        head = order_sql.split(",")[0].split()
        if not head:
            return None
        if head[0] == "created_at":
            return "runs_date"
        if head[0] in SORTED:
            return f"runs_{head[0]}_{'down' if len(head) > 1 and head[1] == 'DESC' else 'up'}"
        return None

    def records(self, where_sql: str = "", params: Sequence = (), order_sql: str = "",
                limit: int | None = None) -> list[ExperimentRecord]:
        """Whole records matching, in order (``where_sql`` names runs columns).
        The rows are chosen on an index first (by rowid, which every index
        carries), so only the rows shown are read from the table and joined
        with their bodies."""
        return self.get_rowids([r[0] for r in self.select(where_sql, params, order_sql, limit, "rowid")])

    def get(self, ids: Sequence[str]) -> list[ExperimentRecord]:
        """Records by id, in the order asked (missing ids are skipped)."""
        return self._fetch("r.id", ids)

    def get_rowids(self, rowids: Sequence[int]) -> list[ExperimentRecord]:
        """Records by runs rowid, in the order asked."""
        return self._fetch("r.rowid", rowids)

    def _fetch(self, key: str, keys: Sequence) -> list[ExperimentRecord]:
        c = self._conn().raw
        found: dict = {}
        for i in range(0, len(keys), CHUNK):
            chunk = list(keys[i:i + CHUNK])
            sql = (f"SELECT {key}, {_RECORD_COLS} FROM runs r JOIN bodies b ON b.id = r.id "
                   f"WHERE {key} IN ({','.join('?' * len(chunk))})")
            for row in c.execute(sql, chunk):
                found[row[0]] = schema.from_row(row[1:-1], row[-1])
        return [found[k] for k in keys if k in found]

    def descriptions_matching(self, where_sql: str, params: Sequence, limit: int) -> list[str]:
        """The distinct description ids of the runs matching, at most ``limit`` (read
        from runs_by_desc, which carries the filter columns, in description order)."""
        sql = f"SELECT DISTINCT desc_id FROM runs INDEXED BY runs_by_desc WHERE {where_sql} LIMIT {int(limit)}"
        return [r[0] for r in self._conn().raw.execute(sql, params)]

    def iter_records(self, batch: int = 2000) -> Iterator[ExperimentRecord]:
        after = ""
        while True:
            page = self.records("id > ?", [after], "id", batch)
            if not page:
                return
            yield from page
            after = page[-1].id

    def by_descriptions(self, ranked: Sequence[str], where_sql: str, params: Sequence,
                        limit: int) -> list[tuple[str, ExperimentRecord]]:
        """(description id, record) of runs with these descriptions, nearest
        description first, newest run first within one, filtered, at most ``limit``."""
        c = self._conn().raw
        # one short walk of runs_by_desc per description, newest first, until
        # ``limit`` runs (a join lets the planner build a Bloom filter over every run)
        sql = ("SELECT rowid FROM runs INDEXED BY runs_by_desc WHERE desc_id = ?"
               + (f" AND {where_sql}" if where_sql else "") + " ORDER BY created_at DESC LIMIT ?")
        picked: list[tuple[int, str]] = []
        for d in dict.fromkeys(ranked):
            if len(picked) >= limit:
                break
            picked += [(r[0], d) for r in c.execute(sql, [d, *params, limit - len(picked)])]
        records = self.get_rowids([rowid for rowid, _ in picked])
        return [(d, r) for (_, d), r in zip(picked, records)]

    def description_ids(self) -> list[str]:
        return [r[0] for r in self._conn().raw.execute("SELECT id FROM descriptions")]

    def descriptions(self, ids: Sequence[str]) -> dict[str, str]:
        """id -> text for these description ids."""
        c = self._conn().raw
        out: dict[str, str] = {}
        for i in range(0, len(ids), CHUNK):
            chunk = list(ids[i:i + CHUNK])
            q = f"SELECT id, text FROM descriptions WHERE id IN ({','.join('?' * len(chunk))})"
            out.update(c.execute(q, chunk).fetchall())
        return out

    def known_descriptions(self, ids: Sequence[str]) -> set[str]:
        return set(self._column_in(self._conn().raw, "id", "descriptions", "id", list(ids)))

    def description_count(self) -> int:
        return self._conn().raw.execute("SELECT COUNT(*) FROM descriptions").fetchone()[0]

    def distinct_models(self) -> list[str]:
        rows = self._conn().raw.execute(
            "SELECT DISTINCT model FROM runs UNION SELECT DISTINCT model_key FROM runs "
            "UNION SELECT DISTINCT model_name FROM runs").fetchall()
        return sorted({r[0] for r in rows if r[0]})


class _Tx:
    """``with conn:`` as BEGIN IMMEDIATE ... COMMIT on an autocommit connection."""

    def __init__(self, raw: sqlite3.Connection):
        self.raw = raw

    def __enter__(self) -> sqlite3.Connection:
        self.raw.execute("BEGIN IMMEDIATE")
        return self.raw

    def __exit__(self, exc_type, exc, tb) -> None:
        self.raw.execute("ROLLBACK" if exc_type else "COMMIT")
