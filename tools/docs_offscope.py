"""The subjects the explain docs do not cover (knowledge/explain/not-covered.toml),
lexically: one pseudo-doc that tools/docs_index.py scores against the docs.

Why: a question can name a doc's topic while asking about a subject the docs
leave out ("peft rank and alpha for an nf4 base model", "RLHF on a gguf"). Its
embedding lands near the doc it names; the words only a not-covered subject
uses ("peft", "lora", "rlhf", "qdrant") say otherwise. Here they count for the
pseudo-doc (BM25, with word statistics over the docs and it) and against the
docs (their share of the question). Pure Python, no model.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from lqmf.tools.docs import Doc
from lqmf.tools.docs_lexical import Bm25, share, tokens

OFF_SCOPE = "_off_scope"  # the pseudo-doc's name, and the doc name of the subjects' passages


@dataclass
class OffScope:
    """The not-covered subjects as one pseudo-doc among the docs."""

    docs: dict[str, Doc]
    subjects: tuple[str, ...]
    doc_words: Iterable[str]                             # the docs' own vocabulary (their BM25's words)
    known: Iterable[str] = field(default_factory=tuple)  # more text in the docs' words: FAQ questions, asks.toml

    def __post_init__(self) -> None:
        self.bm25 = Bm25(self.docs, {OFF_SCOPE: "\n".join(self.subjects)})
        doc_words = set(self.doc_words) | {w for text in self.known for w in tokens(text)}
        self.foreign = set(self.bm25.tf[OFF_SCOPE]) - doc_words   # words only the subjects use

    def lexical(self, question: str) -> float:
        """The pseudo-doc's raw BM25 score for the question."""
        return self.bm25.score(question, OFF_SCOPE)

    def foreign_share(self, question: str) -> float:
        """The share of the question's words that only a not-covered subject uses."""
        return share(question, self.foreign.__contains__)

    def unknown_share(self, question: str) -> float:
        """The share of the question's words that neither the docs nor the subjects use."""
        return self.bm25.unknown_share(question)
