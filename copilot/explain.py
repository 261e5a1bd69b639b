"""Explanations grounded in the docs of ``knowledge/explain/``.

A question is answered from the doc sections that retrieval
(tools/docs_index.py) finds, and every answer names its doc. When the question
names a quant type the user has measured ("why is my Q2_K so bad?"), their
own numbers from the store go next to the doc's explanation. When no doc
scores over the "no note" threshold, the answer says so and lists the nearest
topics; nothing is made up. With an LLM configured (copilot/llm.py) the
answer is phrased by it from the retrieved text only (prompts/explain.md), and
an answer that cites a number found in neither the notes nor the user's runs
is dropped for the plain one.
"""
from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from pathlib import Path

log = logging.getLogger(__name__)

HELP = """I can quantize, benchmark and compare local LLMs. Try:
  quantize smollm2 to Q4_K_M        then: benchmark it / now do Q8_0 / compare them
  show my fastest models under 2GB  which experiments failed last week
  what should I run on an 8GB GPU   what does Q4_K_M mean
  what's in the queue               cancel job <id>
Long work runs as background jobs; the chat goes on. Slash commands: /help /jobs /history /resume /models /tutorial /quit"""

SOURCE_DIR = "knowledge/explain"


@dataclass
class Answer:
    text: str
    doc: str | None                      # the source doc's stem; None when there is no note
    hits: list = field(default_factory=list)       # tools.docs_index.Hit, best first
    own: list = field(default_factory=list)        # tools.docs_facts.OwnRun
    phrased: bool = False                # True when the LLM phrased it

    @property
    def source(self) -> str | None:
        return f"{SOURCE_DIR}/{self.doc}.md" if self.doc else None


def answer(question: str, use_llm: bool = True, reply=None, store=None) -> Answer:
    """The grounded answer to one question. ``reply(text, history)``: the LLM to
    phrase it (the caller's, e.g. the App's; default: ``copilot.llm.reply``);
    ``store``: where the user's own runs are read (the caller's; default: the
    experiment store of this data dir)."""
    from lqmf.tools.docs_index import search

    question = " ".join((question or "").split())
    hits = search(question, k=3)
    if not hits or not hits[0].answers:
        near = ", ".join(h.title for h in hits) or ", ".join(topic_titles()[:3])
        return Answer(f"I don't have a note on '{question}'. The nearest topics I have: {near}.", None, hits)
    best = hits[0]
    own = _own_runs(question, store)
    plain = _plain(best, hits, own)
    if use_llm:
        phrased = _phrase(question, best, own, reply)
        if phrased:
            return Answer(f"{phrased}\n(Source: {SOURCE_DIR}/{best.doc}.md)", best.doc, hits, own, True)
    return Answer(plain, best.doc, hits, own)


def explain(topic: str | None, question: str | None = None, reply=None, store=None) -> str:
    """The text for the explain tool: ``question`` is the user's whole
    utterance when the caller has it, ``topic`` the parser's topic slot."""
    text = (question or topic or "").strip()
    if not text:
        return "What should I explain? I have notes on: " + ", ".join(topic_titles()) + "."
    return answer(text, reply=reply, store=store).text


def find(topic: str) -> str | None:
    """The stem of the doc that answers ``topic``, or None."""
    from lqmf.tools.docs_index import search

    hits = search(topic, k=1)
    return hits[0].doc if hits and hits[0].answers else None


def topic_titles() -> list[str]:
    from lqmf.tools import docs

    return [d.title for d in docs.load().values()]


# ---- the plain answer ---------------------------------------------------------
def _plain(best, hits: list, own: list) -> str:
    from lqmf.tools import docs

    doc = docs.load()[best.doc]
    parts = [f"{doc.headline} (from {SOURCE_DIR}/{best.doc}.md):", _flow(doc.intro)]
    if best.section != docs.INTRO:
        parts.append(f"{best.section}: {_flow(best.text)}")
    if own:
        parts.append("Your own runs: " + " ".join(line for o in own for line in o.lines()))
        parts += _bundled_caveats(own)
    also = list(dict.fromkeys([h.doc for h in hits[1:] if h.answers] + list(doc.related)))
    titles = [docs.load()[r].title for r in also if r in docs.load() and r != best.doc][:3]
    if titles:
        parts.append("See also: " + ", ".join(titles) + ".")
    return "\n".join(parts)


