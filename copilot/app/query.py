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


# --- questions about "models": one row per artifact, its runs merged -------------------------

MERGED = ("size_bytes", "gen_tok_s", "prompt_tok_s", "ppl", "base_ppl", "ppl_delta_pct", "kld_mean", "kld_p99",
          "top1_pct", "eval_text", "eval_tokens", "ctx", "threads", "cpu_busy", "artifact", "method", "bits",
          "tasks", "device")
RANK_FIELD = {"speed": "gen_tok_s", "size": "size_bytes", "quality": "kld_mean", "date": "created_at"}
UNMEASURED = {"speed": "no speed measurement", "size": "no size", "quality": "no quality measurement",
              "date": "no date"}
BUSY_CORES = 1.0   # a speed timed while other work held this many cores is not comparable to a quiet one


def artifact_key(row: dict) -> tuple:
    """What makes two runs the same artifact: its file, else model + quant type + method."""
    if row.get("artifact"):
        return ("file", str(row["artifact"]))
    return ("id", row.get("model_name") or row.get("model"), row.get("quant_type"), row.get("method"))


def merge_runs(runs: list[dict]) -> list[dict]:
    """One row per artifact: the latest known value of each measure over its runs (a
    quantize run's size, a benchmark's speed and quality), ``runs`` counting them."""
    merged: dict[tuple, dict] = {}
    for r in sorted(runs, key=lambda r: r.get("created_at") or 0):
        key = artifact_key(r)
        row = merged.setdefault(key, {"runs": 0})
        row["runs"] += 1
        for k, v in r.items():
            if v not in (None, [], {}, "") and (k in MERGED or k not in row):
                row[k] = v
        row["created_at"] = r.get("created_at")
        row["kind"] = "artifact"
    return list(merged.values())


def rank(rows: list[dict], sort: str | None, order: str | None, limit: int | None) -> tuple[list[dict], list[dict]]:
    """Rows sorted by one measure, and the rows left out because they lack it (never ranked
    as if they were best or worst)."""
    from lqmf.tools.store.query import SORTS, Order, SortKey

    missing: list[dict] = []
    if sort in RANK_FIELD:
        field = RANK_FIELD[sort]
        spec = SORTS[SortKey(sort)]
        missing = [r for r in rows if r.get(field) is None]
        rows = [r for r in rows if r.get(field) is not None]
        want = Order(order) if order else spec.default
        descending = (want is Order.DESC) != spec.lower_is_more
        rows.sort(key=lambda r: r[field], reverse=descending)
    else:
        rows.sort(key=lambda r: -(r.get("created_at") or 0))
    return (rows[:limit] if limit else rows), missing


def unranked_note(missing: list[dict], sort: str, noun: str = "model") -> str | None:
    """One sentence naming how many rows a ranking left out for lack of the measure."""
    n = len(missing)
    if not n or sort not in UNMEASURED:
        return None
    return (f"{n} {noun}{'' if n == 1 else 's'} {'has' if n == 1 else 'have'} {UNMEASURED[sort]} yet and "
            f"{'is' if n == 1 else 'are'} left out of this ranking (benchmark to measure).")


def settings_note(rows: list[dict], sort: str | None) -> str | None:
    """A warning when the numbers a ranking or comparison puts side by side were measured under
    different settings (evaluation text or its amount, threads, a busy machine)."""
    notes = []
    if sort in (None, "quality"):
        measured = [r for r in rows if r.get("ppl") is not None or r.get("kld_mean") is not None]
        evals = {(r.get("eval_text"), r.get("eval_tokens"), r.get("ctx")) for r in measured}
        if len(evals) > 1:
            amounts = sorted({e[1] for e in evals if e[1]})
            texts = {e[0] for e in evals if e[0]}
            what = (f"{', '.join(f'{a:,}' for a in amounts)} scored tokens" if len(amounts) > 1 else "") + \
                   (("; " if len(amounts) > 1 else "") + f"{len(texts)} different texts" if len(texts) > 1 else "")
            notes.append("Quality was measured under different evaluation settings"
                         + (f" ({what})" if what else "") + ", so those numbers are not directly comparable.")
    if sort in (None, "speed"):
        timed = [r for r in rows if r.get("gen_tok_s") is not None]
        threads = sorted({r["threads"] for r in timed if r.get("threads")})
        busy = [r for r in timed if (r.get("cpu_busy") or 0) >= BUSY_CORES]
        if len(threads) > 1:
            notes.append(f"Speeds were timed with different thread counts ({', '.join(map(str, threads))}).")
        if busy and len(busy) < len(timed):
            notes.append(f"{len(busy)} of the speeds {'was' if len(busy) == 1 else 'were'} timed while the machine "
                         f"was busy with other work, so {'it reads' if len(busy) == 1 else 'they read'} low.")
    return " ".join(notes) if notes else None


def models_rows(app: "App", slots: dict) -> tuple[list[dict], list[str]]:
    """The chat's question about "models": matching artifacts, one row each with their runs
    merged (failed and cancelled runs left out), ranked by the asked measure, and notes
    (rows that cannot be ranked, settings that differ)."""
    from lqmf.tools.status import Status

    filters = {k: v for k, v in slots.items() if k not in ("sort", "order", "limit", "status")}
    matched, note = rows(app, {**filters, "limit": 10_000})
    ok = [r for r in matched if r.get("status") == Status.SUCCEEDED]
    keys = {artifact_key(r) for r in ok}
    every = [r.to_dict() for r in records(app) if r.status == Status.SUCCEEDED]
    merged = merge_runs([r for r in every if artifact_key(r) in keys])
    ranked, missing = rank(merged, slots.get("sort"), slots.get("order"), slots.get("limit"))
    notes = [n for n in (note if not ranked else None, unranked_note(missing, slots.get("sort") or ""),
                         settings_note(ranked, slots["sort"]) if slots.get("sort") in ("speed", "quality") else None)
             if n]
    return ranked, notes


def in_year(rows: list[dict], year: int) -> list[dict]:
    """The rows made in one calendar year (local time)."""
    import time as _time

    return [r for r in rows if r.get("created_at") and _time.localtime(r["created_at"]).tm_year == year]


def year_note(app: "App", year: int) -> str:
    """Why nothing is listed for a calendar year: the span the store holds."""
    import time as _time

    stamps = [r.created_at for r in records(app) if getattr(r, "created_at", None)]
    if not stamps:
        return f"No experiments from the year {year}: there are none at all yet."
    first, last = (_time.strftime("%d %b %Y", _time.localtime(t)) for t in (min(stamps), max(stamps)))
    return f"No experiments from the year {year}: the ones stored run from {first} to {last}."
