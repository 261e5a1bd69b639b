"""Conversation words the parse contract leaves out: yes/no, ordinals
("the second one"), references ("it", "them", "both"), revisions
("actually ..."), and a plan's extra verbs ("... and benchmark it")."""
from __future__ import annotations

import re
from collections.abc import Callable

YES = {"y", "yes", "yeah", "yep", "ok", "okay", "sure", "go", "go ahead", "do it", "please", "confirm",
       "fine", "sounds good", "yes please", "ok go", "let's go", "proceed", "run it", "start", "why not"}
NO = {"not right now", "not today", "not yet", "not at the moment", "maybe later", "not now thanks",
      "n", "no", "nope", "stop", "cancel", "never mind", "nevermind", "forget it", "abort", "don't",
      "no thanks", "not now", "cancel that", "skip", "skip it", "nah", "quit that", "drop it"}
ORDINALS = {"first": 1, "1st": 1, "one": 1, "second": 2, "2nd": 2, "two": 2, "third": 3, "3rd": 3,
            "three": 3, "fourth": 4, "4th": 4, "four": 4, "fifth": 5, "5th": 5, "five": 5, "last": -1}
_ORD = re.compile(r"^(?:(?:and|ok|now|then)\s+)?(?:the\s+|pick\s+(?:the\s+)?|use\s+(?:the\s+)?|show\s+(?:me\s+)?(?:the\s+)?|number\s+|#\s*)?"
                  r"(first|1st|second|2nd|third|3rd|fourth|4th|fifth|5th|last|one|two|three|four|five|\d{1,2})"
                  r"(?:\s+(?:one|row|result|job|option))?(?:\s+please)?\s*[.!?]?$")
_BOTH = re.compile(r"\b(both|them|all of them|those|these|all three|each)\b")
# "and the other one?", "now the other too": the rest of the last batch, not the one just used
_OTHER = re.compile(r"\b(?:the|that|those)\s+(?:other|remaining)\b(?!\s+(?:way|hand|day|thing|question))|"
                    r"\b(?:the )?rest of (?:them|the batch)\b|^(?:and |now |what about |how about )?the others?\b")
_IT = re.compile(r"\b(it|that|this one|that one|the same|same model|the result|the artifact|the new one|"
                 r"the new (?:quant|model|file|version)|the one i (?:just )?made|the latest one)\b")
# a change of mind, after a filler or two ("hmm make it 8 bit instead", "oh wait, actually Q6_K")
_REVISE = re.compile(r"^\s*(?:(?:hmm+|oh|ok(?:ay)?|wait|um+|uh+|well|so|no|sorry)[,.!]?\s+)*"
                     r"(actually|instead|no,|rather|change (it|that) to|make (it|that))\b|\binstead\s*[.!]?$")
# "again but smaller", "redo that, but bigger": the last quantize at the next type down or up
_RESIZE = re.compile(r"\b(?:again|redo|re-do|repeat|one more|another|same|try|this time|instead|but)\b.*?"
                     r"\b(smaller|tinier|lighter|more compact|bigger|larger|higher[- ]quality|better quality|"
                     r"more accurate|less lossy)\b")
_ALSO_BENCH = re.compile(r"\b(benchmark|bench|measure)\b")
# "the same for gemma3", "gemma3 too": the last task again, on another model
SAME = re.compile(r"\b(?:(?:the )?same|too|as well|also)\b")
# a line that is only another model for what was just done: "and for gemma?", "what about tinyllama",
# "now on the 270m please" (``same`` then needs the model slot to be set)
FOR_ANOTHER = re.compile(r"^(?:(?:and|ok|okay|now|then|so|also|right|cool|great)[,]?\s+)*"
                         r"(?:(?:what|how) about|for|on|with)\s+(?:the\s+)?[\w.\-]+(?:\s+[\w.\-]+){0,3}?"
                         r"(?:\s+(?:too|as well|please|then|now|next|instead|model))*$|"
                         r"^(?:and|now|then|ok now|okay now|and now)[,]?\s+(?:the\s+)?[\w.\-]+(?:\s+(?:one|model))?"
                         r"(?:\s+(?:too|as well|please|then|now|next|instead))*\s*[?.!]?$")
