"""Retrieval over the explain docs: ``search(question, k) -> [Hit]``.

Doc sections are split into passages (a paragraph, or a few list items, each
prefixed with the doc title and section heading so a passage embeds with its
topic) and kept in a Chroma collection, embedded, under
``data_dir()/"docs_index"``, with the same offline embedding function as the
experiment store (tools/store/embeddings.py). The collection carries the docs'
content hash and is rebuilt when the docs change.

A doc's score is a hybrid (weights chosen on evals/explain/tuning*.jsonl, never
on the held-out sets):

    score = (W_EMBED · best passage cosine + W_ABOUT · cosine to the closest of
             the doc's "about" passage (title and aliases), its FAQ questions and
             the questions users ask (knowledge/explain/asks.toml)
             + W_BM25 · saturated BM25 + W_ALIAS · alias match + W_LINK · link bonus
             + W_NEAR · how far that closest question's cosine is over NEAR_AT (a near
               paraphrase of a known question), scaled to 0..1
             + W_CUE · a phrasing cue of knowledge/explain/cues.toml) / (W_EMBED + W_ABOUT + W_BM25 + W_ALIAS)
            × (1 − OOV_PENALTY · share of the question's words no doc uses
                 − FOREIGN_PENALTY · share of its words only a not-covered subject uses)
            × (1 − OFF_PENALTY · how much closer the question is to a subject
               of knowledge/explain/not-covered.toml than to any doc passage)

so exact domain words ("q5_1", "kay el divergence") count as much as meaning,
and a question about what the docs never mention falls under the threshold.
``NO_NOTE`` is the score under which the best hit is not an answer: callers
say "I don't have a note on X" and list the nearest topics instead.

The not-covered subjects are also scored as one pseudo-doc, like a doc
(closest subject cosine, BM25 over the subjects; tools/docs_offscope.py): a
question whose pseudo-doc scores within OFF_MARGIN of the best doc is "no
note" too. It catches questions that name a doc's topic while asking about
something else ("peft rank and alpha for an nf4 base model").
"""
from __future__ import annotations

import contextlib
import fcntl
import os
import re
import threading
from dataclasses import dataclass
from pathlib import Path

from lqmf.tools import docs as docs_mod
from lqmf.tools.config import data_dir
from lqmf.tools.docs import Doc, DocKind
from lqmf.tools.docs_lexical import Aliases, Bm25, Cues, expand, normalize, saturate, tokens
from lqmf.tools.docs_offscope import OFF_SCOPE, OffScope

COLLECTION = "explain_docs"
W_EMBED, W_ABOUT, W_BM25, W_ALIAS, W_LINK = 0.55, 0.30, 0.40, 0.10, 0.20
_W_SUM = W_EMBED + W_ABOUT + W_BM25 + W_ALIAS       # a link bonus can lift a score over 1
BM25_HALF = 6.0          # the raw BM25 score that saturates to 0.5
NO_NOTE = 0.24           # below this the best hit is "no note": on the tuning list, midway between the
                         # highest off-topic score (0.20) and the next right first hit (0.27); see
                         # evals/explain/README.md
ENTITY_KINDS = (DocKind.QUANT_TYPE, DocKind.METHOD)
MAX_SAME_KIND = 3        # docs of one kind among the hits (2 hid double-quant behind bitsandbytes
                         # and nf4-fp4 on the tuning lists; 3 is no limit among the three shown)
W_NEAR, NEAR_AT = 0.8, 0.65   # a question this close to a known question of a doc (its FAQ, asks.toml) is
                         # nearly a paraphrase of it: that doc gains W_NEAR times the excess, scaled to 0..1
W_CUE = 0.6             # a phrasing cue of knowledge/explain/cues.toml
OOV_PENALTY = 0.4        # a question's score shrinks by this times the share of its words no doc uses
FOREIGN_PENALTY = 0.4    # and by this more times the share of its words only a not-covered subject uses
OFF_MARGIN = 0.06        # a question whose not-covered pseudo-doc scores within this of the best doc is "no note"
                         # (tuning lists: on-topic questions 0.12 or more under their doc, off-topic ones within 0.05)
