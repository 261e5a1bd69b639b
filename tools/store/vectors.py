"""The Chroma part of the store: one vector per distinct run description.

- Embedded: ``chromadb.PersistentClient`` under the store folder.
- Server: ``chromadb.HttpClient`` when ``LQMF_CHROMA_URL`` (or ``chroma_url``
  in ``data_dir()/config.toml``) names one, e.g. ``http://127.0.0.1:8000``.

Chroma keeps only what semantic search needs: an entry per distinct sentence
(tools/store/schema.describe), id = the description id the side index keeps
for every run, document = the sentence, the vector, and no metadata. Runs
that read the same (the same model and type measured again) share one entry.
Filters, sorts and the records themselves live in the side index (and,
with a server, in a second collection: tools/store/shared.py).

Every collection gets the explicit offline embedding function of
tools/store/embeddings.py; Chroma's default one (which downloads) is never used.
"""
from __future__ import annotations

from pathlib import Path
from typing import Sequence
from urllib.parse import urlparse

from lqmf.tools.config import user_config
from lqmf.tools.errors import InvalidInput, StoreCorrupt, StoreLocked, StoreUnreachable
from lqmf.tools.settings import BY_KEY, get
from lqmf.tools.store.files import looks_like_sqlite

ENV_URL = str(BY_KEY["store.chroma_url"].env)
COLLECTION = "lqmf_descriptions"
OLD_COLLECTION = "experiments"     # the layout before: one entry per run, the record as metadata
PAGE = 5000


def chroma_available() -> bool:
    import importlib.util

    return importlib.util.find_spec("chromadb") is not None


def configured_url() -> str | None:
    """The Chroma server URL from the environment or data_dir()/config.toml."""
    try:
        data = user_config()
    except (OSError, InvalidInput):
        data = {}  # a broken config file must not hide the local store
    return str(get("store.chroma_url", config=data)) or None


class Vectors:
    """The Chroma collection of description vectors (embedded or a server)."""

    def __init__(self, path: Path | None, url: str | None, journal_path: Path):
        self.url, self.path, self.journal_path = url, path, journal_path
        self.client = self._open_client()
        self.collection = self._open_collection()

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
                    f"the Chroma server at {self.url} does not answer ({short(e)})",
                    f"start it (`chroma run --path DIR --port {u.port or 8000}`) "
                    f"or unset {ENV_URL} to use the local store") from None
            return client
        assert self.path is not None
        self.path.mkdir(parents=True, exist_ok=True)
        sqlite_file = self.path / "chroma.sqlite3"
        if sqlite_file.exists() and not looks_like_sqlite(sqlite_file):
            raise self.corrupt("its database file is not a SQLite file")
        try:
            return chromadb.PersistentClient(path=str(self.path), settings=settings)
        except Exception as e:  # noqa: BLE001
            raise self._map_open_error(e) from None

    def _open_collection(self):
        from lqmf.tools.store.embeddings import embedding_function

        try:
            return self.client.get_or_create_collection(
                COLLECTION, embedding_function=embedding_function(),
                configuration={"hnsw": {"space": "cosine"}})
        except Exception as e:  # noqa: BLE001
            raise self._map_open_error(e) from None

    def old_collection(self):
        """The collection of the layout before (one entry per run), or None."""
        try:
            names = {getattr(c, "name", c) for c in self.client.list_collections()}
            if OLD_COLLECTION not in names:
                return None
            return self.client.get_collection(OLD_COLLECTION)
        except Exception as e:  # noqa: BLE001
            raise self._map_open_error(e) from None

    # ---- errors ----------------------------------------------------------
    def _map_open_error(self, e: Exception):
        text = str(e)
        if "locked" in text.lower():
            return StoreLocked(f"the experiment store at {self.where} is locked by another process",
                               "wait for the other lqmf command to finish, then retry")
        if self.url:
            return StoreUnreachable(f"the Chroma server at {self.url} failed ({short(e)})",
                                    "check the server's log")
        return self.corrupt(short(e))

    def map_write_error(self, e: Exception):
        from lqmf.tools.errors import from_backend

        text = str(e).lower()
        if "locked" in text:
            return self._map_open_error(e)
        if self.url and any(w in text for w in ("connect", "timed out", "refused", "unreachable")):
            return StoreUnreachable(f"the Chroma server at {self.url} stopped answering ({short(e)})",
                                    "check that it is running, then retry")
        return from_backend(e, "writing to the experiment store")

    def corrupt(self, why: str) -> StoreCorrupt:
        return StoreCorrupt(
            f"the experiment store at {self.path} cannot be read ({why})",
            f"move that folder aside and run the command again: records are re-imported from "
            f"{self.journal_path}")

    # ---- entries ---------------------------------------------------------
    def upsert(self, ids: Sequence[str], texts: Sequence[str], vecs: Sequence) -> None:
        if not ids:
            return
        try:
            for i in range(0, len(ids), PAGE):
                s = slice(i, i + PAGE)
                self.collection.upsert(ids=list(ids[s]), documents=list(texts[s]),
                                       embeddings=list(vecs[s]))
        except Exception as e:  # noqa: BLE001
            raise self.map_write_error(e) from None

    def delete(self, ids: Sequence[str]) -> None:
        if ids:
            try:
                self.collection.delete(ids=list(ids))
            except Exception as e:  # noqa: BLE001
                raise self.map_write_error(e) from None

    def count(self) -> int:
        return self.collection.count()

    def ids(self) -> set[str]:
        out: set[str] = set()
        offset = 0
        while True:
            res = self.collection.get(include=[], limit=10_000, offset=offset)
            if not res["ids"]:
                return out
            out.update(res["ids"])
            offset += len(res["ids"])

    def nearest(self, vec, n: int, among: Sequence[str] | None = None) -> list[tuple[str, float]]:
        """(description id, cosine distance) of the n nearest, optionally only ``among`` ids."""
        if n <= 0:
            return []
        res = self.collection.query(query_embeddings=[vec], n_results=n,
                                    ids=list(among) if among is not None else None,
                                    include=["distances"])
        return list(zip(res["ids"][0], res["distances"][0]))


def short(e: BaseException) -> str:
    text = str(e).strip().splitlines()
    return (text[-1] if text else type(e).__name__)[:200]
