"""Built-in answers: the explain docs in ``knowledge/explain/*.md`` and the help text.

Each doc starts with ``# title`` and an ``aliases:`` line; a topic matches the
title, an alias, or (fuzzily) either."""
from __future__ import annotations

from functools import lru_cache

import knowledge

HELP = """I can quantize, benchmark and compare local LLMs. Try:
  quantize smollm2 to Q4_K_M        then: benchmark it / now do Q8_0 / compare them
  show my fastest models under 2GB  which experiments failed last week
  what should I run on an 8GB GPU   what does Q4_K_M mean
  what's in the queue               cancel job <id>
Long work runs as background jobs; the chat goes on. Slash commands: /help /jobs /history /resume /models /quit"""


@lru_cache(maxsize=1)
def docs() -> dict[str, tuple[str, list[str], str]]:
    """file stem -> (title, aliases, body)."""
    out = {}
    for f in sorted(knowledge.path("explain").glob("*.md")):
        lines = f.read_text(encoding="utf-8").strip().splitlines()
        title = lines[0].lstrip("# ").strip().lower()
        aliases = []
        if len(lines) > 1 and lines[1].lower().startswith("aliases:"):
            aliases = [a.strip().lower() for a in lines[1].split(":", 1)[1].split(",") if a.strip()]
            lines = lines[2:]
        out[f.stem] = (title, aliases, " ".join(" ".join(lines[1:]).split()))
    return out


def find(topic: str) -> str | None:
    """The stem of the doc about ``topic``, or None."""
    key = " ".join(topic.lower().replace("_", "_").split())
    for stem, (title, aliases, _) in docs().items():
        if key in (stem, title, *aliases):
            return stem
    from rapidfuzz import fuzz, process

    names = {n: stem for stem, (title, aliases, _) in docs().items() for n in (stem, title, *aliases)}
    best = process.extractOne(key, list(names), scorer=fuzz.WRatio, score_cutoff=85)
    return names[best[0]] if best else None


def explain(topic: str | None) -> str:
    if not topic:
        return "What should I explain? I know: " + ", ".join(t for t, _, _ in docs().values()) + "."
    stem = find(topic)
    if stem is None:
        return (f"I have no note on '{topic}'. I can explain: "
                + ", ".join(t for t, _, _ in docs().values()) + ".")
    from tools.quantize.types import SPECS, QuantType

    body = docs()[stem][2]
    qt = topic.upper().replace(" ", "_")
    if qt in QuantType.__members__:
        s = SPECS[QuantType[qt]]
        body = f"{s.type.value}: {s.summary} ({s.bits}-bit, about {s.bpw} bits per weight, {s.method.value}). " + body
    return body