OFF_PENALTY = 2.0        # scores shrink by this times how much closer the question is to a subject
                         # the docs do not cover than to the best doc passage
_MAX_WORDS = 70          # MiniLM reads 128 tokens per text (tools/store/embeddings.MAX_SEQ_TOKENS)


@dataclass(frozen=True)
class Hit:
    doc: str          # the doc's stem (knowledge/explain/<doc>.md)
    title: str
    section: str      # the best-matching section's heading (docs.INTRO for the intro)
    text: str         # that section's text
    score: float      # hybrid score, 0..1

    @property
    def answers(self) -> bool:
        """True when the score is high enough to answer from this doc."""
        return self.score >= NO_NOTE


@dataclass(frozen=True)
class Passage:
    id: str
    doc: str
    section: str
    text: str         # what gets embedded


def passages(docs: dict[str, Doc]) -> list[Passage]:
    """Every doc cut into short passages, plus one per doc saying what it is about."""
    out = []
    for stem, d in docs.items():
        # what the doc is about: its title, the questions it answers, then its aliases
        # (last, so the embedder's 128-token cut drops aliases first)
        out.append(Passage(f"{stem}#about", stem, docs_mod.INTRO,
                           f"{d.title}. {' '.join(d.questions)} Also called: {', '.join(d.aliases)}."))
        for qi, q in enumerate(d.questions):       # each FAQ question alone: a user's question matches one
            out.append(Passage(f"{stem}#faq{qi}", stem, docs_mod.INTRO, f"{d.title}. {q}"))
        for si, s in enumerate(d.sections):
            head = d.title if s.heading == docs_mod.INTRO else f"{d.title}: {s.heading}"
            for pi, chunk in enumerate(_chunks(s.text)):
                out.append(Passage(f"{stem}#{si}.{pi}", stem, s.heading, f"{head}. {chunk}"))
    return out


def _chunks(text: str) -> list[str]:
    paras = [" ".join(p.split()) for p in re.split(r"\n\s*\n|\n(?=- )", text) if p.strip()]
    out: list[str] = []
    for p in paras:
        if out and len(out[-1].split()) + len(p.split()) <= _MAX_WORDS and p.startswith("- ") \
                and out[-1].startswith("- "):
            out[-1] += " " + p                      # short list items travel together
        else:
            out.append(p)
    return out


