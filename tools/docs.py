"""The explain docs in ``knowledge/explain/*.md``: parsed, checked, chunked.

Each doc is markdown with a TOML front matter between ``+++`` lines::

    +++
    title = "Q4_K_M and Q4_K_S"
    aliases = ["q4_k_m", "q4km", ...]      # words users say for this topic
    questions = ["What is Q4_K_M?", ...]   # questions the doc answers (FAQ style)
    related = ["q5-k", "k-quants"]         # stems of other docs
    kind = "quant-type"                    # a DocKind
    +++
    # Heading
    intro paragraph ...
    ## Section
    ...

A doc is one concept; its sections (the intro, then each ``##``) are what
retrieval returns. Pure functions, no heavy imports.
"""
from __future__ import annotations

import hashlib
import re
import tomllib
from dataclasses import dataclass
from enum import StrEnum
from functools import lru_cache
from pathlib import Path

from lqmf import knowledge
from lqmf.tools.errors import InvalidInput

INTRO = "overview"          # the section name of the text before the first ``##``
_FRONT = re.compile(r"\A\+\+\+\n(?P<front>.*?)\n\+\+\+\n(?P<body>.*)\Z", re.S)


class DocKind(StrEnum):
    CONCEPT = "concept"
    QUANT_TYPE = "quant-type"
    METHOD = "method"
    METRIC = "metric"
    HARDWARE = "hardware"
    SAFETY = "safety"
    FEATURE = "feature"


@dataclass(frozen=True)
class Section:
    doc: str            # the doc's stem
    heading: str        # INTRO for the text before the first ``##``
    text: str           # the section's markdown, without its heading line


@dataclass(frozen=True)
class Doc:
    stem: str
    title: str
    aliases: tuple[str, ...]
    questions: tuple[str, ...]
    related: tuple[str, ...]
    kind: DocKind
    sections: tuple[Section, ...]
    headline: str = ""  # the ``# …`` line (the title when absent)

    @property
    def intro(self) -> str:
        return self.sections[0].text if self.sections else ""

    def section(self, heading: str) -> Section | None:
        return next((s for s in self.sections if s.heading == heading), None)


def folder() -> Path:
    return knowledge.path("explain")


def parse(stem: str, text: str) -> Doc:
    """One doc from its file text; a malformed file is one clear error."""
    where = f"knowledge/explain/{stem}.md"
    m = _FRONT.match(text.replace("\r\n", "\n"))
    if not m:
        raise InvalidInput(f"{where} has no +++ front matter", "start it with +++, title = \"…\", +++")
    try:
        front = tomllib.loads(m.group("front"))
    except tomllib.TOMLDecodeError as e:
        raise InvalidInput(f"{where}: its front matter is not valid TOML ({e})", "fix the front matter") from None
    title = front.get("title")
    if not isinstance(title, str) or not title.strip():
        raise InvalidInput(f"{where} has no title", "add title = \"…\" to its front matter")
    try:
        kind = DocKind(front.get("kind", "concept"))
    except ValueError:
        raise InvalidInput(f"{where}: unknown kind '{front.get('kind')}'",
                           "use one of " + ", ".join(k.value for k in DocKind)) from None
    aliases = tuple(str(a).strip().lower() for a in front.get("aliases", []) if str(a).strip())
    questions = tuple(str(q).strip() for q in front.get("questions", []) if str(q).strip())
    related = tuple(str(r).strip() for r in front.get("related", []) if str(r).strip())
    h1 = next((ln[2:].strip() for ln in m.group("body").splitlines() if ln.startswith("# ")), "")
    return Doc(stem, title.strip(), aliases, questions, related, kind, tuple(_sections(stem, m.group("body"))),
               h1 or title.strip())


