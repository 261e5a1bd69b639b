"""Slot finders for everything that is not a quant word or a model name:
sizes and memory, speed limits, quality limits, device, task, job state,
time span, sort/order/limit, priority, job id. Each takes normalized text
(with quant words and model names already blanked out) and returns the slots
it found as a dict."""
from __future__ import annotations

import math
import re

from lqmf.copilot.parser import lexicon as L
from lqmf.copilot.parser.numbers import clean_number, to_number


def _first(table: list[tuple[str, re.Pattern]], text: str) -> str | None:
    best: tuple[int, str] | None = None
    for value, pat in table:
        m = pat.search(text)
        if m and (best is None or m.start() < best[0]):
            best = (m.start(), value)
    return best[1] if best else None


def _ranked(table: list[tuple[str, re.Pattern]], text: str) -> str | None:
    """The first row of the table that matches (the table is in precedence order)."""
    for value, pat in table:
        if pat.search(text):
            return value
    return None


def sizes(text: str) -> dict:
    out: dict = {}
    for m in L.SIZE.finditer(text):
        n = to_number(m.group(1))
        if n is None:  # digits too many to be a float
            continue
        gb = clean_number(n * L.SIZE_FACTOR[m.group(2)])
        before, after = text[max(0, m.start() - 40):m.start()], text[m.end():m.end() + 30]
        near_after = " ".join(after.split()[:3])
        near_before = " ".join(before.split()[-4:])
        first = " ".join(after.split()[:2])   # "32 gb ram and a gpu with 8 gb vram": memory said right after
        if re.match(r"(?:of )?(?:ram|memory|ddr\d?)\b", first):
            slot = "ram_gb"
        elif L.VRAM_WORDS.search(near_after):
            slot = "vram_gb"
        elif L.RAM_WORDS.search(near_after) and not re.match(r"\s*(?:model|file|quant)", after):
            slot = "ram_gb"
        elif L.LESS.search(before) or re.match(r"\s*(?:or (?:less|smaller|under|below)|max\b)", after):
            slot = "max_size_gb"
        elif L.VRAM_WORDS.search(near_before):
            slot = "vram_gb"
        elif L.RAM_WORDS.search(near_before) or L.HAVE.search(near_before.split(" ")[-1] if near_before else ""):
            slot = "ram_gb"
        else:
            slot = "max_size_gb"
        out.setdefault(slot, gb)
    return out


def speed(text: str) -> dict:
    for m in L.SPEED.finditer(text):
        before = text[max(0, m.start() - 30):m.start()]
        after = text[m.end():m.end() + 12]
        if L.MORE.search(before) or re.match(r"\s*(?:\+|or (?:more|faster|better|higher|above))", after) \
                or "+" in m.group(0):
            return {"min_tok_s": clean_number(float(m.group(1)))}
    return {}


def _number_after(text: str, start: int, window: int = 60) -> float | None:
    seg = text[start:start + window]
    m = L.NUMBER.search(seg)
    return to_number(m.group(1)) if m else None


_NUMBER_BEFORE = re.compile(r"\b(?:within|under|below|past|over|above|than|of|max(?:imum)?|at most|to)\s+"
                            r"(\d*\.\d+|\d+)\s*(?:of\s+)?(?:mean\s+)?$")


def quality_limits(text: str) -> dict:
    out: dict = {}
    for m in L.KLD_TERM.finditer(text):
        num = _number_after(text, m.end())
        before = _NUMBER_BEFORE.search(text, max(0, m.start() - 24), m.start())
        if num is None and before:   # "within 0.04 kld", "without going past 0.06 kl"
            num = float(before.group(1))
        if num is not None and num < 10:
            out["max_kld"] = clean_number(num)
            break
    for m in L.PPL_TERM.finditer(text):
        lo, hi = max(0, m.start() - 40), m.end() + 60
        pct = L.PERCENT.search(text, m.end(), hi) or L.PERCENT.search(text, lo, m.start())
        if pct:
            out["max_ppl_delta_pct"] = clean_number(float(pct.group(1)))
            break
    return out


def device(text: str) -> dict:
    value = _first(L.DEVICES, text)
    return {"device": value} if value else {}


def task(text: str) -> dict:
    value = _ranked(L.TASKS, text)
    if value == "creative" and re.search(r"\bwriting (?:code|python|sql|functions?|programs?)\b", text):
        value = "code"
    return {"task": value} if value else {}


_WHAT_DONE = re.compile(r"\b(?:have i|i've|i have|did i|have we|we've) (?:\w+ )?(?:done|do)\b")
_SUCCESS_WORD = re.compile(r"\b(?:succeeded|successful|successfully|completed|finished|passed|worked)\b")
_IS_DONE = re.compile(r"\b(?:is|are) (?:\S+ ){0,3}(?:done|finished|complete|ready)\b")


def status(text: str) -> dict:
    value = _first(L.STATUSES, text)
    if value == "succeeded" and _WHAT_DONE.search(text) and not _SUCCESS_WORD.search(text):
        return {}   # "what have i done with smollm2" asks for everything, not for successes
    if value == "succeeded" and _IS_DONE.search(text):
        return {}   # "is job 22 done" asks about one job, it is no filter
    return {"status": value} if value else {}


