"""The lexical half of explain-doc retrieval: text normalization (voice
transcripts and the many spellings of quant types), BM25 over the docs, and
alias matches. Pure Python, no model.

Why: sentence embeddings of short questions miss exact domain tokens
("q5_1" and "q5_0" embed alike; "kay el divergence" embeds like nothing).
Scores here are absolute (saturated to 0..1), so the hybrid score can be
compared against one "no note" threshold across questions.
"""
from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from lqmf.tools.docs import Doc
from lqmf.tools.spelled import join_spelled

_NUM = {"thirty two": "32", "sixteen": "16", "zero": "0", "one": "1", "two": "2", "three": "3", "four": "4",
        "five": "5", "six": "6", "seven": "7", "eight": "8"}     # "thirty two" before "two"
_SPOKEN = [  # voice transcripts and loose typing; letters said one by one ("k l d", "gee pee tee queue",
    # "kay vee") are joined before these, by tools/spelled.py
    (r"\bgee guf\b|\bgguff?\b", "gguf"), (r"\bi matrix\b", "imatrix"),
    (r"\bfine[\s-]+tun", "finetun"),   # training, not the tune command (the parser joins it too)
    (r"\bnf four\b", "nf4"), (r"\bfp four\b", "fp4"), (r"\bint eight\b", "int8"),
    (r"\bbf 16\b|\bbrain float(?: 16)?\b", "bf16"), (r"\bfp? (16|32)\b", r"f\1"), (r"\bfp16\b|\bhalf precision\b", "f16"),
    (r"\bfp32\b", "f32"), (r"\bq\s?(\d)\s?o\b", r"q\1_0"),
    (r"\btok/s\b|\btokens/s\b|\bt/s\b", "tokens per second"), (r"\bllama\.cpp\b|\bllama cpp\b", "llamacpp"),
    (r"\bsafe tensors\b", "safetensors"), (r"\bbits? (?:and|n) (?:bytes|bites)\b", "bitsandbytes"),
    (r"\bper ?plexity\b|\bperplexety\b|\bperplexit\b", "perplexity"), (r"\b-ngl\b", "ngl"),
    (r"\bkay\b", "k"), (r"\b[ck]wanti[sz]", "quantiz"), (r"\bquantis", "quantiz"),
    (r"\b(?:eye|i)[\s-]?(?:queue|cue|q)[\s-]?(\d)\b", r"iq\1"), (r"\b(?:queue|cue)[\s-]?(\d)\b", r"q\1"),
    (r"(\d)[\s_-]*x[\s-]?x[\s-]?s\b", r"\1 xxs"), (r"(\d)[\s_-]*x[\s-]?s\b", r"\1 xs"),
    (r"(\d+)\s?-?\s?bits?\b", r"\1 bit"), (r"\bgigs?\b|\bgigabytes?\b|\bgib\b", "gb"),
]
_QUANT = [  # canonical quant type tokens: q4_k_m, q4_k, q5_1, iq4_xs ("Q4-K-M", "q 4 k m" too)
    (re.compile(r"\b(i?)q[\s_-]*(\d)[\s_-]*k[\s_-]*(xs|s|m|l)\b"), r"\1q\2_k_\3"),
    (re.compile(r"\b(i?)q[\s_-]*(\d)[\s_-]*k\b"), r"\1q\2_k"),
    (re.compile(r"\bq[\s_-]*(\d)[\s_-]+([01])\b"), r"q\1_\2"),
    (re.compile(r"\biq[\s_-]*(\d)[\s_-]*(xxs|xs|nl|s|m)\b"), r"iq\1_\2"),
]
_STOP = set("""a an the is are was were be been am do does did i me my you your it its this that these
those what whats what's which who how why when where can could should would will shall of to in on for
with at by from and or but so if then than as about any some there here just really even actually
um uh like okay ok hey please vs versus anyone today going possible tell explain mean means meaning get got thing stuff lqmf one ones""".split())
HEAD_REPEAT = 3           # title and aliases count this many times in BM25
_WORD = re.compile(r"[a-z0-9_]+(?:\.[a-z0-9]+)?")


