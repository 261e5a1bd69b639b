"""Word tables of the domain (data, not logic): devices, tasks, job states,
superlatives, sort keys, time spans, size units, priorities, and the common
words that are never a model name. Patterns run on normalized text
(``text.normalize``: lower case, digits for numbers)."""
from __future__ import annotations

import re


def _alt(words: str) -> str:
    return "|".join(w.strip() for w in words.split("|"))


def rx(pattern: str) -> re.Pattern:
    return re.compile(pattern)


DEVICES = [
    ("edge", rx(r"\b(?:raspberry ?pie?(?: \d)?|rpi|pi \d|(?:the|a|my|on) pi(?= |$)|jetson(?: nano| orin)?|phones?|smartphones?|"
                r"android|iphones?|mobile|edge(?: devices?| hardware)?|embedded|micro ?controllers?|"
                r"single[- ]board computers?|sbc|orange ?pi|arm board)\b")),
    ("gpu", rx(r"\b(?:gpus?|cuda|graphics cards?|(?<=gb )cards?|(?<=gig )cards?|video cards?|nvidia|rtx ?\d*|gtx ?\d*|geforce|"
               r"radeon|a100|h100|t4|3090|4090|3060|4060)\b")),
    ("cpu", rx(r"\b(?:cpus?|processor|cpu[- ]only|no gpu|without (?:a )?gpu)\b")),
]
# Specific tasks first: "a chat model for code" is a code request.
TASKS = [
    ("code", rx(r"\b(?:code|coding|coder|programming|programmer|software|python|javascript|"
                r"developers?|codegen|sql|autocomplete|rust|typescript|java|golang|c\+\+|scripting)\b|\bprogram (?:in|with)\b|"
                r"\b(?:code|program(?:ming)?) in go\b")),
    ("math", rx(r"\b(?:math|maths|mathematics|mathematical|arithmetic|calculus|algebra|equations?|"
                r"word problems)\b")),
    ("summarization", rx(r"\b(?:summari[sz](?:e|ation|ing|es|er|ers)|summary|summaries|tl ?;? ?dr|"
                         r"condens(?:e|ing) (?:documents?|text))\b")),
    ("creative", rx(r"\b(?:creative|stories|story|storytelling|fiction|poetry|poems?|novels?|tales?|"
                    r"narratives?|narrative writing|screenplays?|fan ?fiction|fanfic|plots?|"
                    r"role ?play(?:ing)?|writing|songs?|lyrics)\b")),
    ("chat", rx(r"\b(?:chat|chatting|chatbots?|chat ?bot|conversations?|conversational|assistants?|"
                r"dialog(?:ue)?s?|talking)\b")),
    ("general", rx(r"\b(?:general(?:[- ]purpose| use)?|everyday|all[- ]?round(?:er)?|"
                   r"a bit of everything)\b")),
]
STATUSES = [
    ("failed", rx(r"\b(?:failed|failing|fails|fail|failures?|crashed|crash(?:es)?|errored|errors?|broke|"
                  r"broken|unsuccessful|did not work|didn't work|went wrong)\b")),
    ("cancelled", rx(r"\b(?:cancell?ed|aborted|killed|stopped)\b")),
    ("succeeded", rx(r"(?<!is it )(?<!is that )(?<!is this )\b(?:succeeded|successful|successfully|succeed(?:ing)?|success|completed|"
                     r"complete|finished|done|passed|worked)\b")),
    ("running", rx(r"\b(?:running|busy|in progress|active|ongoing|under way|underway|processing|being processed|being worked on)\b"
                   r"(?! (?:on|locally|in (?:a|my|the)|it|models?|at)\b)")),
    ("queued", rx(r"\b(?:queued|pending|waiting|scheduled|not started|enqueued)\b")),
]
# superlative -> (sort, order)
SUPERLATIVES = [
    (rx(r"\b(?:fastest|quickest|speediest|highest (?:speed|throughput|tok/s)|most tok/s|"
        r"most tokens per second)\b"), "speed", "desc"),
    (rx(r"\bslowest\b|\blowest (?:speed|throughput)\b"), "speed", "asc"),
    (rx(r"\b(?:smallest|tiniest|lightest|most compact|leanest|lowest size)\b|\bleast (?:disk |storage )?"
        r"(?:space|room|memory|storage)\b|\bsmallest (?:footprint|file)\b"), "size", "asc"),
    (rx(r"\b(?:largest|biggest|heaviest)\b"), "size", "desc"),
    (rx(r"\b(?:best|highest|top) quality\b|\bmost accurate\b|\blowest (?:perplexity|ppl|kld?|kl "
        r"divergence|error)\b|\bhighest accuracy\b|\bbest\b"), "quality", "desc"),
    (rx(r"\b(?:worst|lowest) quality\b|\bleast accurate\b|\bhighest (?:perplexity|ppl|kld?)\b|"
        r"\bworst\b"), "quality", "asc"),
    (rx(r"\b(?:newest|latest|most recent|recent|last)\b"), "date", "desc"),
    (rx(r"\b(?:oldest|earliest|first)\b"), "date", "asc"),
]
SORT_KEYS = [
    ("speed", rx(r"\b(?:speed|tok/s|tokens per second|throughput|generation speed|performance)\b")),
    ("size", rx(r"\b(?:size|file size|disk size|disk|memory)\b")),
    ("quality", rx(r"\b(?:quality|perplexity|ppl|kld?|kl divergence|accuracy|error)\b")),
    ("date", rx(r"\b(?:date|time|recency|age|when)\b")),
]
SORT_BY = rx(r"\b(?:sort(?:ed)?|order(?:ed)?|rank(?:ed)?|arrange(?:d)?)(?: [\w'<>]+){0,2}"
             r" by (?:the )?([a-z/ ]+)|\bby (?:the |their |its )?((?:file |disk |generation )?(?:speed|size|"
             r"quality|date|perplexity|ppl|accuracy|tok/s|throughput|kld?|kl divergence|recency|age))\b")