# "oops i meant gemma3-270m", "sorry, gemma3 not smollm2": a correction of what was just said
CORRECTION = re.compile(r"\b(?:i meant|i mean|meant to say|sorry|oops|whoops|my bad|no wait|wait no|wait,? no|"
                        r"correction|make (?:it|that)|switch (?:it |that )?to|change (?:it |that )?to|rather|instead)\b")
# what a question about past work asks for: "models" (one row per artifact) or "runs"
_MODEL_WORDS = re.compile(r"\b(models?|quants?|artifacts?|files?|ggufs?|versions?|quantizations?|quantized ones|"
                          r"installed|downloaded|locally|(?:on|in) (?:this|my|the) (?:machine|computer|box|pc|laptop|"
                          r"disk|drive|system))\b")
_RUN_WORDS = re.compile(r"\b(runs?|experiments?|jobs?|benchmarks?|results?|attempts?|history|tries)\b")
# a calendar year ("experiments from the year 1850"): the contract has no slot for it, so the copilot keeps it
_YEAR = re.compile(r"\b(?:in|from|during|of|since|for)\s+(?:the\s+year\s+|year\s+)?(1[0-9]{3}|2[0-9]{3})\b(?!\s*(?:mb|gb|tok|tokens))")


# a user who does not know what to say ("no idea what to type", "where do I even start"): help, not a shrug
_LOST = re.compile(r"\b(?:(?:don'?t|do not|dunno|no idea|not sure)\b.*\b(?:what|how|where)\b.*\b(?:type|say|do|ask|start|begin|use)"
                   r"|where (?:do|should|can) i (?:even )?(?:start|begin)|what (?:am i|should i|do i|can i) (?:supposed to )?"
                   r"(?:type|say|ask|do)(?: here| now)?\s*$|(?:i'?m|i am) (?:lost|stuck|confused)|help me out)\b")


# an answer that leaves the choice to the copilot ("whatever you think is best", "you pick", "no idea"):
# the question's default, which it named and gave its reason for
_DEFER = re.compile(r"^(?:(?:um+|hmm+|uh+|well|ok(?:ay)?|oh|honestly|i guess|idk)[, ]+)*(?:"
                    r"whatever(?: (?:you|u) (?:think|suggest|recommend|say|want|like|prefer))?(?: is)?(?: (?:best|fine|good|right))?|"
                    r"(?:you|u) (?:pick|choose|decide|tell me)(?: for me)?|(?:it'?s )?(?:your|ur) (?:call|choice|pick)|"
                    r"(?:it'?s )?up to (?:you|u)|dealer'?s choice|surprise me|"
                    r"(?:i )?(?:don'?t|do not) (?:know|care|mind)|idk|dunno|no idea|not sure|doesn'?t matter|any(?: of them| one)?(?: is fine)?|"
                    r"whichever(?: (?:one|you (?:think|suggest|recommend|like)))?(?: is best)?|"
                    r"(?:the |your )?(?:default|suggested|recommended|usual|standard|normal) ?(?:one|option|choice|type)?|"
                    r"(?:go with |use |take )?(?:the one |what )?(?:you|u) (?:suggested|suggest|recommended|recommend|said)|"
                    r"what(?:ever)? do (?:you|u) (?:suggest|recommend|think)|what(?:'s| is) (?:best|the best one)|"
                    r"the best one|the best|best one|you know best|(?:i )?trust (?:you|u|your (?:call|pick|judgement|judgment)))"
                    r"(?: (?:is )?(?:fine|ok|okay|good))?(?: (?:then|i guess|really|honestly))?(?: (?:please|pls|thanks))?$")


def defers(text: str) -> bool:
    clauses = [c for c in re.split(r"[,;.!?]+\s*|\s+(?:so|just|and)\s+", norm(text)) if c.strip()]
    return bool(clauses) and all(_DEFER.match(c.strip()) for c in clauses)


def is_lost(text: str) -> bool:
    return bool(_LOST.search(norm(text)))


