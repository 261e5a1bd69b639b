"""The runs a team shares through a Chroma server.

With a server (``LQMF_CHROMA_URL`` / ``store.chroma_url``), every client keeps
its own side index (tools/store/index.py), so runs written by one client must
reach the others through the server. Besides the description vectors
(tools/store/vectors.py), the server then holds a second collection, one entry
per run: id = the run's id, one metadata value ``run`` = the record as
compact JSON (fields that are None or empty left out), a one-number
placeholder vector (Chroma wants one; nothing searches it) and no document
(Chroma indexes documents for full-text search: 7.2 KB a run on disk, against
3.2 KB as one metadata value, measured on 3,000 bench records). Each client pushes what it writes, and before a query pulls, by id,
the runs it has not seen: it reads the collection's ids from where it stopped
last time (Chroma lists a collection in the order entries were added) and
fetches the records of those its side index lacks.

The embedded store has no second collection: its side index is the only one.
"""
from __future__ import annotations

import json
from typing import Callable, Sequence

from lqmf.tools.errors import LqmfError
from lqmf.tools.store.records import BadRecord, ExperimentRecord

SUFFIX = "_runs"          # the runs collection is named after the descriptions' one
KEY = "run"
PAGE = 5000
_PLACEHOLDER = [0.0]


class SharedRuns:
    """The server's collection of whole runs."""

    def __init__(self, vectors):
        from lqmf.tools.store import vectors as vectors_mod
        from lqmf.tools.store.embeddings import embedding_function

        self.vectors = vectors
        self.name = f"{vectors_mod.COLLECTION}{SUFFIX}"
        try:
            self.collection = vectors.client.get_or_create_collection(
                self.name, embedding_function=embedding_function(),
                configuration={"hnsw": {"space": "l2"}})
        except Exception as e:  # noqa: BLE001
            raise vectors.map_write_error(e) from None

    @property
    def meta_key(self) -> str:
        return f"shared:{self.name}"

    def push(self, records: Sequence[ExperimentRecord]) -> None:
        if not records:
            return
        try:
            for i in range(0, len(records), PAGE):
                chunk = records[i:i + PAGE]
                self.collection.upsert(
                    ids=[r.id for r in chunk], embeddings=[_PLACEHOLDER] * len(chunk),
                    metadatas=[{KEY: compact(r)} for r in chunk])
        except Exception as e:  # noqa: BLE001
            raise self.vectors.map_write_error(e) from None

    def delete(self, ids: Sequence[str]) -> None:
        if ids:
            try:
                self.collection.delete(ids=list(ids))
            except Exception as e:  # noqa: BLE001
                raise self.vectors.map_write_error(e) from None

    def pull(self, index, write: Callable[[list[ExperimentRecord]], None]) -> int:
        """Give ``write`` the runs on the server that ``index`` lacks (by id), a
        page at a time, reading the ids added since the last pull (all of them
        again when entries were removed since, which moves positions); the
        position is kept in the index's meta after each page. Returns how many."""
        added = 0
        try:
            total = self.collection.count()
            state = json.loads(index.get_meta(self.meta_key) or "{}")
            seen, last = int(state.get("seen", 0)), state.get("last")
            if seen and (seen > total or self._id_at(seen - 1) != last):
                seen = 0   # entries were deleted: positions moved, read every id again
            while seen < total:
                ids = self.collection.get(include=[], limit=PAGE, offset=seen)["ids"]
                if not ids:
                    break
                missing = sorted(set(ids) - index.has(ids))
                if missing:
                    got = self.collection.get(ids=missing, include=["metadatas"])["metadatas"] or []
                    records = _records([(m or {}).get(KEY) for m in got])
                    write(records)
                    added += len(records)
                seen += len(ids)
                index.set_meta(self.meta_key, json.dumps({"seen": seen, "last": ids[-1]}))
        except LqmfError:
            raise
        except Exception as e:  # noqa: BLE001
            raise self.vectors.map_write_error(e) from None
        return added

    def _id_at(self, pos: int) -> str | None:
        ids = self.collection.get(include=[], limit=1, offset=pos)["ids"]
        return ids[0] if ids else None


def compact(record: ExperimentRecord) -> str:
    """The record as JSON without its None and empty fields (their defaults)."""
    data = {k: v for k, v in record.to_dict().items() if v is not None and v != [] and v != {}}
    return json.dumps(data, separators=(",", ":"))


def _records(docs: Sequence) -> list[ExperimentRecord]:
    out = []
    for doc in docs:
        try:
            out.append(ExperimentRecord.from_dict(json.loads(doc if isinstance(doc, str) else "")))
        except (ValueError, BadRecord):
            continue   # an entry another tool wrote: not a run
    return out