def _flow(markdown: str) -> str:
    """Paragraphs on one line each; list items stay on their own lines."""
    out: list[str] = []
    for line in markdown.splitlines():
        line = line.strip()
        if not line:
            out.append("")
        elif line.startswith("- ") or not out or not out[-1]:
            out.append(line)
        else:
            out[-1] += " " + line
    return "\n".join(x for x in out if x)


def _bundled_caveats(own: list) -> list[str]:
    """One line per bundled model among the runs: its weights come from an
    already-quantized file, which skews the ranking of types."""
    from lqmf import knowledge

    out = []
    names = {o.record.model_name or o.record.model for o in own}
    for e in knowledge.catalog():
        sq = (e.get("bundled") or {}).get("source_quant")
        if sq and e["name"] in names:
            out.append(f"Note: {e['name']} is a bundled model whose weights come from a {sq} file, so types "
                       f"whose grid fits {sq} look better on it than they would on natural weights "
                       f"(see {SOURCE_DIR}/bundled-model.md).")
    return out


# ---- the user's numbers ---------------------------------------------------
def _own_runs(question: str, store=None) -> list:
    from lqmf.tools.docs_facts import own_runs, quant_types_in

    types = quant_types_in(question)
    if not types:
        return []
    try:
        records = _records_for(types, store)
    except Exception as e:  # noqa: BLE001 - the explanation stands without the numbers
        log.warning("could not read your runs for the explanation (%s)", e)
        return []
    return [o for t in types[:2] for o in own_runs(records, t, limit=1)]


def _records_for(types: list, store=None) -> list:
    if store is None:
        from lqmf.tools.store.experiments import default_store

        store = default_store()
    if not hasattr(store, "find"):
        return store.all()
    names = [t.value for t in types]
    got = {r.id: r for r in store.find(f"quant_type IN ({','.join('?' * len(names))})", names, limit=2000)}
    models = sorted({r.model_name or "" for r in got.values()})
    if models:
        got.update((r.id, r) for r in store.find(f"model_name IN ({','.join('?' * len(models))})",
                                                 models, limit=5000))
    return list(got.values())


# ---- the LLM's phrasing ---------------------------------------------------------
def _prompt() -> str:
    from lqmf import prompts

    return (Path(prompts.__file__).resolve().parent / "explain.md").read_text(encoding="utf-8")


def _phrase(question: str, best, own: list, reply_fn=None) -> str | None:
    from lqmf.tools import docs

    if reply_fn is None:
        from lqmf.copilot import llm

        reply_fn = llm.reply

    doc = docs.load()[best.doc]
    notes = f"{doc.headline}\n{doc.intro}" + (f"\n{best.section}\n{best.text}" if best.section != docs.INTRO else "")
    numbers = "\n".join([line for o in own for line in o.lines()] + _bundled_caveats(own)) or "(none)"
    text = _prompt().replace("{question}", question).replace("{notes}", notes).replace("{numbers}", numbers)
    reply = _clean(reply_fn(text, []) or "")
    if not reply or "NO_ANSWER" in reply:
        return None
    if not grounded(reply, notes + "\n" + numbers + "\n" + question):
        log.info("the LLM's explanation cited numbers not in the notes; using the note itself")
        return None
    return reply.strip()


_ECHO = re.compile(r"^\s*(?:Question:|Note:|The user's own numbers:|\(none\)|Rules:)", re.M | re.I)


def _clean(reply: str) -> str:
    """A small model may echo the prompt's scaffolding: keep what comes before it."""
    m = _ECHO.search(reply)
    return (reply[:m.start()] if m else reply).strip()


_NUMBER = re.compile(r"(?<![\w.])\d+(?:\.\d+)?")


def grounded(reply: str, sources: str) -> bool:
    """Every number in the reply appears in the sources (quant type names and
    bit widths like "4-bit" included, as they appear there)."""
    have = set(_NUMBER.findall(sources))
    return all(n in have for n in _NUMBER.findall(reply))