# "what's on this machine", "what do I have on this computer", "what's installed": the inventory, asked
# without the word "models"
_WHATS_HERE = re.compile(
    r"^(?:(?:hi|hey|hello|ok|okay|so|and)[,!.]*\s+)?(?:what(?:'s|s| is| are)?|what (?:do|did) i (?:have|get)|"
    r"what have i(?: got)?|what i have|anything|show me what(?:'s| is)?|list what(?:'s| is)?)"
    r"(?:\s+(?:got|have|downloaded|installed|available|stored|there))*"
    r"\s+(?:(?:on|in)\s+(?:this|my|the)\s+(?:machine|computer|box|pc|laptop|disk|drive|system|server)|"
    r"installed|downloaded|here|locally)(?:\s+(?:here|already|right now|now|locally))*$")


def asks_whats_here(text: str) -> bool:
    return bool(_WHATS_HERE.match(norm(text)))


def asks_inventory(text: str, intent: str, slots: dict) -> bool:
    """A query for "models" with no filter, no sort and no limit ("what models do i have", "list my models",
    "which models are on this machine"): the inventory, which lists the models here and, one row per
    artifact with its latest measurements, the ones made here."""
    filters = {k for k, v in slots.items() if v not in (None, "", []) and k not in ("view", "unsure", "chitchat")}
    return intent == "query" and slots.get("view") == "models" and not filters


def norm(text: str) -> str:
    return " ".join(re.sub(r"[!?.,;]+$", "", text.strip().lower()).split())


# a yes or no in more words than the sets above ("ok sure", "go for it", "yes please do", "nah forget it"):
# every word is one of these, at least one is a strong one, and none is of the other side
_YES_STRONG = {"y", "yes", "yeah", "yep", "yup", "ya", "ok", "okay", "k", "sure", "go", "proceed", "alright",
               "absolutely", "definitely", "fine", "start", "confirm", "confirmed", "approved", "affirmative", "do",
               "run", "aye", "yess", "yea", "correct", "exactly"}
_YES_FILLER = {"for", "it", "ahead", "please", "pls", "then", "now", "just", "that", "thing", "sounds", "good",
               "great", "let's", "lets", "right", "away", "and", "so", "of", "course", "perfect", "cool", "thanks",
               "thank", "you", "sir", "mate", "lgtm", "oh", "well", "why", "not", "i", "guess", "ahead", "is",
               "it's", "its", "ok", "fine", "works", "me", "with", "all", "good", "by", "this", "that's", "thats",
               "on", "one", "eh", "uh", "hmm"}
_NO_STRONG = {"no", "nope", "nah", "cancel", "stop", "scrap", "forget", "drop", "abort", "never", "don't", "dont",
              "pass", "skip"}
_NO_FILLER = {"it", "that", "this", "thanks", "thank", "you", "please", "mind", "wait", "hmm", "actually", "oh",
              "ok", "okay", "not", "now", "the", "plan", "whole", "thing", "after", "all", "do", "let's", "lets",
              "skip", "leave", "sorry", "then", "on", "second", "thought", "thoughts", "i", "changed", "my", "right",
              "for", "i'll", "ill", "later", "maybe", "time", "yet", "hold", "off", "it's", "its", "good", "think",
              "rather", "wait", "another", "some", "other", "day", "instead", "hmm", "ah", "um", "just", "eh", "uh"}
_NEGATING = {"no", "not", "don't", "dont", "wait", "stop", "cancel", "but", "instead", "actually", "never", "nah",
             "nope", "hold", "forget", "scrap", "drop"}


def _words(text: str) -> list[str]:
    return re.findall(r"[a-z']+", norm(text))


# the yes words a typo is read as ("yse", "suer", "porceed"): a swap of two letters in a short word,
# any one slip in a longer one (tools elsewhere ask again for anything less sure)
_YES_TYPO_OF = ("yes", "yeah", "sure", "okay", "proceed", "confirm", "start", "absolutely", "definitely")


