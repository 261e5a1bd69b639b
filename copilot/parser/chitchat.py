"""Small talk the parse contract has no intent for: greetings, thanks, goodbyes,
how-are-you and "back in a bit". ``kind`` names it so that the copilot can answer
in kind; ``lqmf parse`` still says ``unknown`` (with ``"chitchat": kind``).

People type small talk fast: "helo", "hii", "thnks", "gud morning". Each word is
first put in its usual spelling (letters held down collapsed, a few chat
spellings, one typo away from a small-talk word), then the patterns are matched.
Only an utterance the parser found no request in reaches this module.
"""
from __future__ import annotations

import re
from enum import StrEnum


class Chitchat(StrEnum):
    GREETING = "greeting"
    THANKS = "thanks"
    BYE = "bye"
    SMALLTALK = "smalltalk"
    AWAY = "away"          # a break: "coffee time", "brb"
    BACK = "back"          # after it: "back again", "i'm back"
    SORRY = "sorry"        # an apology for a stray line: "oops, wrong window", "sorry my cat walked on the keyboard"


# chat spellings that are not typos of the word
SPELLINGS = {"gud": "good", "gd": "good", "mornin": "morning", "evenin": "evening", "nite": "night",
             "thanx": "thanks", "thnx": "thanks", "thnks": "thanks", "tnx": "thanks", "tks": "thanks",
             "thankyou": "thank you", "thankyu": "thank you", "tysm": "thank you so much", "ur": "you're",
             "u": "you", "r": "are", "hallo": "hello", "heya": "hiya", "hey-o": "hey", "sry": "sorry",
             "plz": "please", "pls": "please", "k": "ok", "kk": "ok", "gm": "good morning", "l8r": "later",
             "cu": "see you", "byee": "bye", "thankss": "thanks"}
# the words the patterns are made of: a word one typo from one of these (and 4+ letters) is read as it
WORDS = ("hello", "hiya", "howdy", "greetings", "morning", "afternoon", "evening", "thanks", "thank",
         "cheers", "appreciated", "appreciate", "goodbye", "later", "night", "awesome", "perfect", "great",
         "coffee", "lunch", "dinner", "break", "again", "there", "everyone", "copilot", "doing", "going")

_P = r"(?:\s+(?:there|all|everyone|folks|friend|mate|buddy|again|copilot|lqmf|so much|a lot|very much|" \
     r"you|man|guys|then|for now|for the help|for that))*"
_LEAD = r"(?:(?:ok(?:ay)?|great|cool|nice|awesome|perfect|alright|right|good|well|so|anyway)\s+)*"
_BREAK = r"(?:break|coffee|tea|lunch|dinner|breakfast|snack|smoke|cigarette|bathroom|toilet|water|walk|nap|meeting)"
PATTERNS = [
    (Chitchat.THANKS, re.compile(rf"^{_LEAD}(?:(?:thanks|thank you|thx|"
                                 rf"ty|cheers|many thanks|much appreciated|appreciate it)\s*){{1,2}}{_P}(?:\s+(?:bye|goodbye|that helped|that "
                                 rf"was helpful|that's great|that's perfect|great|perfect|awesome))?$")),
    (Chitchat.BYE, re.compile(rf"^{_LEAD}(?:bye|goodbye|good bye|see you(?: later| soon| tomorrow)?|see ya|later|"
                              rf"good night|gn|cya|take care|i'?m off|gotta go|got to go|signing off)(?:\s+(?:later|soon|tomorrow))?{_P}$")),
    (Chitchat.GREETING, re.compile(rf"^(?:hi|hello|hey|hiya|howdy|yo|greetings|good (?:morning|afternoon|"
                                   rf"evening|day)|morning|evening|hola|bonjour|hallo|ciao|salut)(?:\s+(?:hi|hello|hey))?"
                                   rf"{_P}$")),
    (Chitchat.AWAY, re.compile(rf"^{_LEAD}(?:(?:it'?s |time for (?:a |my |some )?|going for (?:a |my )?|grabbing "
                               rf"(?:a |some )?|off to (?:get )?(?:a )?)?{_BREAK}(?: break| time| run)?(?: now| first)?"
                               rf"(?: then)?|(?:taking |on |need )?a break(?: now)?|brb|afk(?: for a bit)?|be right back|"
                               rf"back in (?:a bit|a minute|5|ten|a few)(?: minutes)?|(?:i'?ll )?be back(?: soon| later| in a bit)?)$")),
    (Chitchat.BACK, re.compile(rf"^{_LEAD}(?:hi |hey |hello )?(?:(?:i'?m|i am|we'?re) )?(?:back|here again)(?: again| now)?{_P}$")),
    (Chitchat.SORRY, re.compile(r"^(?:oh |ah |uh |um |ugh )?(?:(?:so |very |really )?sorry|my bad|apologies|my apologies|"
                                r"oops+|whoops+|ignore (?:that|this|me|the last (?:line|one|message))|never ?mind(?: that)?|"
                                r"disregard (?:that|this)|wrong (?:window|chat|tab))\b(?:\W+\S+){0,10}\W*$")),
    (Chitchat.SMALLTALK, re.compile(r"^(?:hi |hey |hello )?(?:how are you(?: doing)?(?: today)?|how's it going|"
                                    r"how is it going|what's up|sup|how do you do|are you there|you there|"
                                    r"nice (?:job|work|one)|good (?:job|work|bot)|well done|great job|"
                                    r"you(?:'re| are) (?:great|awesome|cool|nice|the best)|cool|awesome|nice|"
                                    r"lol|haha|ha|hmm|hm|meh|wow|ok cool|sounds good|alright then)$")),
]