def normalize(text: str) -> str:
    t = " " + text.lower().replace("’", "'") + " "
    t = re.sub(r"(\w)'s\b", r"\1", t)                 # "qlora's" -> "qlora"
    t = re.sub(r"[^\w\s.%/'+-]", " ", t)
    for word, digit in _NUM.items():
        t = re.sub(rf"\b{word}\b", digit, t)
    t = f" {join_spelled(' '.join(t.split()))} "   # "ay double you cue" -> awq, "cue six kay" -> q6_k
    for pat, rep in _SPOKEN:
        t = re.sub(pat, rep, t)
    for rx, rep in _QUANT:
        t = rx.sub(rep, t)
    t = re.sub(r"\bq(\d)km\b", r"q\1_k_m", t)
    t = re.sub(r"\bq(\d)ks\b", r"q\1_k_s", t)
    return " ".join(t.split())


_GLOSSARY = {  # abbreviations the sentence embedder does not know, spelled out for it
    "kld": "kl divergence", "kl": "kl divergence", "ppl": "perplexity", "bpw": "bits per weight",
    "rss": "resident memory", "vram": "gpu memory", "bnb": "bitsandbytes", "imatrix": "importance matrix",
    "ngl": "gpu layers", "ctx": "context length", "hf": "hugging face", "llamacpp": "llama.cpp",
    "f16": "16-bit float", "bf16": "bfloat16", "f32": "32-bit float", "awq": "awq activation-aware",
    "gptq": "gptq", "nf4": "nf4 4-bit normalfloat", "tts": "speech", "stt": "speech to text",
    # subjects the docs do not cover (knowledge/explain/not-covered.toml), so a question about them embeds near them
    "lora": "low-rank adapter fine-tuning", "peft": "parameter-efficient fine-tuning", "sft": "supervised fine-tuning",
    "rlhf": "reinforcement learning from human feedback", "dpo": "direct preference optimization",
    "rag": "retrieval-augmented generation", "bpe": "byte pair encoding", "moe": "mixture of experts",
}
_QTYPE = re.compile(r"\b(i?q)(\d)(_k)?(?:_([a-z]+))?\b|\bq(\d)_([01])\b")


def expand(text: str) -> str:
    """The question for the embedder: normalized, abbreviations spelled out,
    quant type names followed by their bit width in words."""
    words = []
    for w in normalize(text).split():
        words.append(w)
        if w in _GLOSSARY and _GLOSSARY[w] != w:
            words.append(f"({_GLOSSARY[w]})")
        m = _QTYPE.fullmatch(w)
        if m:
            bits = m.group(2) or m.group(5)
            words.append(f"({bits}-bit)")
    return " ".join(words)


def _stem(w: str) -> str:
    """A light suffix stripper: runs -> run, chatting -> chat, batches -> batch,
    queries -> query (domain tokens with digits or underscores stay whole)."""
    if not w.isalpha() or len(w) < 4:
        return w
    if w.endswith("ies") and len(w) > 4:
        return w[:-3] + "y"
    for suf in ("ing", "ed", "es", "s"):
        if w.endswith(suf) and len(w) - len(suf) >= 3 and not w.endswith("ss"):
            w = w[: -len(suf)]
            if suf in ("ing", "ed") and len(w) > 3 and w[-1] == w[-2] and w[-1] not in "aeiouls":
                w = w[:-1]                                  # chatt -> chat
            return w
    return w


def tokens(text: str) -> list[str]:
    return [_stem(w) for w in _WORD.findall(normalize(text)) if w not in _STOP]


def _doc_text(d: Doc) -> str:
    # title and aliases count three times: they are what a doc is about
    # (each word once: many aliases sharing a word must not multiply it)
    head = " ".join(dict.fromkeys(normalize(" ".join([d.title, *d.aliases, d.stem.replace("-", " ")])).split()))
    return " ".join([head] * HEAD_REPEAT + [s.heading + " " + s.text for s in d.sections])