def _yes_typo(w: str) -> str:
    if w in _YES_STRONG or w in _YES_FILLER or len(w) < 3:
        return w
    from rapidfuzz.distance import DamerauLevenshtein

    for c in _YES_TYPO_OF:
        if len(w) == len(c) == 3:
            if sorted(w) == sorted(c) and DamerauLevenshtein.distance(w, c) == 1:
                return c
        elif len(c) > 3 and abs(len(c) - len(w)) <= 1 and DamerauLevenshtein.distance(w, c) == 1:
            return c
    return w


# the thanks and praise a yes comes wrapped in ("yes that would be great, thanks so much"): read only
# after a yes word that opens the answer
_POLITE = {"would", "be", "much", "lovely", "wonderful", "awesome", "brilliant", "amazing", "appreciated",
           "appreciate", "a", "lot", "super", "really", "very", "helpful", "nice", "excellent", "kind", "ta",
           "cheers", "what", "want", "wanted", "need", "needed", "love"}


def is_yes(text: str) -> bool:
    if norm(text) in YES:
        return True
    w = [_yes_typo(x) for x in _words(text)]
    if not w or len(w) > 12 or any(x in _NEGATING for x in w) and not {"why", "not"} <= set(w):
        return False
    if w[0] in _YES_STRONG and all(x in _YES_STRONG or x in _YES_FILLER or x in _POLITE for x in w):
        return True
    return len(w) <= 6 and all(x in _YES_STRONG or x in _YES_FILLER for x in w) and any(x in _YES_STRONG for x in w)


def is_no(text: str) -> bool:
    if norm(text) in NO:
        return True
    w = _words(text)
    if not w or len(w) > 6 or any(x in _YES_STRONG - {"do", "ok", "okay"} for x in w):
        return False
    return all(x in _NO_STRONG or x in _NO_FILLER for x in w) and any(x in _NO_STRONG for x in w)


def ends_in_yes(text: str) -> bool:
    """ "ok got it, go", "ok im back. yes": small talk, then a yes as the last clause."""
    parts = [p for p in re.split(r"[.,;!?]+|\s+(?:so|then|and)\s+", text.strip().lower()) if p.strip()]
    return len(parts) > 1 and is_yes(parts[-1])


# what an answer may open with before its yes or no ("makes sense. yes run it", "i see, no")
_ACK = re.compile(r"^(?:makes sense|got it|i see|understood|fair enough|cool|nice|great|thanks|thank you|"
                  r"alright then|hm+|ah+|oh|right|actually|well|um+|uh+)$")


def _opens_with(text: str, said: Callable[[str], bool], changing: frozenset[str]) -> bool:
    """A yes (or no) first, after an acknowledgment or two, then words that neither ask, change
    nor take it back ("yes, let's see", "ok fine use that", "no thanks, not worth it then")."""
    if "?" in text:
        return False
    parts = [p.strip() for p in re.split(r"[.,;!]+", text.strip().lower()) if p.strip()]
    while len(parts) > 1 and _ACK.match(parts[0]):
        parts = parts[1:]
    if not parts:
        return False
    head, rest = parts[0], " ".join(parts[1:])
    head = re.sub(r"^(?:(?:hmm+|um+|uh+|well|actually|honestly|oh|sorry)\s+)+", "", head)
    if not said(head):   # no clause break: the longest opening words that say it ("ok fine" + "use that")
        w = head.split()
        k = next((k for k in range(len(w) - 1, 0, -1) if said(" ".join(w[:k]))), 0)
        if not k:
            return False
        rest = " ".join([*w[k:], rest])
    return not re.match(r"\s*(?:what|why|how|which|when|where|who|is|are|does|do|can|could|should|will)\b", rest) \
        and not any(x in changing for x in _words(rest))


_UNDOING = frozenset(_NEGATING | {"rather", "change", "switch", "only", "except", "without", "make", "smaller",
                                  "bigger"})
_REDOING = frozenset({"use", "make", "switch", "instead", "rather", "but", "change", "try", "do", "run", "go"})


def opens_with_yes(text: str) -> bool:
    return _opens_with(text, is_yes, _UNDOING) and not is_no(text)


def opens_with_no(text: str) -> bool:
    t = text.strip().lower()
    return _opens_with(t, is_no, _REDOING) and not is_yes(t) and not defers(t) \
        and not re.match(r"^(?:no (?:problem|worries|idea|clue|preference)|not (?:bad|sure))\b", t)