class DocsIndex:
    """The docs, their Chroma passages and the lexical scorer, for one folder."""

    def __init__(self, folder: Path | None = None, path: Path | None = None):
        self.docs = docs_mod.load(folder)
        self.off_scope = docs_mod.off_scope(folder)
        self.asks = {k: v for k, v in docs_mod.asks(folder).items() if k in self.docs}
        self.hash = _content_key(self.docs, self.off_scope, self.asks, docs_mod.cues(folder))
        self.path = Path(path or data_dir() / "docs_index")
        self.bm25 = Bm25(self.docs)
        self.off_lex = OffScope(self.docs, self.off_scope, self.bm25.idf,
                                known=[q for d in self.docs.values() for q in d.questions]
                                + [q for qs in self.asks.values() for q in qs])
        self.aliases = Aliases(self.docs)
        self.cues = Cues({k: v for k, v in docs_mod.cues(folder).items() if k in self.docs})  # no passages: lexical only
        self._collection = None
        self._lock = threading.Lock()

    # ---- the collection ---------------------------------------------------
    def collection(self):
        if self._collection is None:
            with self._lock:
                if self._collection is None:
                    self._collection = self._open()
        return self._collection

    def _open(self):
        import chromadb
        from chromadb.config import Settings

        from lqmf.tools.store.embeddings import embedding_function

        self.path.mkdir(parents=True, exist_ok=True)
        client = chromadb.PersistentClient(path=str(self.path), settings=Settings(anonymized_telemetry=False))
        with _file_lock(self.path / ".rebuild.lock"):
            col = client.get_or_create_collection(COLLECTION, embedding_function=embedding_function(),
                                                  configuration={"hnsw": {"space": "cosine"}})
            if (col.metadata or {}).get("content_hash") != self.hash or col.count() == 0:
                client.delete_collection(COLLECTION)
                col = client.create_collection(COLLECTION, embedding_function=embedding_function(),
                                               configuration={"hnsw": {"space": "cosine"}},
                                               metadata={"content_hash": self.hash})
                ps = passages(self.docs) + [Passage(f"{stem}#ask{i}", stem, docs_mod.INTRO, q)
                                             for stem, qs in self.asks.items() for i, q in enumerate(qs)] + [Passage(f"{OFF_SCOPE}#{i}", OFF_SCOPE, docs_mod.INTRO, t)
                                             for i, t in enumerate(self.off_scope)]
                col.add(ids=[p.id for p in ps], documents=[p.text for p in ps],
                        metadatas=[{"doc": p.doc, "section": p.section} for p in ps])
        return col

    # ---- search -----------------------------------------------------------
    def embed_scores(self, question: str) -> tuple[dict[str, tuple[float, str]], dict[str, float], float]:
        """(stem -> (best passage cosine similarity, its section),
        stem -> cosine similarity to the doc's "about" passage or its closest FAQ question,
        the cosine similarity to the closest subject the docs do not cover)."""
        col = self.collection()
        off = 0.0
        res = col.query(query_texts=[expand(question)], n_results=col.count(),
                        include=["metadatas", "distances"])
        best: dict[str, tuple[float, str]] = {}
        about: dict[str, float] = {}
        sections: dict[str, dict[str, float]] = {}     # doc -> section -> best text passage
        for pid, meta, dist in zip(res["ids"][0], res["metadatas"][0], res["distances"][0]):
            sim, doc = 1.0 - float(dist), meta["doc"]
            if doc == OFF_SCOPE:
                off = max(off, sim)
                continue
            if pid.endswith("#about") or "#faq" in pid or "#ask" in pid:
                about[doc] = max(about.get(doc, -1.0), sim)
                continue
            if sim > best.get(doc, (-1.0, ""))[0]:
                best[doc] = (sim, "")
            sec = sections.setdefault(doc, {})
            sec[meta["section"]] = max(sec.get(meta["section"], -1.0), sim)
        q = set(tokens(question))
        out = {}
        for d, (sim, _) in best.items():
            # the section: its best passage, plus a little for sharing words with the heading
            cands = sections.get(d) or {docs_mod.INTRO: 0.0}
            out[d] = (sim, max(cands, key=lambda h: cands[h] + 0.1 * len(q & set(tokens(h)))))
        return out, about, off

    def _links(self, ali: dict[str, float]) -> dict[str, float]:
        """A question that names two or more quant types or methods ("Q4_K_M or
        Q5_K_M?", "GPTQ vs bitsandbytes") is about how they relate: docs that link
        to all of them (their ``related``) score up to 1."""
        named = {d for d in ali if self.docs[d].kind in ENTITY_KINDS}
        if len(named) < 2:
            return {}
        return {stem: len(named & set(d.related)) / len(named) for stem, d in self.docs.items()
                if stem not in named}

    def _off_score(self, question: str, off: float) -> float:
        """The not-covered subjects scored like a doc: the closest subject's cosine (as its best
        passage and as its "about"), their BM25, the penalty for words neither uses."""
        lex = saturate(self.off_lex.lexical(question), BM25_HALF)
        return ((W_EMBED + W_ABOUT) * off + W_BM25 * lex) / _W_SUM * (
            1.0 - OOV_PENALTY * self.off_lex.unknown_share(question))

    def search(self, question: str, k: int = 3) -> list[Hit]:
        """The k docs that best answer the question, best first."""
        question = (question or "").strip()
        if not question:
            return []
        emb, about, off = self.embed_scores(question)
        lex = self.bm25.scores(question)
        ali = self.aliases.hits(question)
        link = self._links(ali)
        cue = self.cues.hits(question)
        pen = (1.0 - OOV_PENALTY * self.bm25.unknown_share(question)
               - FOREIGN_PENALTY * self.off_lex.foreign_share(question))
        top_sim = max((v[0] for v in emb.values()), default=0.0)
        pen *= 1.0 - min(1.0, OFF_PENALTY * max(0.0, off - top_sim))
        scored = []
        for stem in self.docs:
            s = (W_EMBED * max(emb.get(stem, (0.0, ""))[0], 0.0) + W_ABOUT * max(about.get(stem, 0.0), 0.0)
                 + W_BM25 * saturate(lex.get(stem, 0.0), BM25_HALF) + W_ALIAS * ali.get(stem, 0.0)
                 + W_LINK * link.get(stem, 0.0) + W_CUE * cue.get(stem, 0.0)
                 + W_NEAR * max(0.0, about.get(stem, 0.0) - NEAR_AT) / (1.0 - NEAR_AT)) / _W_SUM * pen
            scored.append((s, stem))
        scored.sort(reverse=True)
        if scored and scored[0][0] >= NO_NOTE and self._off_score(question, off) > scored[0][0] - OFF_MARGIN:
            # about what the docs leave out as much as about any doc: "no note", the nearest topics kept in order
            f = 0.9 * NO_NOTE / scored[0][0]
            scored = [(s * f, stem) for s, stem in scored]
        hits = []
        for s, stem in _diverse(scored, self.docs, k):
            d = self.docs[stem]
            heading = emb.get(stem, (0.0, docs_mod.INTRO))[1] or docs_mod.INTRO
            sec = d.section(heading) or d.sections[0]
            hits.append(Hit(stem, d.title, sec.heading, sec.text, round(s, 4)))
        return hits


