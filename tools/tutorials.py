"""Guided tutorials as data: ``knowledge/tutorials/*.toml``, one file each.

A tutorial file::

    name = "first-quantization"          # = the file stem
    title = "Your first quantization"
    summary = "…"                        # one line, for /tutorial
    order = 1                            # position in the list
    topics = ["quantization", "q4-k"]    # explain docs it teaches (knowledge/explain)
    words = ["quantize", "first"]        # what a user may call it ("teach me how to quantize")

    [[steps]]
    id = "quantize"
    text = "…"                           # what the step explains
    action = "quantize smollm2 to Q4_K_M"  # what the user types or says ("" = read and go on)
    hint = "…"                           # said when the check fails, before a retry
    check = { kind = "artifact", quant_type = "Q4_K_M", model = "smollm2" }

A check is declarative: tools/tutorial_checks.py evaluates it against the
real state (store records, job rows, artifact files, what the user asked).
Loading validates every file and every check, so a typo is one clear error
at load time, never a step that can never pass.
"""
from __future__ import annotations

import tomllib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from lqmf import knowledge
from lqmf.tools.errors import InvalidInput
from lqmf.tools.tutorial_checks import CHECK_FIELDS, Check, CheckKind


@dataclass(frozen=True)
class Step:
    id: str
    text: str
    action: str
    hint: str
    check: Check


@dataclass(frozen=True)
class Tutorial:
    name: str
    title: str
    summary: str
    order: int
    topics: tuple[str, ...]
    steps: tuple[Step, ...]
    words: tuple[str, ...] = ()

    def step(self, step_id: str) -> Step | None:
        return next((s for s in self.steps if s.id == step_id), None)

    def index_of(self, step_id: str) -> int:
        return next((i for i, s in enumerate(self.steps) if s.id == step_id), -1)


def folder() -> Path:
    return knowledge.path("tutorials")


def _bad(where: str, what: str, fix: str) -> InvalidInput:
    return InvalidInput(f"{where}: {what}", fix)


def parse_check(where: str, data: object) -> Check:
    if not isinstance(data, dict):
        raise _bad(where, "check must be a table like { kind = \"artifact\", … }", "fix the check")
    try:
        kind = CheckKind(data.get("kind", ""))  # missing -> ValueError below
    except ValueError:
        raise _bad(where, f"unknown check kind '{data.get('kind')}'",
                   "use one of " + ", ".join(k.value for k in CheckKind)) from None
    params = {k: v for k, v in data.items() if k != "kind"}
    allowed = CHECK_FIELDS[kind]
    unknown = sorted(set(params) - set(allowed))
    if unknown:
        raise _bad(where, f"{kind.value} check has unknown field(s) {', '.join(unknown)}",
                   "allowed: " + (", ".join(sorted(allowed)) or "none"))
    for key, value in params.items():
        want = allowed[key]
        if not isinstance(value, want) or isinstance(value, bool) and want is not bool:
            raise _bad(where, f"check field {key} must be {want.__name__}", "fix its value")
    check = Check(kind, dict(params))
    check.validate(where)
    return check


def parse(name: str, text: str, known_topics: set[str] | None = None) -> Tutorial:
    where = f"knowledge/tutorials/{name}.toml"
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise _bad(where, f"not valid TOML ({e})", "fix the file") from None
    if data.get("name") != name:
        raise _bad(where, f"name = {data.get('name')!r} does not match the file name", f'set name = "{name}"')
    for key in ("title", "summary"):
        if not isinstance(data.get(key), str) or not data[key].strip():
            raise _bad(where, f"{key} is missing", f'add {key} = "…"')
    topics = tuple(data.get("topics", []))
    if known_topics is not None:
        missing = [t for t in topics if t not in known_topics]
        if missing:
            raise _bad(where, f"topic(s) {', '.join(missing)} have no explain doc", "use stems of knowledge/explain/*.md")
    raw_steps = data.get("steps")
    if not isinstance(raw_steps, list) or not raw_steps:
        raise _bad(where, "has no [[steps]]", "add at least one [[steps]] table")
    steps, seen = [], set()
    for i, st in enumerate(raw_steps, 1):
        swhere = f"{where} step {i}"
        sid = st.get("id")
        if not isinstance(sid, str) or not sid.strip():
            raise _bad(swhere, "has no id", 'add id = "…"')
        if sid in seen:
            raise _bad(swhere, f"id '{sid}' is used twice", "give each step its own id")
        seen.add(sid)
        if not isinstance(st.get("text"), str) or not st["text"].strip():
            raise _bad(swhere, "has no text", 'add text = "…"')
        unknown = sorted(set(st) - {"id", "text", "action", "hint", "check"})
        if unknown:
            raise _bad(swhere, f"unknown field(s) {', '.join(unknown)}", "use id, text, action, hint, check")
        check = parse_check(swhere, st.get("check", {"kind": "none"}))
        action = str(st.get("action", "")).strip()
        if check.kind is not CheckKind.NONE and not action:
            raise _bad(swhere, "checks something but gives the user no action", 'add action = "…"')
        steps.append(Step(sid, " ".join(st["text"].split()), action, " ".join(str(st.get("hint", "")).split()), check))
    words = data.get("words", [])
    if not isinstance(words, list) or not all(isinstance(w, str) and w.strip() for w in words):
        raise _bad(where, "words must be a list of strings", 'write words = ["…", "…"]')
    return Tutorial(name, data["title"].strip(), " ".join(data["summary"].split()), int(data.get("order", 99)),
                    topics, tuple(steps), tuple(w.strip().lower() for w in words))


@lru_cache(maxsize=4)
def _load(path: str, stamp: tuple) -> dict[str, Tutorial]:
    from lqmf.tools import docs

    topics = set(docs.load())
    out = {f.stem: parse(f.stem, f.read_text(encoding="utf-8"), topics) for f in sorted(Path(path).glob("*.toml"))}
    return dict(sorted(out.items(), key=lambda kv: (kv[1].order, kv[0])))


def load(path: Path | None = None) -> dict[str, Tutorial]:
    """name -> Tutorial, in their order (re-read when a file changes)."""
    p = Path(path or folder())
    stamp = tuple((f.name, f.stat().st_mtime_ns, f.stat().st_size) for f in sorted(p.glob("*.toml")))
    return _load(str(p), stamp)


def find(name: str) -> Tutorial | None:
    """A tutorial by name, title word or a unique prefix ("first", "voice")."""
    all_ = load()
    key = name.strip().lower().replace(" ", "-")
    if key in all_:
        return all_[key]
    cands = [t for n, t in all_.items() if n.startswith(key) or key in n or key in t.title.lower()]
    return cands[0] if len(cands) == 1 else None


def pick(topic: str | None) -> Tutorial | None:
    """The tutorial a free-text topic asks for ("quantization", "background jobs",
    "voice"): by name or title first, then the one whose ``words`` or doc
    ``topics`` the topic mentions most; None when nothing fits."""
    if not topic or not topic.strip():
        return None
    hit = find(topic)
    if hit:
        return hit
    text = " " + " ".join(topic.lower().replace("-", " ").replace("_", " ").split()) + " "
    scored = []
    for t in load().values():
        keys = [*t.words, *(x.replace("-", " ") for x in t.topics)]
        score = sum(len(k) for k in keys if f" {k} " in text or (len(k) > 4 and k in text))
        if score:
            scored.append((score, -t.order, t))
    if not scored:
        return None
    scored.sort(key=lambda x: (x[0], x[1]), reverse=True)
    return scored[0][2]
