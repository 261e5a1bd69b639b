"""The experiment store: the journal, the side index and Chroma's vectors.

- The journal (tools/store/journal.py, data_dir()/records.jsonl) is where
  ``add`` writes first (fsync'd) and where engines append their runs.
- The side index (tools/store/index.py, SQLite) holds every record and
  answers every filter and sort.
- Chroma (tools/store/vectors.py) holds one vector per distinct description,
  for semantic search: Chroma gives the nearest description ids, the side
  index the runs that have them, within the query's filters.
- With a Chroma server, the server also holds every run (tools/store/shared.py),
  so that each client's side index gets the runs the others wrote.

Opening the store imports journal lines it has not seen (by record id, so
importing twice changes nothing), moves a store of the layout before into
this one (tools/store/migrate.py; the old data is left where it was), and
adds any vector a writer killed between the two writes left out.
"""
from __future__ import annotations

import contextlib
import hashlib
import json
import time
from pathlib import Path
from typing import Iterator, Sequence

from lqmf.tools.config import data_dir
from lqmf.tools.errors import MissingComponent
from lqmf.tools.settings import get
from lqmf.tools.store import schema
from lqmf.tools.store.files import read_known, write_json_atomic, write_lock
from lqmf.tools.store.index import SideIndex
from lqmf.tools.store.journal import JsonlStore, read_journal
from lqmf.tools.store.records import ExperimentRecord, RecordStore
from lqmf.tools.store.shared import SharedRuns
from lqmf.tools.store.vectors import Vectors, chroma_available, configured_url

BATCH = 2000
KNOWN_MODELS = "known_models.json"
INDEX_FILE = "lqmf_records.sqlite3"
NARROW_SHARE = 0.5  # semantic search within a filter whose runs have at most this share of the
                    # descriptions ranks those descriptions alone


