"""Small talk the parse contract has no intent for: greetings, thanks, goodbyes
and how-are-you. ``kind`` names it so that the copilot can answer in kind;
``lqmf parse`` still says ``unknown`` (with ``"chitchat": kind``)."""
from __future__ import annotations

import re
from enum import StrEnum


class Chitchat(StrEnum):
    GREETING = "greeting"
    THANKS = "thanks"
    BYE = "bye"
    SMALLTALK = "smalltalk"


_P = r"(?:\s+(?:there|all|everyone|folks|friend|mate|buddy|again|copilot|lqmf|so much|a lot|very much|" \
     r"you|man|guys|then|for now|for the help|for that))*"
PATTERNS = [
    (Chitchat.THANKS, re.compile(rf"^(?:ok(?:ay)? |great |cool |awesome |perfect |nice )?(?:(?:thanks|thank you|thx|"
                                 rf"ty|cheers|many thanks|much appreciated|appreciate it)\s*){{1,2}}{_P}(?:\s+(?:bye|goodbye|that helped|that "
                                 rf"was helpful|that's great|that's perfect|great|perfect|awesome))?$")),
    (Chitchat.BYE, re.compile(rf"^(?:ok(?:ay)? )?(?:bye|goodbye|good bye|see you(?: later| soon)?|see ya|later|"
                              rf"good night|gn|cya|take care){_P}$")),
    (Chitchat.GREETING, re.compile(rf"^(?:hi|hello|hey|hiya|howdy|yo|greetings|good (?:morning|afternoon|"
                                   rf"evening|day)|morning|evening|hola|bonjour|hallo|ciao|salut){_P}$")),
    (Chitchat.SMALLTALK, re.compile(r"^(?:hi |hey |hello )?(?:how are you(?: doing)?(?: today)?|how's it going|"
                                    r"how is it going|what's up|sup|how do you do|are you there|you there|"
                                    r"nice (?:job|work|one)|good (?:job|work|bot)|well done|great job|"
                                    r"you(?:'re| are) (?:great|awesome|cool|nice|the best)|cool|awesome|nice|"
                                    r"lol|haha|ha|hmm|hm|meh|wow)$")),
]


def kind(norm: str) -> str | None:
    """The chitchat kind of a normalized utterance, or None."""
    t = norm.strip(" .!?")
    for k, pat in PATTERNS:
        if pat.match(t):
            return k.value
    return None