def _word(w: str) -> str:
    if w in SPELLINGS:
        return SPELLINGS[w]
    held = re.sub(r"(.)\1{2,}", r"\1\1", w)          # "helllo" -> "hello", "heyyy" -> "heyy"
    for cand in (held, re.sub(r"(.)\1+", r"\1", w)):  # "hii", "heyy" -> "hi", "hey"
        if cand in SPELLINGS:
            return SPELLINGS[cand]
        if cand in WORDS or cand in ("hi", "hey", "yo", "bye", "ok", "thx", "ty", "sup", "lol", "haha", "brb", "afk"):
            return cand
    if len(w) >= 4:
        from rapidfuzz.distance import DamerauLevenshtein

        near = [c for c in WORDS if abs(len(c) - len(w)) <= 1 and DamerauLevenshtein.distance(w, c) <= 1]
        if len(near) == 1:
            return near[0]
    return w


def canonical(norm: str) -> str:
    """The utterance with each word in its usual spelling."""
    t = re.sub(r"[,;:]+", " ", norm.strip(" .!?")).lower()
    return " ".join(_word(w) for w in t.split())


# Social words, by the kind they make an utterance of (the first kind found wins), and the
# words that may stand around them. A short line of only these is small talk of that kind:
# "thank you very much, you are very kind", "ok thats all for today, bye", "gotcha thx".
SOCIAL: tuple[tuple[Chitchat, frozenset[str]], ...] = (
    (Chitchat.BYE, frozenset("bye goodbye cya later goodnight night ciao".split())),
    (Chitchat.THANKS, frozenset("thanks thank thx ty cheers appreciate appreciated grateful kind kindly helpful helps "
                                "helped obliged".split())),
    (Chitchat.GREETING, frozenset("hi hello hey yo hiya howdy morning afternoon evening greetings hola".split())),
    (Chitchat.AWAY, frozenset("coffee tea lunch dinner break brb afk wait waiting".split())),
    (Chitchat.BACK, frozenset("back".split())),
    (Chitchat.SMALLTALK, frozenset("ok okay cool neat sweet nice great awesome perfect gotcha understood alright "
                                   "lol haha wow fine interesting excellent brilliant lovely sup see".split())),
)
AROUND = frozenset("i i'm im i'll ill you you're youre u that that's thats this it it's its is so very much a an "
                   "the for all today tonight now then just really anyway anyways again will be am are was "
                   "makes make sense got get me we to of and oh well too see what's whats up going how doing "
                   "day have lot lots good there guys man mate buddy friend indeed yes yeah yep sure right "
                   "done finished for now let's lets talk soon tomorrow was were nice thing things quick "
                   "one sec second minute bit while gonna go going time my your our grab grabbing get getting "
                   "having some quick ya try trying maybe probably definitely later soon ah oh nothing yet "
                   "anything else no worries".split())
MAX_SOCIAL_WORDS = 10


def _social(text: str) -> str | None:
    words = re.findall(r"[a-z']+", text)
    if not words or len(words) > MAX_SOCIAL_WORDS or re.search(r"\d", text):
        return None
    social = {w for w in words if any(w in ws for _, ws in SOCIAL)}
    if not social or not all(w in social or w in AROUND for w in words):
        return None
    said = set(words)
    if ({"that's", "thats", "that"} & said and said & {"all", "it"} and said & {"today", "now", "tonight"}) or \
            ("see" in said and said & {"ya", "you", "u"}):   # "ok that's all for today", "see ya"
        return Chitchat.BYE.value
    for k, ws in SOCIAL:
        if social & ws:
            return k.value
    return None


def kind(norm: str, *, domain: bool = False) -> str | None:
    """The chitchat kind of a normalized utterance, or None. ``domain``: the parser found a
    model, type or other slot in it, so only the exact patterns count."""
    t = norm.strip(" .!?")
    spelled = canonical(t)
    for text in dict.fromkeys((t, spelled)):
        for k, pat in PATTERNS:
            if pat.match(text):
                return k.value
    return None if domain else _social(spelled)
