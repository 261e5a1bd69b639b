"""The job store: one SQLite file in WAL mode, the source of truth for every job.

Several processes use it at once (workers, job processes, the CLI); each opens
its own connection. A damaged file is detected when opened: the readable jobs
are copied into a fresh store, the damaged file is kept beside it, and
``notice`` holds the one sentence to show the user.
"""
from __future__ import annotations

import builtins  # the `list` method shadows the builtin inside JobStore
import json
import os
import socket
import sqlite3
import time
from pathlib import Path

from lqmf.tools.config import data_dir
from lqmf.tools.errors import JobNotFound, JobStoreCorrupt
from lqmf.tools.fsutil import unique_aside
from lqmf.tools.scheduler.jobs import Job, JobKind, JobState, Needs, Priority, dumps

SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    id TEXT PRIMARY KEY, kind TEXT NOT NULL, args TEXT NOT NULL, priority INTEGER NOT NULL,
    state TEXT NOT NULL, needs TEXT NOT NULL, progress REAL, stage TEXT NOT NULL DEFAULT '',
    attempts INTEGER NOT NULL DEFAULT 0, max_attempts INTEGER NOT NULL DEFAULT 3,
    worker TEXT, pid INTEGER, result TEXT, error TEXT, note TEXT, batch TEXT, depends_on TEXT,
    shared_key TEXT, cancel_requested INTEGER NOT NULL DEFAULT 0, peak_rss_bytes INTEGER,
    created_at REAL NOT NULL, not_before REAL, started_at REAL, finished_at REAL, heartbeat_at REAL
);
CREATE INDEX IF NOT EXISTS jobs_state ON jobs(state, priority);
CREATE TABLE IF NOT EXISTS workers (
    id TEXT PRIMARY KEY, host TEXT NOT NULL, pid INTEGER NOT NULL, pid_start REAL,
    info TEXT NOT NULL DEFAULT '{}', started_at REAL NOT NULL, heartbeat_at REAL NOT NULL
);
"""
COLUMNS = ["id", "kind", "args", "priority", "state", "needs", "progress", "stage", "attempts",
           "max_attempts", "worker", "pid", "result", "error", "note", "batch", "depends_on",
           "shared_key", "cancel_requested", "peak_rss_bytes", "created_at", "not_before",
           "started_at", "finished_at", "heartbeat_at"]
_JSON = {"args", "needs", "result"}
MIN_PREFIX = 4   # the shortest id prefix that may name a job


def default_path() -> Path:
    return data_dir() / "jobs.db"


def _row_to_job(row: tuple) -> Job:
    d = dict(zip(COLUMNS, row))
    for k in _JSON:
        d[k] = json.loads(d[k]) if d[k] is not None else None
    d["kind"] = JobKind(d["kind"])
    d["state"] = JobState(d["state"])
    d["priority"] = Priority.parse(int(d["priority"]))
    d["needs"] = Needs(**(d["needs"] or {}))
    d["cancel_requested"] = bool(d["cancel_requested"])
    return Job(**d)


def _job_to_row(job: Job) -> tuple:
    d = job.to_dict()
    d["priority"] = int(job.priority)
    d["cancel_requested"] = int(job.cancel_requested)
    return tuple(dumps(d[c]) if c in _JSON and d[c] is not None else d[c] for c in COLUMNS)


class JobStore:
    def __init__(self, path: Path | None = None, *, check: bool = True):
        self.path = Path(path) if path else default_path()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.notice: str | None = None
        if check and self.path.exists():
            self._check_or_salvage()
        self.con = self._connect(self.path)

    # ---- opening, corruption -------------------------------------------------
    @staticmethod
    def _connect(path: Path) -> sqlite3.Connection:
        con = sqlite3.connect(path, timeout=30, isolation_level=None, check_same_thread=False)
        con.execute("PRAGMA busy_timeout=30000")
        con.execute("PRAGMA journal_mode=WAL")
        con.execute("PRAGMA synchronous=NORMAL")
        con.executescript(SCHEMA)
        return con

    def _check_or_salvage(self) -> None:
        try:
            con = sqlite3.connect(self.path, timeout=30)
            try:
                ok = con.execute("PRAGMA quick_check").fetchone()[0] == "ok"
                con.execute("SELECT count(*) FROM jobs").fetchone()
            finally:
                con.close()
            if ok:
                return
        except sqlite3.DatabaseError:
            pass
        rows = _salvage(self.path)
        aside = unique_aside(self.path, "corrupt")
        for suffix in ("", "-wal", "-shm"):
            src = Path(str(self.path) + suffix)
            if src.exists():
                os.replace(src, Path(str(aside) + suffix))
        con = self._connect(self.path)
        with con:
            con.executemany(f"INSERT OR IGNORE INTO jobs VALUES ({','.join('?' * len(COLUMNS))})", rows)
        con.close()
        self.notice = (f"The job store {self.path} was damaged; {len(rows)} readable jobs were kept "
                       f"and the damaged file was moved to {aside.name}.")

    def _q(self, sql: str, params: tuple = ()) -> sqlite3.Cursor:
        try:
            return self.con.execute(sql, params)
        except sqlite3.DatabaseError as e:
            if isinstance(e, sqlite3.OperationalError) and "locked" in str(e):
                raise
            raise JobStoreCorrupt(f"the job store {self.path} is damaged ({e})",
                                  "run `lqmf jobs` to keep the readable jobs and start a fresh store") from None

    def close(self) -> None:
        self.con.close()

    # ---- jobs ----------------------------------------------------------------
    def add(self, job: Job) -> Job:
        self._q(f"INSERT INTO jobs VALUES ({','.join('?' * len(COLUMNS))})", _job_to_row(job))
        return job

    def add_many(self, jobs: list[Job]) -> None:
        self._q("BEGIN IMMEDIATE")
        try:
            self.con.executemany(f"INSERT INTO jobs VALUES ({','.join('?' * len(COLUMNS))})",
                                 [_job_to_row(j) for j in jobs])
            self._q("COMMIT")
        except BaseException:
            self.con.execute("ROLLBACK")
            raise

    def get(self, job_id: str) -> Job:
        """A job by its id, or by a unique prefix of at least MIN_PREFIX characters (a shorter
        one, such as "2", would pick whichever job happens to start with it)."""
        prefix = job_id.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        like = prefix + ("%" if len(job_id) >= MIN_PREFIX else "")
        rows = self._q(f"SELECT {','.join(COLUMNS)} FROM jobs WHERE id = ? OR id LIKE ? ESCAPE '\\'",
                       (job_id, like)).fetchall()
        exact = [r for r in rows if r[0] == job_id]
        if exact or len(rows) == 1:
            return _row_to_job((exact or rows)[0])
        if not rows:
            short = f" (type at least {MIN_PREFIX} characters of an id)" if len(job_id) < MIN_PREFIX else ""
            raise JobNotFound(f"there is no job {job_id}{short}", "see `lqmf jobs` for the job ids")
        raise JobNotFound(f"the id {job_id} matches {len(rows)} jobs", "type more of the id")

    def list(self, states: list[JobState] | None = None, *, batch: str | None = None,
             limit: int | None = None, newest_first: bool = False) -> list[Job]:
        sql, params = f"SELECT {','.join(COLUMNS)} FROM jobs WHERE 1=1", []
        if states:
            sql += f" AND state IN ({','.join('?' * len(states))})"
            params += [s.value for s in states]
        if batch:
            sql += " AND batch = ?"
            params.append(batch)
        sql += " ORDER BY created_at " + ("DESC" if newest_first else "ASC") + ", rowid"
        if limit:
            sql += f" LIMIT {int(limit)}"
        return [_row_to_job(r) for r in self._q(sql, tuple(params)).fetchall()]

    def runnable(self, now: float, limit: int) -> builtins.list[Job]:
        """Queued jobs that may start now, best first (a window; admission orders it finely)."""
        rows = self._q(f"SELECT {','.join(COLUMNS)} FROM jobs WHERE state='queued' AND "
                       "(not_before IS NULL OR not_before <= ?) ORDER BY priority DESC, created_at, rowid "
                       f"LIMIT {int(limit)}", (now,)).fetchall()
        return [_row_to_job(r) for r in rows]

    def count_pending(self, now: float, max_ram: int) -> int:
        """Queued jobs a worker with ``max_ram`` would still run: due now, or retries
        waiting out a backoff (a later start the user asked for is not pending)."""
        return self._q("SELECT count(*) FROM jobs WHERE state='queued' AND "
                       "coalesce(json_extract(needs, '$.ram_bytes'), 0) <= ? AND "
                       "(not_before IS NULL OR not_before <= ? OR attempts > 0)", (max_ram, now)).fetchone()[0]

    def update(self, job_id: str, *, where: str = "", where_params: tuple = (), **fields) -> bool:
        """Set ``fields`` on a job; with ``where`` only when that SQL condition holds.
        True when a row changed (so a compare-and-set decides races)."""
        sets, params = [], []
        for k, v in fields.items():
            if k not in COLUMNS:
                raise KeyError(k)
            sets.append(f"{k} = ?")
            if k in _JSON and v is not None:
                v = dumps(v)
            elif isinstance(v, JobState):
                v = v.value
            elif isinstance(v, bool):
                v = int(v)
            params.append(v)
        sql = f"UPDATE jobs SET {', '.join(sets)} WHERE id = ?" + (f" AND ({where})" if where else "")
        return self._q(sql, (*params, job_id, *where_params)).rowcount == 1

    def claim(self, job_id: str, worker_id: str) -> bool:
        """queued -> running for exactly one worker."""
        now = time.time()
        return self._q(
            "UPDATE jobs SET state='running', worker=?, attempts=attempts+1, started_at=?, "
            "heartbeat_at=?, progress=NULL, stage='starting', pid=NULL, note=NULL "
            "WHERE id=? AND state='queued' AND cancel_requested=0",
            (worker_id, now, now, job_id)).rowcount == 1

    def finish(self, job_id: str, attempt: int, state: JobState, *, result: dict | None = None,
               error: str | None = None) -> bool:
        """running -> done, only for the attempt that is still current (never twice)."""
        return self.update(job_id, where="state = 'running' AND attempts = ?", where_params=(attempt,),
                           state=state, result=result, error=error, finished_at=time.time(),
                           progress=1.0 if state is JobState.SUCCEEDED else None,
                           stage=state.value)

    def heartbeat(self, job_ids: builtins.list[str]) -> None:
        if job_ids:
            self._q(f"UPDATE jobs SET heartbeat_at=? WHERE id IN ({','.join('?' * len(job_ids))})",
                    (time.time(), *job_ids))

    def cancel_requested(self, job_ids: builtins.list[str]) -> builtins.list[str]:
        """The ids among ``job_ids`` that a user asked to cancel."""
        if not job_ids:
            return []
        rows = self._q(f"SELECT id FROM jobs WHERE cancel_requested=1 AND id IN ({','.join('?' * len(job_ids))})",
                       tuple(job_ids)).fetchall()
        return [r[0] for r in rows]

    def counts(self) -> dict[str, int]:
        return dict(self._q("SELECT state, count(*) FROM jobs GROUP BY state").fetchall())

    # ---- workers -------------------------------------------------------------
    def register_worker(self, worker_id: str, info: dict) -> None:
        now = time.time()
        self._q("INSERT OR REPLACE INTO workers VALUES (?,?,?,?,?,?,?)",
                (worker_id, socket.gethostname(), os.getpid(), _pid_start(os.getpid()),
                 dumps(info), now, now))

    def worker_heartbeat(self, worker_id: str) -> None:
        self._q("UPDATE workers SET heartbeat_at=? WHERE id=?", (time.time(), worker_id))

    def unregister_worker(self, worker_id: str) -> None:
        self._q("DELETE FROM workers WHERE id=?", (worker_id,))

    def workers(self) -> builtins.list[dict]:
        cols = ["id", "host", "pid", "pid_start", "info", "started_at", "heartbeat_at"]
        out = []
        for r in self._q(f"SELECT {','.join(cols)} FROM workers").fetchall():
            d = dict(zip(cols, r))
            d["info"] = json.loads(d["info"])
            out.append(d)
        return out


def _pid_start(pid: int) -> float | None:
    try:
        import psutil
        return psutil.Process(pid).create_time()
    except Exception:
        return None


def _salvage(path: Path) -> list[tuple]:
    """Every jobs row that can still be read from a damaged file."""
    try:
        con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    except sqlite3.DatabaseError:
        return []
    rows: list[tuple] = []
    try:
        try:
            rows = con.execute(f"SELECT {','.join(COLUMNS)} FROM jobs").fetchall()
            return [r for r in rows if _readable(r)]
        except sqlite3.DatabaseError:
            rows = []
        try:
            top = con.execute("SELECT max(rowid) FROM jobs").fetchone()[0] or 0
        except sqlite3.DatabaseError:
            top = 100_000
        misses = 0
        for rowid in range(1, top + 1):
            try:
                r = con.execute(f"SELECT {','.join(COLUMNS)} FROM jobs WHERE rowid = ?", (rowid,)).fetchone()
            except sqlite3.DatabaseError:
                r = None
            if r is not None and _readable(r):
                rows.append(r)
                misses = 0
            else:
                misses += 1
                if misses > 5_000:
                    break
    except sqlite3.DatabaseError:
        pass
    finally:
        con.close()
    return rows


def _readable(row: tuple) -> bool:
    try:
        _row_to_job(row)
        return True
    except Exception:
        return False
