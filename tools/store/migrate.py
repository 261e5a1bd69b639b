"""Opening a store of the layout before: one Chroma entry per run, the record
as metadata (``record_json`` plus one metadata row per field), a derived side
index in ``lqmf_index.sqlite3``.

Its runs are copied into the side index once (their vectors reused when the
sentence is the same), then the old collection is never read again. Nothing
is deleted: the old collection and files stay where they were (a one-line
note says so), and the user may remove them."""
from __future__ import annotations

import json
import sys
import time

from lqmf.tools.store.records import BadRecord, ExperimentRecord
from lqmf.tools.store.vectors import OLD_COLLECTION, PAGE

OLD_RECORD_KEY = "record_json"
DONE_KEY = f"migrated:{OLD_COLLECTION}"


def migrate_old_layout(store) -> int:
    """Copy the old collection's runs into ``store`` (once). Returns how many were added."""
    if store.index.get_meta(DONE_KEY):
        return 0
    old = store.vectors.old_collection()
    if old is None:
        return 0
    added = skipped = seen = 0
    while True:
        res = old.get(include=["metadatas", "documents", "embeddings"], limit=PAGE, offset=seen)
        ids = res["ids"]
        if not ids:
            break
        seen += len(ids)
        records, vectors = [], {}
        for meta, doc, vec in zip(res["metadatas"], res["documents"], res["embeddings"]):
            try:
                records.append(ExperimentRecord.from_dict(json.loads((meta or {})[OLD_RECORD_KEY])))
            except (KeyError, TypeError, ValueError, BadRecord):
                skipped += 1
                continue
            if doc:
                vectors[doc] = vec
        present = store.index.has([r.id for r in records])
        added += store.add_many([r for r in records if r.id not in present], known_vectors=vectors)
        if len(ids) < PAGE:
            break
    store.index.set_meta(DONE_KEY, json.dumps({"runs": added, "skipped": skipped, "at": time.time()}))
    if added or skipped:
        where = f" in {store.path}" if store.path else f" on {store.url}"
        extra = f"; {skipped} entries without a record were left" if skipped else ""
        print(f"note: the experiment store now keeps its runs in {store.index.path.name}; "
              f"{added} runs were copied from the Chroma collection {OLD_COLLECTION!r}{where}, "
              f"which is kept as it was and no longer read{extra}.", file=sys.stderr)
    return added