ORDER_WORDS = [
    ("asc", rx(r"\b(?:ascending|asc|increasing|low(?:est)? to high(?:est)?|smallest first|"
               r"small to large|small to big|smallest to (?:largest|biggest)|oldest first|slowest first|worst first|"
               r"bottom(?= \d| by)|least first)\b")),
    ("desc", rx(r"\b(?:descending|desc|decreasing|high(?:est)? to low(?:est)?|largest first|"
                r"biggest first|newest first|latest first|fastest first|best first|"
                r"large to small|big to small|(?:largest|biggest) to smallest|reverse)\b")),
]
FIRST_PHRASES = {  # "<x> first" -> (sort, order)
    "smallest": ("size", "asc"), "largest": ("size", "desc"), "biggest": ("size", "desc"),
    "fastest": ("speed", "desc"), "slowest": ("speed", "asc"), "newest": ("date", "desc"),
    "latest": ("date", "desc"), "oldest": ("date", "asc"), "best": ("quality", "desc"),
    "worst": ("quality", "asc"),
}
RANGE_ORDERS = [  # "from small to big" -> (sort, order)
    (rx(r"\b(?:small|smallest|tiny|light) to (?:big|biggest|large|largest|heavy)\b"), "size", "asc"),
    (rx(r"\b(?:big|biggest|large|largest|heavy) to (?:small|smallest|tiny|light)\b"), "size", "desc"),
    (rx(r"\b(?:fast|fastest|quick|quickest) to (?:slow|slowest)\b"), "speed", "desc"),
    (rx(r"\b(?:slow|slowest) to (?:fast|fastest|quick|quickest)\b"), "speed", "asc"),
    (rx(r"\b(?:new|newest|recent) to (?:old|oldest)\b"), "date", "desc"),
    (rx(r"\b(?:old|oldest) to (?:new|newest|recent)\b"), "date", "asc"),
    (rx(r"\b(?:best|good) to (?:worst|bad)\b"), "quality", "desc"),
    (rx(r"\b(?:worst|bad) to (?:best|good)\b"), "quality", "asc"),
]
SINGULAR_NOUNS = frozenset(
    "one model run experiment quant quantization result artifact option setup file config "
    "configuration variant version build".split())
