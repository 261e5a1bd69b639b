"""Not-before times as people say them: "tonight", "at 02:00", "in 2 hours",
"tomorrow at 9", an ISO timestamp. Always the next such moment after now."""
from __future__ import annotations

import re
from datetime import datetime, timedelta

from lqmf.tools.errors import InvalidInput

TONIGHT_HOUR = 22
_UNITS = {"s": 1, "sec": 1, "second": 1, "m": 60, "min": 60, "minute": 60,
          "h": 3600, "hr": 3600, "hour": 3600, "d": 86400, "day": 86400}
_WORDS = {"a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6,
          "ten": 10, "twelve": 12, "half an": 0.5, "half a": 0.5}


def _clock(text: str) -> tuple[int, int] | None:
    m = re.fullmatch(r"(\d{1,2})(?:[:h.](\d{2}))?\s*(am|pm)?", text.strip())
    if not m:
        return None
    h, mi, ampm = int(m.group(1)), int(m.group(2) or 0), m.group(3)
    if ampm == "pm" and h < 12:
        h += 12
    if ampm == "am" and h == 12:
        h = 0
    if h > 23 or mi > 59:
        return None
    return h, mi


def _next(now: datetime, h: int, mi: int, day_offset: int | None = None) -> datetime:
    t = now.replace(hour=h, minute=mi, second=0, microsecond=0)
    if day_offset is not None:
        return t + timedelta(days=day_offset)
    return t if t > now else t + timedelta(days=1)


def parse_when(text: str, now: datetime | None = None) -> datetime:
    """The moment ``text`` names (local time), or one clear error."""
    now = now or datetime.now()
    s = re.sub(r"\s+", " ", text.strip().lower())
    if s in ("now", "asap", ""):
        return now
    if s == "tonight":
        return _next(now, TONIGHT_HOUR, 0) if now.hour < TONIGHT_HOUR else now
    if s in ("overnight", "at night"):
        return _next(now, TONIGHT_HOUR, 0) if now.hour < TONIGHT_HOUR else now
    m = re.fullmatch(r"(?:tonight|today) at (.+)", s)
    if m and (c := _clock(m.group(1))):
        return _next(now, *c)
    m = re.fullmatch(r"tomorrow(?: at (.+))?", s)
    if m:
        c = _clock(m.group(1)) if m.group(1) else (9, 0)
        if c:
            return _next(now, *c, day_offset=1)
    m = re.fullmatch(r"(?:at )?(.+)", s)
    if m and (c := _clock(m.group(1))) and (s.startswith("at ") or ":" in s or "m" in s[-2:]):
        return _next(now, *c)
    m = re.fullmatch(r"in (\d+(?:\.\d+)?|an?|one|two|three|four|five|six|ten|twelve|half an|half a) ?"
                     r"(s|secs?|seconds?|m|mins?|minutes?|h|hrs?|hours?|d|days?)", s)
    if m:
        n = float(_WORDS.get(m.group(1), m.group(1)))
        unit = m.group(2).rstrip("s") or "s"
        return _not_too_far(text, now, n * _UNITS[unit])
    try:
        t = datetime.fromisoformat(text.strip())
    except ValueError:
        raise InvalidInput(f"cannot read the time '{text}'",
                           'say e.g. "tonight", "at 02:00", "in 2 hours" or 2026-11-20T02:00') from None
    if t.tzinfo is not None:
        t = t.astimezone().replace(tzinfo=None)
    return _not_too_far(text, now, (t - now).total_seconds()) if t > now else t


def _not_too_far(text: str, now: datetime, seconds: float) -> datetime:
    """``now + seconds``, refused past MAX_AHEAD_DAYS (a typo, not a plan)."""
    from lqmf.tools.limits import MAX_AHEAD_DAYS

    if seconds > MAX_AHEAD_DAYS * 86400:
        raise InvalidInput(f"'{text[:60]}' is more than {MAX_AHEAD_DAYS} days away",
                           "give a time within a year, e.g. tonight or in 2 hours")
    return now + timedelta(seconds=seconds)


def parse_not_before(value: "str | float | datetime | None", now: datetime | None = None) -> float | None:
    """A not-before value as epoch seconds (None stays None)."""
    if value is None:
        return None
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, datetime):
        return value.timestamp()
    return parse_when(value, now).timestamp()
