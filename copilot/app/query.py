"""Query: questions over past experiments (filters, sorts, semantic search)."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from lqmf.copilot.app.context import App


def build(text: str, flags: dict) -> tuple[Any, dict | None]:
    """(Query, the parse of ``text``) from a question and flag slots; flags win over
    parsed slots, and the words the slots do not explain become a semantic search
    (``flags["like"]`` replaces them)."""
    from lqmf.tools.store.query import from_slots, remainder

    text = text.strip()
    slots: dict = {}
    parsed = None
    if text:
        from lqmf.copilot.parser import parse

        parsed = parse(text)
        slots.update(parsed.get("slots", {}))
    like = flags.get("like")
    slots.update({k: v for k, v in flags.items() if v is not None and k != "like"})
    free = like or (remainder(text, slots) if text else None)
    return from_slots(slots, free), parsed


def indexed_store(app: "App", what: str) -> Any:
    """The Chroma store, or MissingComponent (``what``: "queries", "compare")."""
    store = app.store()
    if not hasattr(store, "index"):
        from lqmf.tools.errors import MissingComponent

        raise MissingComponent(f"{what} need{'s' if not what.endswith('s') else ''} the Chroma store, "
                               "and chromadb is not installed", "pip install chromadb")
    return store


def run(app: "App", query: Any) -> Any:
    """Run a built query (a ``query_exec`` result: records, distances, message())."""
    from lqmf.tools.store.query_exec import run as engine

    if query.text:
        from lqmf.tools.store.embeddings import warm_up

        warm_up()            # load the embedder while chromadb is imported and opened
    return engine(indexed_store(app, "queries"), query)


def rows(app: "App", slots: dict, text: str | None = None) -> tuple[list[dict], str | None]:
    """The chat's query: matching rows as dicts, and a note (what matched, or the
    nearest relaxation when nothing did; without Chroma, the newest runs)."""
    from lqmf.tools.store.query import from_slots

    q = from_slots(slots, text)
    st = app.store()
    if hasattr(st, "index"):
        from lqmf.tools.store.query_exec import run as engine

        res = engine(st, q)
        out, note = [r.to_dict() for r in res.records], res.message()
    else:  # the plain JSONL store cannot filter: show the newest, and say so
        out = [r.to_dict() for r in sorted(st.all(), key=lambda r: -r.created_at)][: q.limit or 20]
        note = "without Chroma (pip install 'lqmf[store]') I can only list the newest runs"
    return out, (note[:1].upper() + note[1:] + ".") if note else None


def records(app: "App") -> list[Any]:
    """Every experiment record (with what other processes, such as a worker, added since)."""
    store = app.store()
    if hasattr(store, "maybe_sync"):
        store.maybe_sync()
    return list(store.all())