PLURAL_NOUNS = frozenset(
    "ones models runs experiments quants quantizations results artifacts options files configs "
    "variants versions builds".split())

TIME_UNITS = {"hour": 1 / 24, "day": 1, "week": 7, "fortnight": 14, "month": 30, "year": 365}
SPAN_N = rx(r"\b(?:last|past|previous|recent|within|in|over|during|from the last)\s+(\d+)\s+"
            r"(hour|day|week|fortnight|month|year)s?\b")
SPAN_AGO = rx(r"\b(\d+)\s+(hour|day|week|fortnight|month|year)s?\s+ago\b")
SPAN_1 = rx(r"\b(?:last|past|this|previous|the past|a)\s+(day|week|fortnight|month|year|24 hours)\b")
TODAY = rx(r"\b(?:today|tonight|this morning|this afternoon|this evening)\b")
YESTERDAY = rx(r"\byesterday\b")

SIZE = rx(r"\b(\d+(?:\.\d+)?|\.\d+)\s?(gb|gbs|gig|gigs|gigabytes?|g|gib|mb|mbs|megs?|megabytes?|"
          r"mib|tb|terabytes?)\b")
SIZE_FACTOR = {"g": 1, "gb": 1, "gbs": 1, "gig": 1, "gigs": 1, "gigabyte": 1, "gigabytes": 1,
               "gib": 1.073741824, "mb": 0.001, "mbs": 0.001, "meg": 0.001, "megs": 0.001,
               "megabyte": 0.001, "megabytes": 0.001, "mib": 0.001048576, "tb": 1000,
               "terabyte": 1000, "terabytes": 1000}
LESS = rx(r"(?:under|below|less than|smaller than|lower than|at most|max(?:imum)?|no (?:more|bigger|"
          r"larger) than|not (?:more|bigger|larger) than|up to|within|fits? (?:in|into|on)|"
          r"fitting (?:in|into)|that fit (?:in|into)|sub|tops|or less|or smaller|or under|max of|"
          r"limit of|budget of|cap of|below about|under about|around|about)\s*(?:a |an |the )?$")
VRAM_WORDS = rx(r"\b(?:vram|gpus?|graphics|video (?:memory|ram)|cuda|card|rtx ?\d*|gtx ?\d*|nvidia)\b")
RAM_WORDS = rx(r"\b(?:ram|memory|system memory|laptop|machine|computer|desktop|pc|server|box|mac)\b")
HAVE = rx(r"\b(?:have|has|got|with|own|only)\b")

SPEED = rx(r"\b(\d+(?:\.\d+)?)\s?(?:\+\s?)?(?:tok/s|tps|t/s|tokens?/s|toks?(?: per| a| each)? "
           r"(?:s|sec|second)|tokens?(?: per| a| each| every)? (?:s|sec|second)|tokens?|toks?)\b")
MORE = rx(r"(?:at least|over|above|more than|faster than|quicker than|speedier than|greater than|minimum(?: of)?|min|no less "
          r"than|not less than|no slower than|exceeding|beyond|better than|north of|>)\s*$")

KLD_TERM = rx(r"\b(?:kl(?:[- ]div(?:ergence)?)?|kld|kullback[- ]leibler(?: divergence)?|"
              r"mean kld?)\b")
PPL_TERM = rx(r"\b(?:perplexity|ppl|quality (?:loss|drop|degradation|hit)|accuracy (?:loss|drop)|"
              r"degradation)\b")
PERCENT = rx(r"(\d+(?:\.\d+)?)\s?(?:%|percent|per cent|pct)")
NUMBER = rx(r"(?<![\w.])(\d+(?:\.\d+)?|\.\d+)(?![\w.%]|\s?(?:%|percent|gb|mb|gigs?|bits?)\b)")