def _diverse(scored: list[tuple[float, str]], docs: dict[str, Doc], k: int) -> list[tuple[float, str]]:
    """The best k, with at most MAX_SAME_KIND docs of one kind: a question that
    names two quant types should still see the doc about choosing between them."""
    out: list[tuple[float, str]] = []
    per_kind: dict[docs_mod.DocKind, int] = {}
    for s, stem in scored:
        kind = docs[stem].kind
        if per_kind.get(kind, 0) < MAX_SAME_KIND:
            out.append((s, stem))
            per_kind[kind] = per_kind.get(kind, 0) + 1
        if len(out) == k:
            break
    return out


@contextlib.contextmanager
def _file_lock(path: Path):
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def _content_key(docs: dict[str, Doc], off_scope: tuple[str, ...], asks: dict[str, tuple[str, ...]],
                 cues: dict[str, tuple[str, ...]] | None = None) -> str:
    """Changes whenever a doc, the not-covered subjects, the asked questions or the cues change."""
    asks = {k: v for k, v in asks.items() if k in docs}
    return docs_mod.content_hash(docs, (*off_scope, repr(sorted(asks.items())), repr(sorted((cues or {}).items()))))


_INDEX: DocsIndex | None = None
_INDEX_LOCK = threading.Lock()


def index() -> DocsIndex:
    """The process-wide index of knowledge/explain (rebuilt when the docs or
    the data dir change)."""
    global _INDEX
    with _INDEX_LOCK:
        want = data_dir() / "docs_index"
        docs = docs_mod.load()
        fresh = _content_key(docs, docs_mod.off_scope(), docs_mod.asks(), docs_mod.cues())
        if _INDEX is None or _INDEX.path != want or _INDEX.hash != fresh:
            _INDEX = DocsIndex(path=want)
        return _INDEX


def search(question: str, k: int = 3) -> list[Hit]:
    return index().search(question, k)


def warm_up(background: bool = True) -> threading.Thread | None:
    """Open (building if needed) the index and load the embedder now, in a daemon
    thread by default, so the first explanation does not wait ~10 s."""
    def work() -> None:
        try:
            index().search("warm up", k=1)
        except Exception:  # noqa: BLE001 - the real call reports it
            pass
    if not background:
        work()
        return None
    from lqmf.tools.heavy import warm_in_background

    return warm_in_background(work, "lqmf-docs-index-warmup")


__all__ = ["Hit", "DocsIndex", "search", "index", "warm_up", "NO_NOTE", "normalize"]