def _sections(stem: str, body: str) -> list[Section]:
    out: list[Section] = []
    lines: list[str]
    heading, lines = INTRO, []
    for line in body.strip().splitlines():
        if line.startswith("# ") and heading == INTRO and not lines:
            continue                                   # the doc's own title line
        if line.startswith("## "):
            if "".join(lines).strip():
                out.append(Section(stem, heading, "\n".join(lines).strip()))
            heading, lines = line[3:].strip(), []
            continue
        lines.append(line)
    if "".join(lines).strip():
        out.append(Section(stem, heading, "\n".join(lines).strip()))
    return out


@lru_cache(maxsize=4)
def _load(path: str, stamp: tuple) -> dict[str, Doc]:
    return {f.stem: parse(f.stem, f.read_text(encoding="utf-8")) for f in sorted(Path(path).glob("*.md"))}


def load(path: Path | None = None) -> dict[str, Doc]:
    """stem -> Doc for every doc in the folder (re-read when a file changes)."""
    p = Path(path or folder())
    stamp = tuple((f.name, f.stat().st_mtime_ns, f.stat().st_size) for f in sorted(p.glob("*.md")))
    return _load(str(p), stamp)


def _toml(name: str, path: Path | None) -> dict | None:
    """knowledge/explain/NAME as data (None when absent); invalid TOML is one clear error."""
    f = Path(path or folder()) / name
    if not f.is_file():
        return None
    try:
        return tomllib.loads(f.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as e:
        raise InvalidInput(f"{f.name} is not valid TOML ({e})", f"fix knowledge/explain/{name}") from None


def off_scope(path: Path | None = None) -> tuple[str, ...]:
    """Subjects the docs do not cover (knowledge/explain/not-covered.toml), for
    retrieval to recognise questions about them."""
    data = _toml("not-covered.toml", path)
    if data is None:
        return ()
    return tuple(str(x).strip() for x in data.get("subjects", []) if str(x).strip())


def asks(path: Path | None = None) -> dict[str, tuple[str, ...]]:
    """stem -> questions users ask that its doc answers (knowledge/explain/asks.toml)."""
    data = _toml("asks.toml", path)
    if data is None:
        return {}
    return {str(k): tuple(str(q).strip() for q in v if str(q).strip()) for k, v in data.items()}


def cues(path: Path | None = None) -> dict[str, tuple[str, ...]]:
    """stem -> phrasing patterns (regular expressions over the normalized
    question) that signal its doc whatever else the question names
    (knowledge/explain/cues.toml); a bad pattern is one clear error."""
    data = _toml("cues.toml", path)
    if data is None:
        return {}
    out = {}
    for stem, pats in data.items():
        for pat in pats:
            try:
                re.compile(pat)
            except re.error as e:
                raise InvalidInput(f"cues.toml: the pattern {pat!r} of '{stem}' is not a valid regular expression ({e})",
                                   "fix knowledge/explain/cues.toml") from None
        out[str(stem)] = tuple(str(p) for p in pats)
    return out


def content_hash(docs: dict[str, Doc], extra: tuple[str, ...] = ()) -> str:
    """Changes whenever any doc's title, aliases or text changes."""
    h = hashlib.sha256()
    for stem in sorted(docs):
        d = docs[stem]
        h.update(repr((stem, d.title, d.aliases, d.questions, d.kind.value, d.sections)).encode())
    if extra:
        h.update(repr(extra).encode())
    return h.hexdigest()[:16]


def problems(docs: dict[str, Doc]) -> list[str]:
    """What is wrong across the docs (dangling related links, empty docs,
    an alias claimed by two docs): empty when all is well."""
    out = []
    owner: dict[str, str] = {}
    for stem, d in docs.items():
        if not d.sections:
            out.append(f"{stem}: no text")
        for r in d.related:
            if r not in docs:
                out.append(f"{stem}: related '{r}' is not a doc")
        for a in d.aliases:
            if a in owner and owner[a] != stem:
                out.append(f"alias '{a}' is claimed by {owner[a]} and {stem}")
            owner.setdefault(a, stem)
    return out