PRIORITIES = [
    ("low", rx(r"\blow[- ]?priority\b|\bpriority (?:is )?low\b|\bno rush\b|\bno hurry\b|\bnot in a hurry\b|\bnot urgent\b|"
               r"\bwhen(?:ever)? (?:you(?:'re| are)? (?:have time|free|idle|can)|(?:the )?"
               r"(?:machine|computer|box) is (?:idle|free)|idle)\b|\bin the background\b|"
               r"\bovernight\b|\btonight\b|\bwhenever\b|\bdeprioriti[sz]e\b|\blow prio\b|\bnot important\b|"
               r"\bat the (?:back|end)(?: of the (?:queue|line))?\b|\bno priority\b")),
    ("high", rx(r"\b(?:high|top|highest|urgent)[- ]?priority\b|\bpriority (?:is )?high\b|\burgent(?:ly)?"
                r"\b|\basap\b|\bas soon as possible\b|\bprioriti[sz]e\b|\bjump the queue\b|"
                r"\bfront of the queue\b|\bhigh prio\b|\bfirst in line\b|\brush\b|\bemergency\b|\bright away\b|"
                r"\bimmediately\b|\btop of the queue\b|\bvery important\b")),
    ("normal", rx(r"\b(?:normal|medium|regular|default|standard)[- ]priority\b|\bpriority "
                  r"(?:is )?normal\b")),
]
JOB_ID = rx(r"\b(?:jobs?|tasks?)[\s\-]?(?:#|number|no|id|nr|num)?\s?[:#]?\s?([a-z0-9][\w\-]*\d[\w\-]*|\d+)\b")
ID_WORD = rx(r"\b(?:id|identifier)\s?[:#=]?\s?([a-z0-9][\w\-]*\d[\w\-]*|\d+)\b")
HASH_ID = rx(r"#\s?([a-z0-9][\w\-]*)")
CANCEL_ID = rx(r"\b(?:cancel|stop|kill|abort|terminate|remove|delete|drop|halt)\s+(?:number\s)?"
               r"(\d+|[a-f0-9]{6,}|[a-z]+-\d+)\b(?!\s?(?:bits?|gb|mb|%|tok))")

# Words that are never (part of) a model name.
COMMON = frozenset("""
a an the my our your his her its their this that these those it them me i you we he she they
to of in on at for with by from into onto over under about as and or but if then than so not no
is are was were be been being am do does did done have has had can could will would should shall
may might must need needs want wants please pls just also too very really quite only even still
what which who whom whose when where why how all any some each every both either neither one ones
more most less least much many few lot lots other another such same own up down out off again
there here now today yesterday tomorrow last past next first second new old good bad best worse
worst better big small large tiny fast slow faster slower fastest slowest smallest largest biggest
model models run runs experiment experiments result results quant quants quantized quantization
quantize benchmark benchmarks bench compare comparison versus vs against show list give tell find
get make create build convert compress shrink load use using used try test tests testing measure
speed size quality time date bit bits gb mb gig gigs memory ram vram gpu cpu edge device
machine computer laptop phone file files folder path version type types method methods job jobs
queue status cancel stop kill help explain teach tutorial guide walk through lesson way thing
things something anything everything stuff like let lets let's it's what's that's there's i'm
i'd i've you're completed complete started starting ready working busy finish don't doesn't didn't can't won't isn't aren't wasn't hey hi hello thanks thank ok
okay yes yeah sure right well so now then same did pick choose recommend suggest tune optimize
search keep keeps keeping under below above less than at most way mean means meaning chat code
creative math summarization general writing stories coding programming task tasks format formats
precision weights weight original base full quantise fp quantizing running failed succeeded
queued cancelled finished done pending progress priority low high normal urgent asap week weeks
day days month months year hour hours ago since per second seconds tokens token tok perplexity
kl kld divergence loss increase delta drop percent top number id instead again back version
same one two three four five six seven eight nine ten while without within fit fits fitting
him into onto upon via per eli5 across because after before during until unless whether while
""".split())