@dataclass
class Bm25:
    """Okapi BM25 over whole docs (k1 1.2, b 0.75), and over ``extra`` pseudo-docs
    (name -> text) scored and counted like docs."""

    docs: dict[str, Doc]
    extra: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.tf = {stem: Counter(tokens(_doc_text(d))) for stem, d in self.docs.items()}
        self.tf.update({name: Counter(tokens(text)) for name, text in self.extra.items()})
        self.len = {s: sum(c.values()) for s, c in self.tf.items()}
        self.avg = sum(self.len.values()) / max(len(self.len), 1)
        df = Counter(w for c in self.tf.values() for w in c)
        n = len(self.tf)
        self.idf = {w: math.log(1 + (n - f + 0.5) / (f + 0.5)) for w, f in df.items()}

    def unknown_share(self, query: str) -> float:
        """The share of the question's words (letters only, not stop words) that
        no doc uses: a question about something the docs never mention."""
        return share(query, lambda w: w not in self.idf)

    def scores(self, query: str) -> dict[str, float]:
        """stem -> BM25 score, for the docs (and pseudo-docs) that share a word with the question."""
        q = set(tokens(query))
        return {stem: s for stem in self.tf if (s := self._score(q, stem))}

    def score(self, query: str, stem: str) -> float:
        """One doc's (or pseudo-doc's) BM25 score."""
        return self._score(set(tokens(query)), stem)

    def _score(self, q: set[str], stem: str) -> float:
        tf, s = self.tf[stem], 0.0
        for w in q:
            f = tf.get(w)
            if f:
                s += self.idf[w] * f * 2.2 / (f + 1.2 * (0.25 + 0.75 * self.len[stem] / self.avg))
        return s


def share(query: str, pick: Callable[[str], bool]) -> float:
    """The share of the question's words (letters only, not stop words, each once) that ``pick`` picks."""
    words = [w for w in dict.fromkeys(tokens(query)) if w.isalpha()]
    return sum(map(pick, words)) / len(words) if words else 0.0


def saturate(x: float, half: float) -> float:
    """0..1, 0.5 at ``half``: an absolute scale for raw BM25 scores."""
    return x / (x + half) if x > 0 else 0.0


@dataclass
class Aliases:
    """Alias matches: stem -> 0..1 for docs whose alias (or title) appears in
    the question as whole words. An alias counts by how specific it is: one
    that most docs mention ("quantization", "4-bit") counts little, one that
    only its own doc mentions ("safetensors", "kv cache") counts fully."""

    docs: dict[str, Doc]

    def __post_init__(self) -> None:
        texts = [" " + normalize(_doc_text(d)) + " " for d in self.docs.values()]
        n = len(texts)
        self.weight: dict[str, dict[str, float]] = {}
        for stem, d in self.docs.items():
            w: dict[str, float] = {}
            for a in (*d.aliases, d.title.lower()):
                na = normalize(a)
                if na:
                    df = max(1, sum(f" {na} " in t for t in texts))
                    w[na] = math.log(1 + n / df) / math.log(1 + n)
            self.weight[stem] = w

    def hits(self, query: str) -> dict[str, float]:
        q = " " + normalize(query) + " "
        out: dict[str, float] = {}
        for stem, w in self.weight.items():
            best = max((v for na, v in w.items() if f" {na} " in q), default=0.0)
            if best:
                out[stem] = best
        return out


@dataclass
class Cues:
    """Phrasing cues: stem -> 1.0 for docs one of whose patterns
    (knowledge/explain/cues.toml) matches the normalized question. They catch
    questions that name one topic while asking about another ("convert my q8
    gguf to q4" is about requantization, not Q8_0)."""

    patterns: dict[str, tuple[str, ...]]

    def __post_init__(self) -> None:
        self.rx = {stem: [re.compile(p) for p in pats] for stem, pats in self.patterns.items()}

    def hits(self, query: str) -> dict[str, float]:
        q = normalize(query)
        return {stem: 1.0 for stem, rxs in self.rx.items() if any(r.search(q) for r in rxs)}
