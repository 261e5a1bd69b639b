"""The ``topic`` slot of explain and tutorial requests: the subject the user
asked about, lower-cased, without the question words around it
("what does Q4_K_M mean" -> "q4_k_m"; "teach me how to quantize my first
model" -> "first quantization")."""
from __future__ import annotations

import re

_EXPLAIN = [re.compile(p) for p in (
    r"\bdifference (?:between|of|betwen) (?P<t>.+?) and (?P<u>.+)$",
    r"\btell me what (?P<t>.+?) (?:does|do|is|means|measures)\b",
    # "anyone know what iq2_m actually does", "wondering what imatrix really is"
    r"\b(?:know|knows|wonder|wondering|curious|sure|idea|understand|explain) what (?P<t>.+?) "
    r"(?:actually |really |exactly )?(?:is|are|does|do|means|stands for)\b",
    r"\b(?:understand|get my head around|wrap my head around) (?P<t>.+)$",
    r"\bwhat (?:does|do|did) (?P<t>.+?) (?:mean|stand for|do|refer to|measure|represent|indicate|control|"
    r"affect|tell (?:me|us|you)|say|show)\b",
    r"\bwhat (?P<t>.+?) (?:means|stands for|measures|is for|is used for)\b",
    r"\bmeaning of (?P<t>.+)$",
    r"^what (?:mean|means) (?P<t>.+)$",
    r"\bhow (?:does|do) (?P<t>.+?) work\b",
    r"\b(?:explain|define|describe|clarify|elaborate on|eli5|tell me (?:more )?about)(?: to me)?"
    r"(?: what| how| why)?(?: (?:is|are|does|do))? (?P<t>.+)$",
    r"\bwhat(?:'s| is) (?:the )?(?:point|purpose|idea|use|deal) (?:of|with) (?P<t>.+)$",
    r"\b(?:impact|effect|cost|downside|upside) of (?P<t>.+)$",
    r"\bwhy (?:is|are|does|do|did|would|should|was) (?P<t>.+)$",
    r"\bhow is (?P<t>.+?) (?:calculated|computed|measured|different)\b",
    r"^(?:so |and |hey |ok |okay )?(?:what's|whats|what is|what are|what was|what) (?P<t>.+)$",
    r"\b(?:what's|what (?:exactly |actually |really )?(?:is|are))(?: exactly| actually| really)? (?P<t>.+)$",
    r"^(?:so |and |but )?how come (?P<t>.+)$",
    r"^(?P<t>.+?) (?:meaning|definition|explained)$",
    r"^(?:so |and |but )?(?:is |are |would )?(?P<t>.+?) (?:really |even |actually )?worth (?:it|using|trying|the)\b",
)]
_LEAD = re.compile(r"^(?:(?:a|an|the|this|that|these|those|my|your|exactly|actually|again|really|"
                   r"quantization type|quant type|term|word|concept of|concept|thing called|so-called|"
                   r"is|are|do|does|mean by|meant by|by)\s+)+")
_TRAIL = re.compile(r"(?:\s+(?:mean|means|meaning|stand for|stands for|is|are|again|exactly|actually|please|"
                    r"pls|for me|to me|in simple terms|in plain english|simply|briefly|quickly|"
                    r"in a nutshell|like i'm 5|like im 5|work|works|do|does|then|anyway|about|"
                    r"here|really|all about|matter|matters|important|so important|useful|needed|necessary|"
                    r"help|helps|used for|good for|tell me|tell us|for|file|files|format))+$")

_FIRST = re.compile(r"\bfirst (?:\w+ )?(?:model|quantization|quant|time|run)\b|\bget(?:ting)? started\b|"
                    r"\bbasics\b|\bbeginners?\b|\bfrom scratch\b|\bstart(?:ing)? out\b|\bnew to\b|"
                    r"\bi'm new\b|\bi am new\b|\bintro(?:duction)?\b|\bnever (?:\w+ )?(?:quantized|done|"
                    r"used|tried)\b|\bfirst time\b|\bthe ropes\b")
_TUTORIAL = [re.compile(p) for p in (
    r"\b(?:tutorial|lesson|guide|walkthrough|course|tour)s?\s*:\s*(?P<t>.+)$",   # "guided lesson: benchmarking"
    r"\b(?:tutorial|lesson|guide|walkthrough|course|tour)s? (?:on|about|for|of|covering|to) (?P<t>.+)$",
    r"\b(?:walk me through|guide me through|teach me|show me how to|learn how to|learn about|"
    r"learn|teach me about|help me learn) (?:how (?:to|do i) )?(?P<t>.+)$",
    r"\bhow (?:do|can|would|should) (?:i|you|we|one) (?P<t>.+)$",
    r"^how to (?P<t>.+)$",
    r"(?:^|\s)(?P<t>(?:[\w\-]+ ){0,2}[\w\-]+) (?:tutorial|lesson|walkthrough)\b",
    r"^(?:tutorial|lesson|guide) (?P<t>[\w\-.]+(?: [\w\-.]+)?)$",
)]
_GERUND = [(re.compile(p), r) for p, r in (
    (r"^quantiz(?:e|ing)\b.*", "quantization"), (r"^(?:benchmark|bench|measur)(?:e|ing)?\b.*", "benchmarking"),
    (r"^compar(?:e|ing)\b.*", "comparison"), (r"^(?:tun|optimi[sz])(?:e|ing)\b.*", "tuning"),
    (r"^(?:recommend|choose|pick)\b.*", "choosing a model"),
)]
_METHOD_WORD = re.compile(r"\b(?:gguf|gptq|awq|bnb|bitsandbytes|llama\.cpp|k-quants|imatrix|"
                          r"q\d_k(?:_[msl])?|q\d_\d|iq4_(?:xs|nl)|nf4|fp4|int8|f16|perplexity|"
                          r"kl divergence|kld)\b")


