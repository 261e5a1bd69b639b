"""Model names in an utterance: local paths, hub ids, names and aliases from
the knowledge catalog and from past experiments (``known_models.json`` in the
data dir), model-shaped words (``phi-2``, ``falcon-7b``), and fuzzy matches
for what a speech recognizer or a typo mangled ("quen 2.5" -> qwen2.5).

The slot keeps the name as the user wrote it, lower-cased; only a name split
into pieces or misspelled is replaced by the known spelling.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from lqmf.copilot.parser.lexicon import COMMON
from lqmf.copilot.parser.quants import Hit

_PATH = re.compile(r"(?:(?<=\s)|^)((?:~|\.{1,2})?/[^\s]+|[^\s/]*[^\s]*\.(?:gguf|safetensors|bin))(?=\s|$)")
_HUB = re.compile(r"(?:(?<=\s)|^)([a-z0-9][\w.\-]{1,}/[\w.\-]*[a-z][\w.\-]*)(?=\s|$)")
_NOT_HUB = re.compile(r"^(?:tok|tokens?|t|gb|mb|and|either|kb|w|i|s|q\d\w*|\w+/(?:s|sec|second|o|or))(?:/|$)")
_MODELISH = re.compile(r"^[a-z][a-z0-9]*(?:[-_.][a-z0-9]+)*(?::[a-z0-9][\w.\-]*)?$")   # ":3b": an Ollama tag
_NOT_MODELISH = re.compile(r"^(?:q\d|iq\d|int\d|fp\d|nf\d|f\d|bf\d|v\d|rtx|gtx|pi\d|m\d|top\d|x\d|"
                           r"a100|h100|t4|\d|k\d|q$|[a-z]\d?$|jetson)")
_AFTER_VERB = re.compile(r"\b(?:quantize|benchmark|bench|compress|convert|shrink|load|profile|tune)\s+"
                         r"(?:(?:my|the|a|this|that|our)\s+)?([a-z][\w.\-]{2,})\b")
_SQUASH = re.compile(r"[\s\-_./]")
_SIZE_SUFFIX = re.compile(r"[-_ ]?\d+(?:\.\d+)?[bm]$")
_LIMIT_WORDS = frozenset({"under", "below", "over", "above", "than", "within", "max", "maximum", "about",
                          "around", "to", "<", ">", "<=", ">=", "upto"})
_DIGITS = re.compile(r"\d+")
# Never parts of a multi-word model name.
_FUNCTION = frozenset("the a an to of in on at for with and or my is are it this that by from into "
                      "as be do me i you your our".split())


def squash(text: str) -> str:
    return _SQUASH.sub("", text)


@dataclass(frozen=True)
class ModelLexicon:
    keys: dict[str, str]       # squashed name -> spelling to report
    sizes: dict[str, str] = field(default_factory=dict)   # "270m" -> "gemma3-270m": a bundled model's size, no other's
    max_words: int = 6


def _known_file() -> Path | None:
    from lqmf.tools.config import data_dir

    path = data_dir() / "known_models.json"
    return path if path.is_file() else None


def _read_known(path: Path | None) -> list[str]:
    if path is None:
        return []
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    names = []
    for item in data if isinstance(data, list) else []:
        name = item.get("name") if isinstance(item, dict) else item
        if isinstance(name, str) and 2 < len(name) < 200:
            names.append(name.strip().lower())
    return names


@lru_cache(maxsize=4)
def _build(known_path: str | None, mtime: float) -> ModelLexicon:
    from lqmf import knowledge

    keys: dict[str, str] = {}

    def add(name: str, display: str) -> None:
        key = squash(name.lower())
        if len(key) >= 3 and not key.isdigit():
            keys.setdefault(key, display.lower())

    entries = knowledge.catalog()
    for e in entries:
        add(e["name"], e["name"])
    for e in entries:
        for alias in e.get("aliases", []):
            if " " not in alias:
                add(alias, alias)
        if e.get("hub_id"):
            add(e["hub_id"].split("/")[-1], e["hub_id"].split("/")[-1])
    for e in entries:
        stem = _SIZE_SUFFIX.sub("", e["name"])
        if stem != e["name"]:
            add(stem, stem)
        for alias in e.get("aliases", []):
            if " " in alias:
                add(alias, e["name"])
    for name in _read_known(Path(known_path) if known_path else None):
        add(name, name)
    by_size: dict[str, list[str]] = {}
    for e in entries:   # the size a name, an alias or the hub id ends with ("smollm2-135m": 135m)
        names = [e["name"], *e.get("aliases", []), str(e.get("hub_id", "")).split("/")[-1]]
        for size in {m.group(0).lstrip("-_ ").lower() for n in names if (m := _SIZE_SUFFIX.search(n))}:
            by_size.setdefault(size, []).append(e["name"])
    bundled = {e["name"] for e in entries if e.get("bundled")}
    return ModelLexicon(keys, {size: names[0] for size, names in by_size.items()
                               if len(names) == 1 and names[0] in bundled})


def lexicon() -> ModelLexicon:
    path = _known_file()
    return _build(str(path) if path else None, path.stat().st_mtime if path else 0.0)


# a word, without the punctuation that ends a clause or quotes it ("gemma?", "(smollm2)", "tinyllama,");
# dots and dashes inside a name stay ("qwen2.5", "phi-3")
_WORD = re.compile(r"[^\s\"'(\[{]*[^\s\"'()\[\]{},;:!?.…]|[^\s\"'()\[\]{},;:!?.…]+")


def _tokens(text: str) -> list[tuple[int, int, str]]:
    return [(m.start(), m.end(), m.group(0)) for m in _WORD.finditer(text)]


def _fuzzy(cand: str, lex: ModelLexicon) -> str | None:
    from rapidfuzz import process
    from rapidfuzz.distance import Levenshtein

    if len(cand) < 4:
        return None
    limit = 1 if len(cand) <= 6 else 2
    found = process.extractOne(cand, lex.keys.keys(), scorer=Levenshtein.distance, score_cutoff=limit)
    if not found:
        return None
    key = found[0]
    if _DIGITS.findall(key) != _DIGITS.findall(cand) or key[0] != cand[0] and key[:2] != cand[:2][::-1]:
        return None
    return lex.keys[key]


def find_refs(text: str) -> list[Hit]:
    """Local paths and hub ids: unambiguous, so read before anything else."""
    hits: list[Hit] = []
    for pat in (_PATH, _HUB):
        for m in pat.finditer(text):
            if pat is _HUB and _NOT_HUB.match(m.group(1)):
                continue
            if any(h.start <= m.start() < h.end for h in hits):
                continue
            hits.append(Hit("model", m.group(1).rstrip(".,"), m.start(), m.end()))
    return sorted(hits, key=lambda h: h.start)


def find_models(text: str) -> list[Hit]:
    """Model names in order, in text where paths, hub ids and quant words are blanked."""
    hits: list[Hit] = []
    masked = text
    lex = lexicon()
    toks = _tokens(masked)
    used = [False] * len(toks)
    # exact names (possibly split over words by a transcript)
    i = 0
    while i < len(toks):
        for n in range(min(lex.max_words, len(toks) - i), 0, -1):
            span = toks[i:i + n]
            if n > 1 and (span[0][2] in _FUNCTION or span[-1][2] in _FUNCTION):
                continue
            key = squash(" ".join(t[2] for t in span))
            if key in lex.keys and not any(used[i:i + n]):
                display = span[0][2] if n == 1 else lex.keys[key]
                hits.append(Hit("model", display, span[0][0], span[-1][1]))
                used[i:i + n] = [True] * n
                i += n - 1
                break
        i += 1
    # "the 270m", "quantize 135m": a bundled model named by its size, when no other catalog
    # model has it and no limit is meant ("under 270m")
    for i in range(len(toks)):
        w = toks[i][2]
        if not used[i] and w in lex.sizes and (i == 0 or toks[i - 1][2] not in _LIMIT_WORDS):
            hits.append(Hit("model", w, toks[i][0], toks[i][1]))   # as named; the chat resolves it
            used[i] = True
    # fuzzy: typos and mangled transcripts; a candidate must carry a non-common word
    for n in (3, 2, 1):
        for i in range(len(toks) - n + 1):
            span = toks[i:i + n]
            if any(used[i:i + n]) or any(t[2] in _FUNCTION for t in span):
                continue
            words = [t[2] for t in span]
            if all(w in COMMON or w.replace(".", "").isdigit() for w in words):
                continue
            if n > 1 and not any(c.isdigit() for c in "".join(words)) and len(squash("".join(words))) < 7:
                continue
            near = _fuzzy(squash("".join(words)), lex)
            if near:
                hits.append(Hit("model", near, span[0][0], span[-1][1]))
                used[i:i + n] = [True] * n
    # model-shaped words: letters and digits ("phi-2", "falcon-7b", "gpt2")
    for i, (s, e, w) in enumerate(toks):
        if used[i] or w in COMMON:
            continue
        if _MODELISH.match(w) and re.search(r"[a-z]{2}", w) and re.search(r"\d", w) \
                and not _NOT_MODELISH.match(w) and not re.match(r"^[a-z]{1,3}\d+$", w) or \
                (re.match(r"^[a-z]{1,3}\d+$", w) and len(w) >= 4 and not _NOT_MODELISH.match(w)):
            hits.append(Hit("model", w.strip(".-_"), s, e))
            used[i] = True
    # a plain word right after a verb that takes a model ("quantize zephyr")
    if not hits:
        m = _AFTER_VERB.search(masked)
        if m and m.group(1) not in COMMON and not m.group(1).endswith(("ing", "ly")):
            hits.append(Hit("model", m.group(1).strip(".-_"), m.start(1), m.end(1)))
    # an Ollama tag stays part of the name ("llama3.2:1b", "qwen3:8b")
    tagged = [(h, _TAG.match(masked, h.end)) for h in hits]
    hits = [Hit("model", f"{h.value}{t.group(0)}", h.start, t.end()) if t else h for h, t in tagged]
    return sorted(hits, key=lambda h: h.start)


_TAG = re.compile(r":[a-z0-9][\w.\-]*[a-z0-9]")


def mask(text: str, hits: list[Hit]) -> str:
    """Blank the characters of ``hits`` so later finders do not read them again."""
    chars = list(text)
    for h in hits:
        chars[h.start:h.end] = " " * (h.end - h.start)
    return "".join(chars)