class ChromaStore:
    """RecordStore on the side index and Chroma (plus query helpers). One per process and place."""

    SYNC_EVERY_S = 2.0   # maybe_sync: journal lines and vectors from other processes

    def __init__(self, path: Path | None = None, url: str | None = None,
                 journal: Path | None = None, import_journal: bool = True):
        if not chroma_available():
            raise MissingComponent("chromadb is not installed", "pip install chromadb")
        self.url = url
        self.path = None if url else Path(path or data_dir() / "chroma")
        self.journal = JsonlStore(journal or data_dir() / "records.jsonl")
        self.known_models_path = data_dir() / KNOWN_MODELS
        self.vectors = Vectors(self.path, url, self.journal.path)
        self.index = SideIndex(self._index_path())
        self.shared = SharedRuns(self.vectors) if url else None
        self._known: set[str] | None = None
        from lqmf.tools.store.migrate import migrate_old_layout

        migrate_old_layout(self)
        self.sync_vectors(full=self.url is not None)
        self._synced_at = time.monotonic()
        if import_journal:
            self.import_journal()
        self.pull_shared()

    @property
    def where(self) -> str:
        return self.vectors.where

    @property
    def collection(self):
        return self.vectors.collection

    @property
    def owns_vectors(self) -> bool:
        """Embedded: this store alone writes its Chroma folder, so it may delete
        vectors no run uses. A server's collection may serve other clients too."""
        return self.path is not None

    def _index_path(self) -> Path:
        if self.path is not None:
            return self.path / INDEX_FILE
        digest = hashlib.sha1(f"{self.url}/{self.collection.name}".encode()).hexdigest()[:16]
        return data_dir() / "chroma-index" / f"{digest}.records.sqlite3"

    @contextlib.contextmanager
    def _write_lock(self) -> Iterator[None]:
        """Embedded: one writer at a time across processes."""
        if self.path is None:
            yield
            return
        timeout = float(get("store.lock_timeout"))
        with write_lock(self.path / ".lqmf-write.lock", timeout, str(self.path)):
            yield

    # ---- RecordStore ---------------------------------------------------
    def add(self, record: ExperimentRecord) -> None:
        """Journal first (fsync'd), then the side index and Chroma."""
        self.journal.add(record)
        self.add_many([record])

    def all(self) -> list[ExperimentRecord]:
        return list(self.iter_records())

    # ---- writes ----------------------------------------------------------
    def add_many(self, records: Sequence[ExperimentRecord], batch: int = BATCH,
                 known_vectors: dict | None = None) -> int:
        """Upsert records by id in batches. Returns the count.

        Only descriptions the store has not seen are embedded (``known_vectors``,
        text -> vector, supplies some); embedding batch i+1 overlaps with writing
        batch i (one writer thread, in order); when this returns, every batch is
        committed."""
        from concurrent.futures import ThreadPoolExecutor

        from lqmf.tools.store.embeddings import embedder

        emb = embedder()
        records = list({r.id: r for r in records}.values())   # one entry per id, last wins
        if not records:
            return 0
        seen: set[str] = set()
        pending = None
        with ThreadPoolExecutor(1, thread_name_prefix="lqmf-store-writer") as writer:
            try:
                for i in range(0, len(records), batch):
                    chunk = records[i:i + batch]
                    rows = [schema.to_row(r) for r in chunk]
                    texts = {row[-1]: text for row, _, text in rows}
                    todo = [d for d in texts if d not in seen]
                    seen.update(todo)
                    fresh = [d for d in todo if d not in self.index.known_descriptions(todo)]
                    vecs = self._vectors_for([texts[d] for d in fresh], emb, known_vectors)
                    if pending is not None:
                        pending.result()
                    pending = writer.submit(self._write, rows, dict(zip(fresh, vecs)), chunk)
                if pending is not None:
                    pending.result()
                self.index.analyze()
            except BaseException:
                if pending is not None:
                    pending.cancel()
                raise
        return len(records)

    @staticmethod
    def _vectors_for(texts: list[str], emb, known: dict | None) -> list:
        if not known:
            return emb.embed(texts) if texts else []
        out = [known.get(t) for t in texts]
        todo = [t for t, v in zip(texts, out) if v is None]
        made = iter(emb.embed(todo) if todo else [])
        return [v if v is not None else next(made) for v in out]

    def _write(self, rows: list, vecs: dict, records: Sequence[ExperimentRecord]) -> None:
        with self._write_lock():
            new, unused = self.index.upsert(rows)
            missing = [d for d in new if d not in vecs]
            if missing:   # another writer dropped them between our check and this write
                from lqmf.tools.store.embeddings import embedder

                vecs.update(zip(missing, embedder().embed([new[d] for d in missing])))
            ids = list(new)
            self.vectors.upsert(ids, [new[d] for d in ids], [vecs[d] for d in ids])
            if unused and self.owns_vectors:
                self.vectors.delete(sorted(unused))
        if self.shared is not None:
            self.shared.push(records)   # after its vector: a pulled run finds it on the server
        self._note_models(rows)

    def delete(self, ids: Sequence[str]) -> None:
        with self._write_lock():
            unused = self.index.delete(list(ids))
            if unused and self.owns_vectors:
                self.vectors.delete(sorted(unused))
            if self.shared is not None:
                self.shared.delete(list(ids))

    # ---- reads -----------------------------------------------------------
    def get(self, ids: Sequence[str]) -> list[ExperimentRecord]:
        """Records by id, in the order asked (missing ids are skipped)."""
        return self.index.get(ids) if ids else []

    def find(self, where_sql: str = "", params: Sequence = (), order_sql: str = "",
             limit: int | None = None) -> list[ExperimentRecord]:
        """Records matching a side-index condition (tools/store/query.Query.sql)."""
        return self.index.records(where_sql, params, order_sql, limit)

    def count(self) -> int:
        return self.index.count()

    def iter_records(self, batch: int = BATCH) -> Iterator[ExperimentRecord]:
        return self.index.iter_records(batch)

    def semantic(self, text: str, where_sql: str = "", params: Sequence = (),
                 n: int = 10) -> list[tuple[ExperimentRecord, float]]:
        """(record, cosine distance) of the n runs whose descriptions are nearest
        to ``text``, among the runs matching ``where_sql``; newest first within
        one description."""
        from lqmf.tools.store.embeddings import embedder

        if n <= 0 or not self.index.description_count():
            return []
        vec = embedder().embed([text])[0]
        total = self.vectors.count()
        if where_sql:
            # the descriptions of the matching runs: one pass over runs_by_desc
            # (runs that read the same share one), stopped when they are too many
            most = int(NARROW_SHARE * total)
            descs = self.index.descriptions_matching(where_sql, params, most + 1)
            if not descs:
                return []
            if len(descs) <= most:
                # n nearest of those descriptions give at least n runs
                hits = self.vectors.nearest(vec, min(n, len(descs)), descs)
                rows = self.index.by_descriptions([d for d, _ in hits], where_sql, params, n)
                dist = dict(hits)
                return [(r, dist[d]) for d, r in rows]
        k = min(total, max(4 * n, 64))
        while True:   # the nearest descriptions, then those of their runs that match
            hits = self.vectors.nearest(vec, k)
            rows = self.index.by_descriptions([d for d, _ in hits], where_sql, params, n)
            if len(rows) >= n or k >= total:
                break
            k = min(total, k * 4)
        dist = dict(hits)
        return [(r, dist[d]) for d, r in rows]

    # ---- keeping the parts together ----------------------------------------
    def maybe_sync(self) -> None:
        """Before a query: every few seconds, import what other processes appended
        to the journal and add vectors a killed writer left out."""
        now = time.monotonic()
        if now - self._synced_at > self.SYNC_EVERY_S:
            self._synced_at = now
            self.import_journal()
            self.pull_shared()
            self.sync_vectors()

    def pull_shared(self) -> int:
        """With a server: add to the side index the runs other clients wrote."""
        return self.shared.pull(self.index, self._take_shared) if self.shared is not None else 0

    def _take_shared(self, records: list[ExperimentRecord]) -> None:
        from lqmf.tools.store.embeddings import embedder

        rows = [schema.to_row(r) for r in records]
        new, _ = self.index.upsert(rows)
        if new:   # the writer added their vectors; one of another version may word a run otherwise
            have = set(self.vectors.collection.get(ids=list(new), include=[])["ids"])
            todo = [d for d in new if d not in have]
            if todo:
                self.vectors.upsert(todo, [new[d] for d in todo], embedder().embed([new[d] for d in todo]))
        self._note_models(rows)

    def sync_vectors(self, full: bool = False) -> int:
        """Give every description in the side index its vector in Chroma (and, when
        this store owns its Chroma folder, drop vectors no run uses). Returns how
        many changed. Cheap when the counts agree, unless ``full``."""
        from lqmf.tools.store.embeddings import embedder

        want_n = self.index.description_count()
        if not full and want_n == self.vectors.count():
            return 0
        with self._write_lock():
            have = self.vectors.ids()
            want = set(self.index.description_ids())
            missing = sorted(want - have)
            extra = sorted(have - want) if self.owns_vectors else []
            for i in range(0, len(missing), BATCH):
                texts = self.index.descriptions(missing[i:i + BATCH])
                ids = list(texts)
                self.vectors.upsert(ids, [texts[d] for d in ids], embedder().embed([texts[d] for d in ids]))
            self.vectors.delete(extra)
        return len(missing) + len(extra)

    def import_journal(self, path: Path | None = None) -> int:
        """Add journal records this store lacks (by id). Returns how many were added."""
        journal = Path(path) if path else self.journal.path
        if not journal.exists():
            return 0
        key = f"journal:{journal.resolve()}"
        st = journal.stat()
        state = json.loads(self.index.get_meta(key) or "{}")
        offset = state.get("offset", 0)
        if state.get("inode") != st.st_ino or offset > st.st_size:
            offset = 0
        if offset == st.st_size:
            return 0
        records, end = read_journal(journal, offset)
        added = 0
        for i in range(0, len(records), BATCH):
            chunk = records[i:i + BATCH]
            present = self.index.has([r.id for r in chunk])
            todo = [r for r in chunk if r.id not in present]
            if todo:
                added += self.add_many(todo)
        self.index.set_meta(key, json.dumps({"inode": st.st_ino, "offset": end}))
        return added

    # ---- known model names for the parser --------------------------------
    def _note_models(self, rows: list) -> None:
        if self._known is None:
            self._known = set(read_known(self.known_models_path))
        at = [schema.ROW_NAMES.index("model"), schema.ROW_NAMES.index("model_name"),
              len(schema.ROW_NAMES) + list(schema.DERIVED).index("model_key")]
        new = {row[i] for row, _, _ in rows for i in at if row[i]} - self._known
        if new:
            self._known |= new
            write_json_atomic(self.known_models_path, sorted(self._known))

    def disk_bytes(self) -> int:
        if self.path is None:
            return 0
        return sum(p.stat().st_size for p in self.path.rglob("*") if p.is_file())


def open_store(path: Path | None = None, url: str | None = None) -> ChromaStore:
    """A store on this data dir's Chroma (or the configured server). Not cached: the
    caller holds it (the application layer's App opens one per process)."""
    return ChromaStore(path=path, url=url if url is not None else configured_url())


def default_store() -> RecordStore:
    """The store every tool writes to: Chroma when chromadb is installed (it
    imports the journal's records on first open), else the JSONL journal."""
    if chroma_available():
        return open_store()
    return JsonlStore()