def _clean(topic: str) -> str:
    topic = re.sub(r"\s+", " ", topic).strip(" .?!'\"")
    for _ in range(3):
        topic = _LEAD.sub("", topic)
        topic = _TRAIL.sub("", topic)
    topic = re.sub(r"\s+(?:in lqmf|here|in this tool|with lqmf)$", "", topic)
    return topic.strip(" .?!'\"")


_TERM = (r"(?:gguf|gptq|awq|bnb|bitsandbytes|llama\.cpp|k-quants?|i-quants?|imatrix|importance matrix|"
         r"q\d_k(?:_[msl])?|q\d_\d|iq\d_(?:xs|xxs|s|m|nl)|nf4|fp4|int8|int4|f16|fp16|bf16|perplexity|"
         r"kl divergence|kld|quality gate|bits per weight|bpw|mixed precision|double quantization|"
         r"quantization)")
_KNOWN = re.compile(rf"\b{_TERM}(?![\w-])")
# "why is q5_k_m better than q4_0", "how come q8_0 is bigger than q6_k": a comparison to explain
_WHY_VS = re.compile(rf"\b(?:why|how come)\b.*?\b(?P<t>{_TERM})\b.*?\b(?:better|worse|faster|"
                     rf"slower|bigger|smaller|larger|more|less|beats?|outperforms?|than|over|compared to|vs|"
                     rf"versus)\b.*?\b(?P<u>{_TERM})(?![\w-])")
def names_a_term(text: str) -> bool:
    """Whether the text names a quant type, method or metric of the domain."""
    return bool(_KNOWN.search(text.lower()))


_PRONOUNS = frozenset("it this that them these those they".split())
LONG_TOPIC_WORDS = 4
_QUALIFIED = re.compile(rf"^((?:[\w\-]+ ){{0,2}}[\w\-]+) (?:in|for|with|of|used by|inside) (?:a |an |the )?{_TERM}$")   # a topic this long that names a known term is that term ("perplexity not enough to ...")


def _parts(text: str) -> list[str]:
    """Clauses of a long question, in order ("... but what is an imatrix, and do I need it")."""
    return re.split(r"\s(?:and|but|so|also)\s(?=why|how|what|when|should|is|does|do|can|could|would|which)",
                    text)


_METHOD = r"(?:gguf|gptq|awq|bnb|bitsandbytes|llama\.cpp)"
# "is gptq or gguf better on a cpu", "awq vs bitsandbytes for a small gpu": a choice of method
_CHOICE = re.compile(rf"\b(?P<t>{_METHOD})\s+(?:or|vs\.?|versus|and)\s+(?P<u>{_METHOD})(?![\w-])")
# "q4_k_m vs q5_k_m what's the actual difference?": the two terms set against each other, wherever they are
_VS = re.compile(rf"\b(?P<t>{_TERM})\s+(?:vs\.?|versus)\s+(?P<u>{_TERM})(?![\w-])")


def explain_topic(text: str) -> str | None:
    m = _WHY_VS.search(text) or _CHOICE.search(text) or _VS.search(text)
    if m and m.group("t") != m.group("u"):
        return f"{m.group('t')} vs {m.group('u')}"
    # the first clause that asks names the subject, not the story before it or the tail after it
    for part in _parts(text):
        for pat in _EXPLAIN:
            m = pat.search(part)
            if m:
                t = _clean(m.group("t"))
                if "u" in m.groupdict() and m.group("u"):
                    u = _clean(m.group("u"))
                    kt, ku = _KNOWN.match(t), _KNOWN.match(u)   # "nf4 and fp4 formats in bitsandbytes"
                    t, u = (kt.group(0) if kt else t), (ku.group(0) if ku else u)
                    return f"{t} vs {u}" if t else None
                q = _QUALIFIED.match(t)   # "calibration data in gptq": the subject, not its setting
                if q:
                    t = q.group(1)
                if len(t.split()) >= LONG_TOPIC_WORDS:
                    known = _KNOWN.search(t)
                    if known:
                        return known.group(0)
                if t in _PRONOUNS:   # "confused about kl divergence, what is it": the term named before
                    known = _KNOWN.search(text)
                    return known.group(0) if known else None
                if t:
                    return t
    return None


_NO_TOPIC = frozenset("next previous last part parts step steps chapter section bit rest of the a an this like "
                      "i'd i want would give me some new where we left off in guided interactive quick short "
                      "full little".split())


def tutorial_topic(text: str) -> str | None:
    if _FIRST.search(text):
        return "first quantization"
    for pat in _TUTORIAL:
        m = pat.search(text)
        if not m:
            continue
        t = _clean(m.group("t"))
        t = re.sub(r"^(?:the|a|an|my|to|how to|how|do)\s+", "", t)
        t = re.sub(r"\b(?:please|step by step|step-by-step|again)\b", "", t).strip()
        t = re.sub(r"^(?:(?:start|continue|resume|begin|open|next|the|a|an|my|this|that)\b\s*)+", "", t)
        t = re.sub(r"\s(?:a|my|your|the|some)? ?(?:model|models|llm|llms)$", "", t).strip()
        if not t or t in ("tutorial", "it", "this", "me", "something", "things", "lqmf", "stuff") \
                or set(t.split()) <= _NO_TOPIC:
            continue   # no subject in this reading ("a guided lesson", "where we left off"): try the next
        for pat_g, value in _GERUND:   # "how do i quantize with llama.cpp": the act is the topic
            if pat_g.match(t):
                return value
        method = _METHOD_WORD.search(t)
        if method:
            return method.group(0)
        return t
    return None
