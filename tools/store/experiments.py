"""The experiment store: Chroma, embedded by default, a server when configured.

- Embedded: ``chromadb.PersistentClient`` under ``data_dir()/"chroma"``.
- Server: ``chromadb.HttpClient`` when ``LQMF_CHROMA_URL`` (or ``chroma_url``
  in ``data_dir()/config.toml``) names one, e.g. ``http://127.0.0.1:8000``.

Every collection gets the explicit offline embedding function of
tools/embeddings.py; Chroma's default one (which downloads) is never used.
Each record is one Chroma entry: id = record id, document = a generated
sentence (tools/store_schema.describe), metadata = the flattened record.

Durability: ``add`` first appends the record to the JSON-lines journal that
tools/records.JsonlStore writes (data_dir()/records.jsonl), then writes Chroma.
Opening the store imports journal lines it has not seen (records written
before this store existed, or by a writer killed between the two writes), by
record id, so importing twice changes nothing.

Beside Chroma sits a SQLite side index (tools/store_index.py) for
filter+sort queries; see that module for why.
"""
from __future__ import annotations

import contextlib
import errno
import fcntl
import hashlib
import json
import os
import time
from pathlib import Path
from typing import Iterable, Iterator, Sequence
from urllib.parse import urlparse

from lqmf.tools.config import data_dir, user_config
from lqmf.tools.errors import InvalidInput, MissingComponent, StoreCorrupt, StoreLocked, StoreUnreachable
from lqmf.tools.store.records import ExperimentRecord, RecordStore
from lqmf.tools.store.journal import JsonlStore, read_journal
from lqmf.tools.store.index import SideIndex
from lqmf.tools.store import schema
from lqmf.tools.store.files import looks_like_sqlite, read_known, write_json_atomic

ENV_URL = "LQMF_CHROMA_URL"
ENV_LOCK_TIMEOUT = "LQMF_STORE_LOCK_TIMEOUT"
COLLECTION = "experiments"
BATCH = 2000
KNOWN_MODELS = "known_models.json"


def chroma_available() -> bool:
    import importlib.util

    return importlib.util.find_spec("chromadb") is not None


def configured_url() -> str | None:
    """The Chroma server URL from the environment or data_dir()/config.toml."""
    url = os.environ.get(ENV_URL, "").strip()
    if url:
        return url
    try:
        data = user_config()
    except (OSError, InvalidInput):
        return None  # a broken config file must not hide the local store
    value = data.get("chroma_url") or data.get("store", {}).get("chroma_url")
    return str(value).strip() or None if value else None