def ordinal(text: str) -> int | None:
    """1-based index for "the second one" / "2" / "#3"; -1 for "the last one"."""
    m = _ORD.match(norm(text))
    if not m:
        return None
    w = m.group(1)
    return int(w) if w.isdigit() else ORDINALS[w]


_ORD_IN = re.compile(r"\b(?:the\s+)?(first|1st|second|2nd|third|3rd|fourth|4th|fifth|5th|sixth|6th|last)\s+(?:one|option|row|pick)\b"
                     r"|\b(?:number|option|#)\s*(\d{1,2})\b")
ORDINALS_IN = {**ORDINALS, "sixth": 6, "6th": 6}


def ordinal_in(text: str) -> int | None:
    """An ordinal inside a longer request ("quantize the first one", "option 2"), or None."""
    m = _ORD_IN.search(norm(text))
    if not m:
        return None
    return int(m.group(2)) if m.group(2) else ORDINALS_IN[m.group(1)]


def revises_to(text: str) -> bool:
    """A change of mind said as an order, not asked ("actually use bitsandbytes nf4 instead"),
    which a parser may read as a question about the thing it names."""
    t = norm(text)
    return bool(_REVISE.search(t)) and not re.search(r"\?|^(?:what|why|how|which|is|are|does|do|can|could|should)\b", t)


def resizes(text: str) -> bool:
    return bool(_RESIZE.search(norm(text)))


_START_WITH = re.compile(r"\b(?:start|begin|go|kick off|lead|open)\s+with\s+(?:the\s+)?([\w-]+)|"
                         r"\b(?:do|try|make)\s+(?:the\s+)?([\w-]+)\s+first\b")


_EVERY_METHOD = re.compile(r"\b(?:every|all|each|any)(?: (?:the|of the|available|three))? (?:methods?|backends?)\b")


def tune_methods(text: str) -> list[str] | None:
    """The methods a tune names when it names several ("across gguf and bnb"; "every method": all that
    build here); the parser's contract keeps one method for a tune."""
    from lqmf.copilot.parser.quants import find_methods
    from lqmf.copilot.parser.text import normalize

    norm_text = normalize(text)
    if _EVERY_METHOD.search(norm_text):
        from lqmf.copilot.app.quants import buildable_methods

        return buildable_methods()
    said = list(dict.fromkeys(str(h.value) for h in find_methods(norm_text)))
    return said if len(said) > 1 else None


def extras(text: str, intent: str) -> dict:
    """Copilot-only slots found in the text."""
    t = norm(text)
    out: dict = {}
    if _REVISE.search(t):
        out["revise"] = True
    if _OTHER.search(t):
        out["ref"] = "other"
    elif _BOTH.search(t):
        out["ref"] = "them"
    elif _IT.search(t):
        out["ref"] = "it"
    if intent == "unknown" and (SAME.search(t) or FOR_ANOTHER.match(t)):
        out["same"] = True
    r = _RESIZE.search(t) if intent in ("unknown", "quantize", "recommend") else None
    if r:
        out["resize"] = "smaller" if r.group(1) in ("smaller", "tinier", "lighter", "more compact") else "bigger"
    if intent == "tune":
        methods = tune_methods(text)
        if methods:   # "tune smollm2 across gguf and bitsandbytes": one search per method's runtime
            out["methods"] = methods
    if intent in ("quantize", "tune") and _ALSO_BENCH.search(t):
        out["and_benchmark"] = True
    first = _START_WITH.search(t) if intent in ("quantize", "benchmark") else None
    if first:
        from lqmf.copilot.app.quantize import canonical_type

        qt = canonical_type(next(g for g in first.groups() if g))
        if qt:   # "can't decide between q4_k_s and q5_k_m, let's start with q4_k_s": that one now, the other kept
            out["start_with"] = qt
    if intent == "query":
        if _MODEL_WORDS.search(t) and not _RUN_WORDS.search(t):
            out["view"] = "models"
        y = _YEAR.search(t)
        if y:
            out["year"] = int(y.group(1))
    return out