def since_days(text: str) -> dict:
    for pat in (L.SPAN_N, L.SPAN_AGO):
        m = pat.search(text)
        if m:
            return {"since_days": max(1, math.ceil(int(m.group(1)) * L.TIME_UNITS[m.group(2)]))}
    m = L.SPAN_1.search(text)
    if m:
        unit = "day" if m.group(1) == "24 hours" else m.group(1)
        return {"since_days": L.TIME_UNITS[unit]}
    if L.TODAY.search(text):
        return {"since_days": 1}
    if L.YESTERDAY.search(text):
        return {"since_days": 2}
    return {}


def _limit(text: str) -> int | None:
    for pat in (r"\b(?:top|first|best|last|latest|newest|bottom)\s(\d+)\b(?!\s(?:hour|day|week|month|year)s?\b)",
                r"\b(\d+)\s(?:fastest|smallest|best|largest|biggest|newest|latest|slowest|oldest|"
                r"most recent|cheapest|top|highest|lowest)\b",
                r"\b(?:show|list|give|get|display)(?: me)?(?: the| my)? (\d+)\b(?!\s?(?:bits?|gb|mb))",
                r"^(?:the )?(?:fastest|smallest|best|largest|biggest|newest|latest|slowest|oldest) (\d+)$",
                r"\b(?:only|just|at most|no more than|limit(?: it)? to|up to|max(?:imum)? of)\s(\d+)\b"
                r"(?!\s?(?:bits?|gb|mb|tok|t/s|%|percent|days?|weeks?|months?|hours?|k\b|b\b))",
                r"\b(\d+)\s(?:runs|results|rows|entries|items|experiments)\b"):
        m = re.search(pat, text)
        if m and 0 < int(m.group(1)) < 1000:
            return int(m.group(1))
    if _JUST_ONE.search(text):
        return 1
    return None


# "just one please", "only the single best run": one row
_JUST_ONE = re.compile(r"\b(?:just|only) (?:the )?(?:single )?(?:one|1)\b(?! (?:of|more|bit|gb))|"
                       r"\bsingle (?:best|fastest|smallest|newest|top|run|result|one)\b")


_ONE_ASKED = re.compile(r"\bwhich of (?:my|our|the) \w+ (?:has|had|is|was|got|took|gets|gave)\b|"
                        r"\b(?:which|what) (?:\w+ )?(?:quant|model|run|experiment|one|result|artifact|"
                        r"file|variant|version) (?:has|had|is|was|got|gets|gave|gives|did|does|took|takes|used|"
                        r"uses|needs|needed|reached|reaches)\b")


def ranking(text: str) -> dict:
    """sort / order / limit from superlatives, "sorted by", "top 3"."""
    out: dict = {}
    m = L.SORT_BY.search(text)
    if m:
        key = _first(L.SORT_KEYS, m.group(1) or m.group(2))
        if key:
            out["sort"] = key
    for pat, key, order in L.RANGE_ORDERS:
        if pat.search(text):
            out.setdefault("sort", key)
            out["order"] = order
            break
    for word, (key, order) in L.FIRST_PHRASES.items():
        if re.search(rf"\b{word} (?:ones? )?first\b", text):
            out.setdefault("sort", key)
            out["order"] = order
            break
    if "sort" not in out:
        for pat, key, order in L.SUPERLATIVES:
            sm = pat.search(text)
            if not sm:
                continue
            if key == "date" and sm.group(0) in ("last", "first", "recent") and not re.search(
                    r"\b(?:last|first) \d+ (?:runs?|experiments?|results?|quants?|models?|jobs?)\b|"
                    r"\b(?:the|my) (?:last|first|most recent|recent) (?:runs?|experiments?|results?|quants?"
                    r"|benchmarks?|jobs?|ones?)\b", text):
                continue
            out["sort"], out["order"] = key, order
            nxt = text[sm.end():].split()[:3]
            singular = next((w for w in nxt if w in L.SINGULAR_NOUNS or w in L.PLURAL_NOUNS), None)
            if singular in L.SINGULAR_NOUNS and re.search(
                    rf"\b(?:the|my|which|what)\s(?:\w+\s)?{re.escape(sm.group(0))}\b", text):
                out["limit"] = 1
            elif _ONE_ASKED.search(text):
                out["limit"] = 1    # "which quant has the lowest kld": one row asked for
            elif re.search(rf"\b(?:the|is|are)\s{re.escape(sm.group(0))}\s*(?:$|\?|for|of|on|in|under|with)",
                           text) and not re.search(r"\b(?:models|runs|experiments|quants|ones|results)\b", text):
                out["limit"] = 1
            break
    if "order" not in out and "sort" in out:
        named = _first(L.ORDER_WORDS, text)
        if named:
            out["order"] = named
        elif out["sort"] != "size" and re.search(r"\b(?:top|best|highest)\b", text):
            out["order"] = "desc"   # "the top two by speed": the fastest first (a size has no "top")
    limit = _limit(text)
    if limit is not None:
        out["limit"] = limit
    return out


def priority(text: str) -> dict:
    value = _ranked(L.PRIORITIES, text)
    return {"priority": value} if value else {}


def job_id(text: str) -> dict:
    for pat in (L.JOB_ID, L.HASH_ID, L.CANCEL_ID, L.ID_WORD):
        m = pat.search(text)
        if m:
            return {"job_id": m.group(1)}
    return {}


FINDERS = (sizes, speed, quality_limits, device, task, status, since_days, ranking, priority, job_id)


def find_all(text: str) -> dict:
    out: dict = {}
    for finder in FINDERS:
        for key, value in finder(text).items():
            out.setdefault(key, value)
    return out