class ChromaStore:
    """RecordStore on Chroma (plus get/query helpers). One per process and place."""

    def __init__(self, path: Path | None = None, url: str | None = None,
                 journal: Path | None = None, import_journal: bool = True):
        if not chroma_available():
            raise MissingComponent("chromadb is not installed", "pip install chromadb")
        self.url = url
        self.path = None if url else Path(path or data_dir() / "chroma")
        self.journal = JsonlStore(journal or data_dir() / "records.jsonl")
        self.known_models_path = data_dir() / KNOWN_MODELS
        self._client = self._open_client()
        self.collection = self._open_collection()
        self.index = SideIndex(self._index_path())
        self._known: set[str] | None = None
        self.sync_index()
        self._synced_at = time.monotonic()
        if import_journal:
            self.import_journal()

    # ---- opening -------------------------------------------------------
    @property
    def where(self) -> str:
        return self.url or str(self.path)

    def _open_client(self):
        from lqmf.tools.heavy import imports

        with imports():  # an embedder warm-up may be importing torch/numpy in a thread
            import chromadb
            from chromadb.config import Settings

        settings = Settings(anonymized_telemetry=False)
        if self.url:
            u = urlparse(self.url if "//" in self.url else f"http://{self.url}")
            try:
                client = chromadb.HttpClient(host=u.hostname or "127.0.0.1",
                                             port=u.port or (443 if u.scheme == "https" else 8000),
                                             ssl=u.scheme == "https", settings=settings)
                client.heartbeat()
            except Exception as e:  # noqa: BLE001 - any transport error means the same
                raise StoreUnreachable(
                    f"the Chroma server at {self.url} does not answer ({_short(e)})",
                    f"start it (`chroma run --path DIR --port {u.port or 8000}`) "
                    f"or unset {ENV_URL} to use the local store") from None
            return client
        self.path.mkdir(parents=True, exist_ok=True)
        sqlite_file = self.path / "chroma.sqlite3"
        if sqlite_file.exists() and not looks_like_sqlite(sqlite_file):
            raise self._corrupt("its database file is not a SQLite file")
        try:
            return chromadb.PersistentClient(path=str(self.path), settings=settings)
        except Exception as e:  # noqa: BLE001
            raise self._map_open_error(e) from None

    def _open_collection(self):
        from lqmf.tools.store.embeddings import embedding_function

        try:
            return self._client.get_or_create_collection(
                COLLECTION, embedding_function=embedding_function(),
                configuration={"hnsw": {"space": "cosine"}})
        except Exception as e:  # noqa: BLE001
            raise self._map_open_error(e) from None

    def _map_open_error(self, e: Exception):
        text = str(e)
        if "locked" in text.lower():
            return StoreLocked(f"the experiment store at {self.where} is locked by another process",
                               "wait for the other lqmf command to finish, then retry")
        if self.url:
            return StoreUnreachable(f"the Chroma server at {self.url} failed ({_short(e)})",
                                    "check the server's log")
        return self._corrupt(_short(e))

    def _map_write_error(self, e: Exception):
        from lqmf.tools.errors import from_backend

        text = str(e).lower()
        if "locked" in text:
            return self._map_open_error(e)
        if self.url and any(w in text for w in ("connect", "timed out", "refused", "unreachable")):
            return StoreUnreachable(f"the Chroma server at {self.url} stopped answering ({_short(e)})",
                                    "check that it is running, then retry")
        return from_backend(e, "writing to the experiment store")

    def _corrupt(self, why: str) -> StoreCorrupt:
        return StoreCorrupt(
            f"the experiment store at {self.path} cannot be read ({why})",
            f"move that folder aside and run the command again: records are re-imported from "
            f"{self.journal.path}")

    def _index_path(self) -> Path:
        if self.path is not None:
            return self.path / "lqmf_index.sqlite3"
        digest = hashlib.sha1(f"{self.url}/{COLLECTION}".encode()).hexdigest()[:16]
        return data_dir() / "chroma-index" / f"{digest}.sqlite3"

    # ---- locking (embedded: one writer at a time across processes) -------
    @contextlib.contextmanager
    def _write_lock(self) -> Iterator[None]:
        if self.path is None:
            yield
            return
        lock = self.path / ".lqmf-write.lock"
        timeout = float(os.environ.get(ENV_LOCK_TIMEOUT, "30"))
        fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            deadline = time.monotonic() + timeout
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except OSError as e:
                    if e.errno not in (errno.EAGAIN, errno.EACCES):
                        raise
                    if time.monotonic() >= deadline:
                        raise StoreLocked(
                            f"the experiment store at {self.path} is locked by another process "
                            f"for more than {timeout:.0f} s",
                            "wait for the other lqmf command to finish, then retry") from None
                    time.sleep(0.05)
            yield
        finally:
            os.close(fd)

    # ---- RecordStore ---------------------------------------------------
    def add(self, record: ExperimentRecord) -> None:
        """Journal first (fsync'd), then Chroma and the index."""
        self.journal.add(record)
        self.add_many([record])

    def all(self) -> list[ExperimentRecord]:
        return list(self.iter_records())

    # ---- bulk and helpers ------------------------------------------------
    def add_many(self, records: Sequence[ExperimentRecord], batch: int = BATCH) -> int:
        """Upsert records by id in batches. Returns the count.

        Embedding batch i+1 overlaps with writing batch i (one writer thread, in
        order); when this returns, every batch is committed."""
        from concurrent.futures import ThreadPoolExecutor

        from lqmf.tools.store.embeddings import embedder

        emb = embedder()
        records = list({r.id: r for r in records}.values())   # one entry per id, last wins
        if not records:
            return 0
        pending = None
        with ThreadPoolExecutor(1, thread_name_prefix="lqmf-store-writer") as writer:
            try:
                for i in range(0, len(records), batch):
                    chunk = records[i:i + batch]
                    docs = [schema.describe(r) for r in chunk]
                    metas = [schema.to_metadata(r) for r in chunk]
                    vecs = emb.embed(docs)
                    if pending is not None:
                        pending.result()
                    pending = writer.submit(self._write, [r.id for r in chunk], docs, metas, vecs)
                pending.result()
            except BaseException:
                if pending is not None:
                    pending.cancel()
                raise
        return len(records)

    def _write(self, ids: list[str], docs: list[str], metas: list[dict], vecs: list) -> None:
        with self._write_lock():
            try:
                self.collection.upsert(ids=ids, documents=docs, metadatas=metas, embeddings=vecs)
            except Exception as e:  # noqa: BLE001
                raise self._map_write_error(e) from None
            self.index.upsert(zip(ids, metas))
        self._note_models(metas)

    def get(self, ids: Sequence[str]) -> list[ExperimentRecord]:
        """Records by id, in the order asked (missing ids are skipped)."""
        if not ids:
            return []
        found: dict[str, ExperimentRecord] = {}
        for i in range(0, len(ids), BATCH):
            res = self.collection.get(ids=list(ids[i:i + BATCH]), include=["metadatas"])
            for rid, meta in zip(res["ids"], res["metadatas"]):
                found[rid] = schema.from_metadata(meta)
        return [found[i] for i in ids if i in found]

    def get_where(self, where: dict | None, limit: int | None = None) -> list[tuple[str, dict]]:
        """(id, metadata) of entries matching a Chroma ``where`` (no index)."""
        # paged: one unpaged get of more than ~32k rows fails inside Chroma 1.5.9
        # ("too many SQL variables")
        out: list[tuple[str, dict]] = []
        page = 5000
        while limit is None or len(out) < limit:
            size = page if limit is None else min(page, limit - len(out))
            res = self.collection.get(where=where or None, limit=size, offset=len(out),
                                      include=["metadatas"])
            out += zip(res["ids"], res["metadatas"])
            if len(res["ids"]) < size:
                break
        return out

    def semantic(self, text: str, where: dict | None = None, n: int = 10) -> list[tuple[str, float, dict]]:
        """(id, distance, metadata) of the n entries nearest to ``text``."""
        from lqmf.tools.store.embeddings import embedder

        total = max(self.index.count(), 1)   # local, no round trip; Chroma caps n anyway
        vec = embedder().embed([text])[0]
        res = self.collection.query(query_embeddings=[vec], n_results=min(n, total),
                                    where=where or None, include=["metadatas", "distances"])
        return list(zip(res["ids"][0], res["distances"][0], res["metadatas"][0]))

    def count(self) -> int:
        return self.collection.count()

    def delete(self, ids: Sequence[str]) -> None:
        with self._write_lock():
            self.collection.delete(ids=list(ids))
            self.index.delete(list(ids))

    def iter_records(self, batch: int = BATCH) -> Iterator[ExperimentRecord]:
        offset = 0
        while True:
            res = self.collection.get(include=["metadatas"], limit=batch, offset=offset)
            if not res["ids"]:
                return
            for meta in res["metadatas"]:
                yield schema.from_metadata(meta)
            offset += len(res["ids"])

    # ---- index and journal -------------------------------------------------
    SYNC_EVERY_S = 5.0          # embedded
    SERVER_SYNC_EVERY_S = 1.0   # a server

    def maybe_sync(self) -> None:
        """Before an index query: a server may have other writers (their records
        show up here within a second); locally every writer updates the shared
        index right after Chroma, so a check every few seconds catches a killed one."""
        now = time.monotonic()
        every = self.SERVER_SYNC_EVERY_S if self.url else self.SYNC_EVERY_S
        if now - self._synced_at > every:
            self.sync_index()
            self._synced_at = now

    def sync_index(self, force: bool = False) -> int:
        """Make the side index hold exactly Chroma's ids. Returns rows changed."""
        if not force and self.index.count() == self.count():
            return 0
        chroma_ids: set[str] = set()
        offset = 0
        while True:
            res = self.collection.get(include=[], limit=10_000, offset=offset)
            if not res["ids"]:
                break
            chroma_ids.update(res["ids"])
            offset += len(res["ids"])
        have = self.index.ids()
        missing = sorted(chroma_ids - have)
        extra = sorted(have - chroma_ids)
        for i in range(0, len(missing), BATCH):
            res = self.collection.get(ids=missing[i:i + BATCH], include=["metadatas"])
            self.index.upsert(zip(res["ids"], res["metadatas"]))
        if extra:
            self.index.delete(extra)
        if missing or extra:
            self._write_known_models()
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
    def _note_models(self, metas: Iterable[dict]) -> None:
        if self._known is None:
            self._known = set(read_known(self.known_models_path))
        new = set()
        for m in metas:
            for k in ("model", "model_key", "model_name"):
                v = m.get(k)
                if v and v not in self._known:
                    new.add(v)
        if new:
            self._known |= new
            write_json_atomic(self.known_models_path, sorted(self._known))

    def _write_known_models(self) -> None:
        self._known = set(self.index.distinct_models())
        write_json_atomic(self.known_models_path, sorted(self._known))

    def disk_bytes(self) -> int:
        if self.path is None:
            return 0
        return sum(p.stat().st_size for p in self.path.rglob("*") if p.is_file())


def _short(e: BaseException) -> str:
    text = str(e).strip().splitlines()
    return (text[-1] if text else type(e).__name__)[:200]


_STORES: dict[tuple, ChromaStore] = {}


def open_store(path: Path | None = None, url: str | None = None) -> ChromaStore:
    """The store for this process (cached per place; LQMF_HOME changes give a new one)."""
    url = url if url is not None else configured_url()
    place = (url,) if url else (str(Path(path or data_dir() / "chroma").resolve()),)
    key = (*place, str(data_dir()))
    store = _STORES.get(key)
    if store is None:
        store = _STORES[key] = ChromaStore(path=path, url=url)
    return store


def default_store() -> RecordStore:
    """The store every tool writes to: Chroma when chromadb is installed (it
    imports the journal's records on first open), else the JSONL journal."""
    if chroma_available():
        return open_store()
    return JsonlStore()
