"""A quantize request's recipe in words: GPTQ's group size, activation order and
calibration text ("gptq 4-bit with group size 64 and act order, calibrated on code"),
and GGUF's importance matrix ("q4_k_m with an imatrix from the math text").

The result has the keys and values of ``tools/quantize/recipe.py`` (the CLI's
--group-size, --desc-act, --calibration and --imatrix give the same), as strings; the
plan checks it against the type's method before anything is confirmed."""
from __future__ import annotations

import re

from lqmf.knowledge.calibration import Use

# words for the shipped calibration texts (knowledge/calibration/), by use
_USE_WORDS: dict[Use, tuple[str, ...]] = {
    Use.CHAT: ("chat", "chats", "conversation", "conversations", "dialogue", "dialog", "assistant"),
    Use.CODE: ("code", "coding", "programming", "source code", "python"),
    Use.MATH: ("math", "maths", "mathematics", "arithmetic"),
    Use.CREATIVE: ("creative", "creative writing", "stories", "story", "fiction", "storytelling", "prose"),
}
_USE_OF = {w: u for u, ws in _USE_WORDS.items() for w in ws}
_USE = "|".join(sorted((re.escape(w) for w in _USE_OF), key=len, reverse=True))
_TXT = r"[~./\w-]*[\w-]\.txt"
_NUM = r"(-?\d{1,4})"

_GROUP = re.compile(r"\bgroup[\s_-]?size\s*(?:of|=|:|is|to|at|set to)?\s*" + _NUM + r"\b"
                    r"|\b" + _NUM + r"[\s-]?(?:group[\s_-]?size|gs)\b"
                    r"|\bgroups?\s+of\s+" + _NUM + r"\b"
                    r"|\bgs\s*=?\s*" + _NUM + r"\b"
                    r"|(?<![\w-])g" + _NUM + r"(?![\w-])", re.I)
_PER_ROW = re.compile(r"\b(?:one group per (?:row|channel)|per[\s-](?:row|channel) groups?)\b", re.I)
_ACT = r"(?:desc[\s_-]?act|act[\s_-]?order|activation[\s_-]order(?:ing)?|descending activation order)"
_ACT_OFF = re.compile(r"\b(?:no|without|disable|disabled|skip|w/o|not)\s+(?:the\s+|using\s+)?" + _ACT +
                      r"|" + _ACT + r"\s*(?:=|:)?\s*(?:off|false|no|disabled|0)\b", re.I)
_ACT_ON = re.compile(r"\b" + _ACT + r"\b", re.I)
_CAL = re.compile(r"\bcalibrat\w*\s+(?:it\s+|them\s+)?(?:on|with|using|from|against)\s+(?:the\s+|my\s+|a\s+|some\s+)?"
                  r"(" + _TXT + r"|" + _USE + r")\b"
                  r"|\b(" + _TXT + r"|" + _USE + r")\s+(?:text\s+|data\s+)?(?:as\s+)?calibration\b"
                  r"|\bcalibration\s*(?:text|data|set|corpus)?\s*(?:=|:|of|from|on)?\s*(?:the\s+)?"
                  r"(" + _TXT + r"|" + _USE + r")\b", re.I)
_IMATRIX = re.compile(r"\b(?:imatrix|i-matrix|importance[\s-]matrix)\b", re.I)
_IMATRIX_OFF = re.compile(r"\b(?:no|without|w/o|skip)\s+(?:an?\s+|the\s+)?(?:imatrix|i-matrix|importance[\s-]matrix)\b",
                          re.I)
_IMATRIX_USE = re.compile(r"\b(?:imatrix|i-matrix|importance[\s-]matrix)\s+(?:from|on|of|with|using|for)\s+"
                          r"(?:the\s+|my\s+|a\s+)?(" + _TXT + r"|" + _USE + r")\b"
                          r"|\b(" + _TXT + r"|" + _USE + r")\s+(?:text\s+)?(?:imatrix|i-matrix|importance[\s-]matrix)\b",
                          re.I)
DEFAULT_IMATRIX = Use.CHAT


def _text_name(word: str) -> str:
    w = word.strip().lower()
    return word.strip() if w.endswith(".txt") else _USE_OF[re.sub(r"\s+", " ", w)].value


def read(text: str) -> dict[str, str]:
    """The recipe parts the text names ({} for none); never raises."""
    out: dict[str, str] = {}
    g = _GROUP.search(text)
    if _PER_ROW.search(text):
        out["group_size"] = "-1"
    elif g:
        out["group_size"] = next(v for v in g.groups() if v is not None)
    if _ACT_OFF.search(text):
        out["desc_act"] = "false"
    elif _ACT_ON.search(text):
        out["desc_act"] = "true"
    c = _CAL.search(text)
    cal = _text_name(next(v for v in c.groups() if v is not None)) if c else None
    if _IMATRIX.search(text) and not _IMATRIX_OFF.search(text):
        u = _IMATRIX_USE.search(text)
        gptq = bool(out)   # only group size and act order are in it yet
        # "an imatrix calibrated on code": the text is the importance matrix's, not GPTQ's
        out["imatrix"] = _text_name(next(v for v in u.groups() if v is not None)) if u else \
            (cal if cal and not gptq else DEFAULT_IMATRIX.value)
        if not u and not gptq:
            cal = None
    if cal:
        out["calibration"] = cal
    return out


def describe(recipe: dict[str, str]) -> str:
    """The recipe in a few words for a plan's line ("group size 64, act order, calibrated on code")."""
    parts = []
    if recipe.get("imatrix"):
        parts.append(f"importance matrix from the {recipe['imatrix']} text")
    if recipe.get("group_size"):
        parts.append("one group per row" if recipe["group_size"] == "-1" else f"group size {recipe['group_size']}")
    if recipe.get("desc_act"):
        parts.append("act order" if recipe["desc_act"] == "true" else "no act order")
    if recipe.get("calibration"):
        parts.append(f"calibrated on the {recipe['calibration']} text")
    return ", ".join(parts)
