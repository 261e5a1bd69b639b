"""Intent detection: weighted cue patterns plus evidence from the slots found.

The text given to ``score`` is normalized and has model names replaced by
``<m>`` and quant types by ``<q>``, so cue patterns do not fire on words
inside names (``qwen-coder``) and can refer to "a model" generically.
Each intent sums the weights of its cues that match; the slots add evidence
(a model and a quant type with no verb is a quantize request). The highest
score wins when it reaches ``MIN_SCORE``; else the utterance is unknown.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from lqmf.copilot.parser.schema import Intent

I = Intent
MIN_SCORE = 1.9

_OBJ = r"(?:experiments?|runs?|results?|records?|quants?|quantizations|artifacts?|history|benchmarks|" \
       r"models|tests|attempts|ones|files|builds|variants)"
_OBJ_PL = r"(?:experiments|runs|results|records|benchmarks|quants|artifacts|tests|attempts)"
_SUPER = r"(?:fastest|quickest|slowest|smallest|tiniest|largest|biggest|best|worst|newest|latest|" \
         r"oldest|most recent|most accurate|lowest|highest)"
_VERB_ANY = r"(?:quantize|benchmark|compare|tune|convert|compress|run|use|start|make|load|measure|test)"

CUES: list[tuple[Intent, float, str]] = [
    # quantize
    (I.QUANTIZE, 3.0, r"\bquantize\b"),
    (I.QUANTIZE, 2.5, r"\b(?:compress|shrink|squeeze|requantize|re-quantize|downsize)\b"),
    (I.QUANTIZE, 2.5, r"\b(?:make|create|build|produce|generate|give me|get me|do|cook up|prepare|export|"
                      r"save|want|need|like)\b.*(?:<q>|\b\d+ ?-?bits?\b|\bint4\b|\b(?:gguf|gptq|awq|bnb)\b)"
                      r"(?!.*\b(?:runs?|experiments?|results?)\b)"),
    (I.QUANTIZE, 2.0, r"\b(?:convert|turn|change)\b.*\b(?:to|into)\b"),
    (I.QUANTIZE, 2.5, r"\bmake (?:it|that|this|<m>|the model|my model) (?:smaller|lighter|tinier)\b|"
                      r"\b(?:a )?smaller (?:version|copy) of\b"),
    (I.QUANTIZE, 2.0, r"\bload\b.*\b(?:in|at|with|as)\b.*(?:<q>|bits?\b|\bbnb\b|bitsandbytes)"),
    (I.QUANTIZE, 1.0, r"\b(?:to|into|in|at|as|using|with|via)\s(?:<q>|\d+ ?-?bits?\b|int4\b|gguf\b|gptq\b|awq\b|bnb\b)"),
    (I.QUANTIZE, 2.0, r"\b(?:start|run|kick off|launch|queue up|schedule|do)\b (?:a |an |the )?(?:[\w\-]+ ){0,3}(?:quantization|quant)\b"),
    # "smollm2 to q3_k_m and benchmark it": the type is made first, then measured
    (I.QUANTIZE, 3.5, r"<m> (?:to|into|as|in|at) <q> (?:and|then|,)(?: then| after that| also)? (?:\w+ ){0,2}"
                      r"(?:benchmark|bench|measure|test|evaluate)\b"),
    (I.QUANTIZE, 1.5, r"\b(?:\d+ ?-?bits?|<q>) (?:version|copy|variant|build) of\b"),
    # "i need smollm2 quantized", "get me a quantized smollm2", "smollm2 needs quantizing": the wish is the request
    (I.QUANTIZE, 3.0, r"\b(?:need|needs|want|wants|like|get|have|got|should be|must be)\b.{0,20}<m>\s(?:\S+\s)?quanti[sz]ed\b|"
                      r"\b(?:get|give|make|find|build|fetch) (?:me |us )?an? quanti[sz]ed (?:version of |copy of )?<m>|"
                      r"\b<m> (?:needs|should be|must be|has to be|wants) quanti[sz](?:ed|ing)\b|"
                      r"\b(?:need|want|like) an? quanti[sz]ed (?:version|copy) of <m>"),
    # tune
    (I.TUNE, 2.5, r"\bsmallest <m> (?:that|which)\b|\bstill (?:good|usable|decent|ok|okay|fine)\b|"
                  r"\bwithout (?:hurting|losing|killing) (?:the )?(?:quality|accuracy)\b"),
    (I.TUNE, 3.0, r"\b(?:choose|pick|find|select|decide)(?: me)? (?:the |a )?(?:best |right |optimal |ideal )?"
                  r"(?:bit ?width|bits|quant(?:ization)?(?: level| type)?) (?:for|so|that|automatically)\b|"
                  r"\bbest bit ?width\b|\b(?:automatically|auto) (?:pick|choose|find|select)\b|"
                  r"\bso (?:that )?(?:it |<m> )?(?:fits?|stays?) (?:in|into|under|below|within)\b"),
    (I.TUNE, 2.5, r"\b(?:tune|auto-?tune|autotune|optimi[sz]e|sweep|search for|search|grid search)\b"),
    (I.TUNE, 3.0, r"\bfind (?:me )?(?:the |a )?(?:best|smallest|optimal|lowest|most compressed|right|ideal|"
                  r"cheapest|tightest|most aggressive|minimum|lowest-bit|fewest)\b"),
    (I.TUNE, 1.5, r"\b(?:that |which |while |and )?(?:still )?(?:keeps?|keeping|stays?|staying|maintains?|"
                  r"preserves?|without (?:losing|hurting|going over|exceeding|dropping))\b"),
    (I.TUNE, 3.0, r"\b(?:bit-?width search|as small as possible|as few bits as|lowest bits?|fewest bits|"
                  r"pick the bits|choose the bits|automatically pick|auto-?select|best trade-?off|sweet spot)\b"),
    (I.TUNE, 1.5, r"\b(?:quality gate|adaptive|mixed[- ]precision|per-layer)\b"),
    (I.TUNE, 2.0, r"\bfind (?:me )?(?:the |a )?(?:best|smallest|optimal|lowest|right|ideal|cheapest)\b.*\b(?:of|for) <m>"),
    (I.TUNE, 1.0, r"\b(?:how (?:low|far|small) can i go|how many bits)\b"),
    # benchmark
    (I.BENCHMARK, 2.5, r"\b(?:fast|numbers (?:on|for)|score|rate|heavy|memory use|memory usage|ppl of|"
                       r"run well|runs well)\b|\bhow fast\b(?! (?:can|should|could) i\b)|\bperformance\b|\bmeasure\b|"
                       r"\bspeed (?:check|test|run)\b|\bhow (?:quick|fast)$"),
    (I.BENCHMARK, 3.0, r"\bhow many (?:tokens|tok|toks|tok/s)\b|\bwhat (?:tok/s|speed|throughput|generation speed)"
                       r" (?:does|do|will|would|can|did)\b|\bhow (?:quickly|fast) (?:\S+ ){0,8}(?:generates?|runs?|"
                       r"goes|responds?)\b|\b(?:throughput|generation speed|tok/s) of\b"),
    (I.BENCHMARK, 3.0, r"\b(?:benchmark|bench|benchmarking|speedtest|speed test|profile|profiling)\b"),
    (I.BENCHMARK, 2.5, r"\bhow (?:fast|quick|quickly|slow|well|big|large|good|heavy|accurate) (?:is|are|does|do|"
                       r"will|would|can|runs?)\b"),
    (I.BENCHMARK, 2.0, r"\b(?:measure|evaluate|eval|time|test|check|run)\b(?: the| its| a)? (?:the )?(?:\w+ )?"
                       r"(?:speed|perplexity|ppl|throughput|latency|tok/s|tokens per second|performance|quality|"
                       r"kld?|size|memory)\b"),
    (I.BENCHMARK, 2.0, r"\b(?:measure|evaluate|test|try out|time|run)\b (?:<m>|my <m>|the <m>|it\b)"),
    (I.BENCHMARK, 1.5, r"\b(?:tokens per second|tok/s|perplexity|throughput|latency|speed)\b(?! (?:of )?(?:over|above|under|at least|more than))"),
    (I.BENCHMARK, 3.0, r"\bwhat(?:'s| is) (?:the|its) (?:speed|perplexity|ppl|throughput|latency|tok/s|kld?|"
                       r"size|file size|memory use|memory usage|footprint)\b(?: of)? (?:the |my )?(?:\S+ )?<m>"),
    (I.BENCHMARK, 1.5, r"\bwhat(?:'s| is) (?:the|its) (?:speed|perplexity|ppl|throughput|latency|tok/s|kld?)\b"),
    (I.BENCHMARK, 2.5, r"\bhow much (?:memory|ram|vram|disk|space) does\b"),
    # "was it worth it?", "is that one any good?": a question about an artifact's quality
    (I.BENCHMARK, 2.5, r"^(?:so |and |ok |well )?(?:was|is) (?:it|that|this|the (?:new|latest|last) one)(?: one| quant| file)? (?:any good|worth it|usable|"
                       r"good enough|decent|any better)\b|\bdid (?:it|that) (?:lose|hurt|break|degrade)\b"),
    # compare
    (I.COMPARE, 3.0, r"\bnext to\b|\b(?:against|than|to|with|vs) (?:the |my )?(?:original|unquantized|"
                     r"base|full[- ]precision|baseline|fp16|f16 one)\b|\bagainst (?:my |the )?<q>|\b(?:gguf|gptq|awq|bnb|"
                     r"bitsandbytes) against\b"),
    (I.COMPARE, 5.0, r"\b(?:compare|comparison|comparing|versus|vs|side by side|side-by-side|head to head|"
                     r"stack up|against each other|diff)\b"),
    (I.COMPARE, 2.5, r"\bcompared (?:to|with)\b|\bwhich (?:is|was|one is|runs?) (?:better|faster|smaller|"
                     r"slower|bigger|more accurate)\b|\b(?:better|worse|faster|smaller|slower|bigger|larger|more accurate) than <q>|"
                     r"\bhow does <q> (?:compare|stack)\b"),
    (I.COMPARE, 1.0, r"<q>.*\b(?:and|or|with)\b.*<q>"),
    (I.COMPARE, 1.0, r"\bdifference (?:in|of) (?:speed|size|quality|perplexity)\b"),
    # query
    (I.QUERY, 3.0, r"\b(?:which|what) of (?:my|our|the) (?:\w+ )?(?:models|quants|runs|experiments|artifacts|"
                   r"files|results)\b|\bwhat (?:did|have) (?:i|we) (?:\w+ )?(?:quantize|benchmark|convert|"
                   r"run|test|try|make|build|do|done|made|tried|tested|ran|converted|quantized|benchmarked)\b|"
                   r"^(?:the )?(?:results?|numbers|stats|metrics|scores?) (?:for|of)\b|"
                   r"^(?:anything|everything|every|all) (?:that |which )?(?:\w+ )?(?:above|over|under|below|"
                   r"faster|slower|smaller|bigger|with|from|that|bits?|runs?|quants?)\b|"
                   r"\b(?:i have|i've got|i own|i made|i've made|i built)$|"
                   r"^(?:anything|any runs?|something|any experiments?) (?:that )?(?:failed|crashed|broke|"
                   r"succeeded|finished|worked)\b|^(?:my|our) (?:\S+ )?history$|"
                   r"^(?:everything|all|anything|stuff) (?:that )?(?:i|we)(?:'ve| have)? (?:made|did|done|ran|"
                   r"quantized|tried|built|converted|benchmarked)\b|"
                   r"^(?:my|our) (?:\w+ ){0,3}(?:quants|models|runs|experiments|results|artifacts)$|"
                   r"\b(?:gguf|gptq|awq|bnb|bitsandbytes|\d+ ?-?bits?) (?:runs|experiments|results|quants)\b"),
    (I.QUERY, 2.5, rf"\b(?:show|list|display|give me|get|pull up|fetch|print|which|what|how many|any|"
                   rf"count|see|view|all)\b.*\b{_OBJ}\b"),
    (I.QUERY, 1.5, rf"\b(?:my|our|past|previous|earlier|old|recent|existing|saved|stored|completed|finished)"
                   rf"\s(?:\w+\s){{0,2}}{_OBJ}\b"),
    (I.QUERY, 2.0, rf"\b(?:my|i've|i have|i) (?:\w+ ){{0,2}}{_SUPER}\b|\b{_SUPER} (?:\w+ )?(?:i(?:'ve| have)?) "
                   rf"(?:run|made|built|quantized|benchmarked|tried|tested)\b"),
    (I.QUERY, 2.0, r"\b(?:have i|did i|i've|i have) (?:ever )?(?:run|tried|made|quantized|benchmarked|done|tested|built)\b"),
    (I.QUERY, 1.5, r"\b(?:history|so far|in the store|on record|leaderboard|log)\b"),
    (I.QUERY, 1.0, r"^(?:please |can you |could you )?(?:show|list|display|give me|get|pull up|fetch)\b"),
    (I.QUERY, 1.5, r"\bfind (?:me )?(?:all |every |my |the )?(?:\w+ )?(?:experiments|runs|results|records)\b"),
    (I.QUERY, 1.5, rf"(?:<m>|<q>) {_OBJ_PL}\b|\b{_OBJ_PL} (?:from|in|with|since|during|over|that|which|where)\b"),
    (I.QUERY, 1.5, rf"\b{_SUPER}\b(?: [\w/]+){{0,3}} {_OBJ}\b|\btop \d+\b"),
    # recommend
    (I.RECOMMEND, 2.5, r"^(?:anything|something|any model|a model|model|models) (?:good )?for\b"),
    (I.RECOMMEND, 3.0, r"\b(?:right|best|good|ideal) (?:one )?for my\b|\bwhat would you (?:run|use|pick|choose|recommend|suggest|go with)\b|"
                       r"\b(?:pick|choose|find) (?:me )?a model\b|\bmodel (?:ideas|suggestions?|recommendations?)\b|"
                       r"\bany suggestions?\b"),
    (I.RECOMMEND, 3.5, r"\b(?:recommend|recommendation|recommendations|suggest|suggestion|advice|advise)\b"),
    (I.RECOMMEND, 3.0, r"\b(?:which|what) (?:\w+ ){0,2}(?:model|quant|quantization|method|format|llm|one|"
                       r"bit ?width|bits|precision|quant type)s? (?:should|would|do you|could|to use|to pick|to "
                       r"choose|is best|is good|fits?|will|can i|works? best|for|can run|runs? (?:best|well)|"
                       r"to run)\b"),
    (I.RECOMMEND, 2.5, r"\bi need (?:a|an|some|something)\b|\blooking for (?:a|an|something)\b|"
                       r"\bi want (?:a|an) (?:\w+ )?model\b|\bgood (?:\w+ )?model for\b|"
                       r"\bbest (?:\w+ ){0,2}(?:model|llm|quant|quantization|option|choice|method)s? (?:for|to)\b|"
                       r"\bbest (?:model|llm|option|choice) (?:under|below|that (?:fits|runs|will)|with|on)\b|"
                       r"\bwhat can i run\b|\bcan i run\b|\bwill (?:it|<m>|.+) (?:run|fit) (?:on|in)\b|"
                       r"\bshould i (?:use|pick|choose|go with|try)\b|\bwhat should i (?:use|run|pick|try)\b|"
                       r"\bwhat(?:'s| is| would be) (?:a )?good\b|\bhelp me (?:choose|pick|decide)\b|"
                       r"\bgood enough for\b"),
    (I.RECOMMEND, 1.0, r"\b(?:for|on) (?:my |a |an )?(?:\d+ ?gb )?(?:laptop|phone|raspberry|pi|jetson|"
                       r"gpu|machine|computer|desktop|server)\b"),
    # jobs
    (I.JOBS, 3.0, r"\b(?:queue|jobs|job status|scheduler|job list|workers?)\b|(?<!nice )(?<!good )(?<!great )"
                  r"\bjob\b(?! of\b)"),
    (I.JOBS, 3.0, r"\b(?:tasks?|something|anything) (?:is |are )?(?:still |currently |now )?(?:running|queued|"
                  r"waiting|pending|in progress)\b"),
    (I.JOBS, 3.0, r"^(?:show |list )?(?:me )?(?:everything|anything|all the (?:things|stuff)|stuff|all|what's|"
                  r"what is|is anything|is there anything)(?: that's| that is| that are| which is)? (?:currently |still |"
                  r"now |right now )?(?:queued|waiting|pending|running|being processed|in progress)\b"),
    (I.JOBS, 2.5, r"\bwhat(?:'s| is) (?:currently |still |now )?(?:running|happening|queued|pending|going on)\b|"
                  r"\bis (?:it|my \w+|the \w+|that|this) (?:done|finished|ready|complete|still running|"
                  r"running)\b|\bhow(?:'s| is) (?:it|my \w+|the \w+|that|the \w+ \w+) (?:going|coming "
                  r"along|doing)\b(?!\W*$)|\bhow(?:'s| is) (?:my \w+|the \w+|that|the \w+ \w+) (?:going|coming "
                  r"along|doing)\b|\bhow long (?:until|till|left|will)\b|\beta\b|\bprogress\b|"
                  r"\banything running\b|\bstill running\b"),
    # cancel
    (I.CANCEL, 4.0, r"\b(?:cancel|abort|kill|terminate|halt|dequeue|unqueue)\b"),
    (I.CANCEL, 3.5, r"\bstop\b(?! (?:words?|tokens?|at)\b)|\b(?:remove|delete|drop|scrap|scratch)\b.*\b(?:job|queue|"
                    r"it|that|task)\b|\bnever ?mind\b|\bforget (?:it|that|about)\b|\bcall off\b|"
                    r"\bget rid of\b|^(?:don't|do not) (?:run|start|do) (?:it|that|this|the job)\b"),
    # explain
    (I.EXPLAIN, 2.5, r"\b(?:impact|effect|cost|downside|upside) of\b|\bthe deal with\b|^what (?:mean|means)\b"),
    (I.EXPLAIN, 3.0, r"\b(?:i want to|i'd like to|help me|i need to|i don't|i do not|i can't) "
                     r"(?:understand|get my head around)\b|^(?:so |but |and )?how come\b|\beli ?5\b|\bwhat (?:exactly|actually|really) (?:is|are)\b"),
    (I.EXPLAIN, 1.0, r"^(?:so |and |hey |ok |okay )?(?:what's|whats|what is|what are|what was)\b"),
    (I.EXPLAIN, 1.5, r"^(?:so |and |hey |ok |okay )?(?:what's|whats|what is|what are|what was|why|how)\b.*"
                     r"(?:<q>|<m>|quant|\b(?:gguf|gptq|awq|bnb|bitsandbytes|perplexity|ppl|kl|kld|divergence|"
                     r"imatrix|bpw|bits?|precision|weights?|llama\.cpp|tokens?|vram|context|calibration|"
                     r"outliers?|group size|blocks?|scales?|q?lora|fp16|f16|int8|int4|nf4|fp4|quality gate|"
                     r"llms?|inference|mmap|offload\w*|layers?|activations?|hessian|rounding|zero[- ]point|"
                     r"tok/s|throughput|latency|sampling|temperature|transformers?|attention|embeddings?|"
                     r"tensors?|safetensors|gpu|cpu|ram|k-quants?|i-quants?|super-?blocks?|importance|models?|kv|"
                     r"cache|accuracy|speed|size|memory|benchmark\w*|quality)\b)"),
    (I.EXPLAIN, 1.5, r"\btell me (?:more )?about\b.*(?:<q>|<m>|quant|\b(?:gguf|gptq|awq|bnb|bitsandbytes|"
                     r"perplexity|ppl|kl|kld|divergence|imatrix|bpw|bits?|precision|llama\.cpp|calibration|"
                     r"k-quants?|lora|qlora|kv cache)\b)"),
    (I.EXPLAIN, 4.0, r"\bwhat (?:does|do|did)\b.*\b(?:mean|stand for|do|measure|represent|refer to|indicate|"
                     r"control|affect)\b|\bmeaning of\b|\bstands? for\b"),
    (I.EXPLAIN, 1.5, r"\btell me (?:more )?about\b"),
    (I.EXPLAIN, 3.5, r"\b(?:explain|define|definition|describe|clarify|elaborate|eli5|"
                     r"what(?:'s| is) (?:the )?(?:point|purpose|idea|deal|use) of)\b"),
    (I.EXPLAIN, 1.5, r"^(?:but |so |and )?why\b|\bwhy (?:is|are|does|do|did|would|should|was)\b"),
    (I.EXPLAIN, 3.0, r"\bhow (?:does|do|did)\b.*\bwork\b|\bdifference between\b|\bwhat(?:'s| is) the "
                     r"difference\b|\bhow is .* (?:different|calculated|computed|measured)\b|"
                     r"\bwhat happens\b|\bis it (?:true|bad|ok|okay|safe)\b|\bhow (?:much|bad) (?:does|is)\b"),
    # "is double quant worth it?", "nf4 worth it or not": whether a technique pays, from the notes
    (I.EXPLAIN, 2.5, r"^(?!.*<m>).*(?:<q>|\b(?:double[ -]?quant\w*|imatrix|act[ -]?order|gptq|awq|nf4|fp4|bnb|"
                     r"bitsandbytes|k-?quants?|i-?quants?|quantization|gguf|group size|calibration)\b)"
                     r".{0,25}\bworth (?:it|using|trying|the)\b"),
    # training is out of scope: a question about it is answered from the notes (which say they have none)
    (I.EXPLAIN, 4.0, r"^(?!.*\b(?:quanti[sz]e|benchmark|bench)\b).*\b(?:finetun\w*|q?lora|peft|rlhf|dpo)\b"),
    # tutorial
    (I.TUTORIAL, 4.0, r"\bwhere (?:should|do|can|would) i (?:begin|start)\b|\bthe ropes\b|\blearn\b"),
    (I.TUTORIAL, 4.0, r"\b(?:teach me|tutorial|tutorials|walk me through|walkthrough|walk-through|guide me|"
                      r"step by step|step-by-step|lesson|lessons|show me how|learn (?:how|to|about)|i'm new|"
                      r"i am new|new to this|beginner|get(?:ting)? started|onboarding|course|teach|"
                      r"guided|hands-on|hand holding|tour)\b"),
    (I.TUTORIAL, 3.5, rf"^(?:so )?how (?:do|can|would|should|to) (?:i |you |we |one )?(?:\w+ )?{_VERB_ANY}\b"),
    (I.TUTORIAL, 2.0, r"\b(?:how (?:do|can|would|should) (?:i|you|we)|how to|teach me|show me how|learn (?:how )?to)"
                      r" (?:\w+ )?(?:quantize|benchmark|compare|tune)\b"),
    (I.TUTORIAL, 3.0, r"\b(?:next (?:lesson|step|chapter|part)|continue (?:the |my )?(?:tutorial|lesson|guide)|"
                      r"resume (?:the |my )?(?:tutorial|lesson)|where (?:was i|did i leave off)|"
                      r"keep going with the)\b"),
    # help
    (I.HELP, 5.0, r"\bwhat (?:can|could|else can) you do\b|\bwhat do you do\b|\bhow do i use (?:this|you|lqmf|"
                  r"it|the (?:tool|app|copilot|assistant))\b|\bhow does this (?:tool |app |thing )?work\b|"
                  r"\bwhat are you\b|\bwho are you\b|\bwhat (?:commands|features|options)\b|"
                  r"\b(?:your|the|its|lqmf's) capabilities\b|"
                  r"\bwhat can i (?:ask|say|do(?: here| with (?:this|you))?)\b|\bhow to use (?:this|lqmf|you|it)\b|"
                  r"\bwhat are your\b|\bwhat is (?:this|lqmf)\b|\bhow can you help\b|\bhow do (?:i|you) work\b|"
                  r"\bwhat is this (?:tool|app|thing)\b|\bwhat do i do\b|\bwhat are the commands\b|"
                  r"\bwhat (?:can|should|do) i (?:type|write|enter|input)\b"),
    (I.HELP, 4.5, r"^(?:instructions|manual|docs|documentation|capabilities|features|halp|usage|commands|options)"
                  r"(?: please)?$|\bis there a (?:manual|guide|help)\b|\btips (?:on|for) using\b|\bavailable "
                  r"(?:actions|commands|features)\b|\bwhat you can do\b|\bno idea how (?:this|it|you) works?\b|"
                  r"\boverview of (?:your |the )?(?:commands|features|options)\b|\bstart using (?:this|you|lqmf|it)\b|"
                  r"\bwhat(?:'s| is) possible\b|\bwhat are my options\b|\b(?:what|which) (?:sort of |kind of |"
                  r"other )?(?:stuff |things |requests |commands |tasks )?(?:can|do|could) you (?:do|support|"
                  r"understand|handle|help with)\b|\b(?:tell|show|explain)(?: to)?(?: me)? what you (?:can|could) do\b|"
                  r"\bexamples? (?:of what to (?:ask|say|type)|please)\b|^examples?$|\bhow (?:do|can|should) i "
                  r"(?:talk to|use|work with) (?:you|this|lqmf|the copilot)\b|\bwhat (?:should|can|do) i (?:say|ask)\b|"
                  r"\blist of commands\b|\bwhat do you (?:support|understand|know)\b|\bwhat does this (?:program|"
                  r"tool|app|thing|copilot|assistant) do\b|\b(?:show|open|give)(?: me)? (?:the )?help\b|"
                  r"\bhow does this (?:assistant|copilot|program|tool|app|thing) work\b|\bwhat are you good at\b|"
                  r"\bthings i can ask\b|\bthings (?:that )?i (?:can|could|am able to|may) (?:ask|do|say)\b"),
    (I.HELP, 4.0, r"\b(?:show|list|give|tell)(?: me)? (?:the |all |your |all the |available )?(?:commands|"
                  r"features|options|capabilities)\b|\bwhat are you (?:able|capable)\b"),
    (I.HELP, 3.0, r"^(?:help|help me|h|\?|commands|menu|options|usage)$|^(?:please |hey |hi |ok )?help\b(?! me \w)|"
                  r"\bi need (?:some )?help\b(?! with (?!this|lqmf|you))|\bi(?:'m| am) (?:lost|confused|stuck)\b|"
                  r"\bhow does it work\b|\bcan you help\b(?! me \w)"),
]
COMPILED = [(intent, weight, re.compile(p)) for intent, weight, p in CUES]

# Ties go to the earlier intent: the more specific request first.
PRECEDENCE = [I.CANCEL, I.HELP, I.TUTORIAL, I.COMPARE, I.TUNE, I.RECOMMEND, I.BENCHMARK, I.QUANTIZE,
              I.JOBS, I.QUERY, I.EXPLAIN]


@dataclass
class IntentScore:
    intent: Intent
    score: float
    runner_up: float
    scores: dict
    evidence: bool = True   # did any cue or slot match at all

    @property
    def confidence(self) -> float:
        """0..1: how sure the rules are (strong cues and a clear margin over the runner-up)."""
        if self.intent is Intent.UNKNOWN:
            if not self.evidence:   # no domain word at all: surely not a request for us
                return 0.6
            return round(0.3 - 0.1 * self.score / MIN_SCORE, 2)   # domain words, no decision
        margin = (self.score - self.runner_up) / self.score
        return round(0.5 * min(1.0, self.score / 4) + 0.5 * margin, 2)


def score(shaped: str, slots: dict) -> IntentScore:
    scores: dict[Intent, float] = dict.fromkeys(PRECEDENCE, 0.0)
    for intent, weight, pat in COMPILED:
        if pat.search(shaped):
            scores[intent] += weight
    _slot_evidence(scores, shaped, slots)
    ranked = sorted(PRECEDENCE, key=lambda i: (-scores[i], PRECEDENCE.index(i)))
    best, second = ranked[0], ranked[1]
    if scores[best] < MIN_SCORE:
        evidence = bool(slots) or any(v > 0 for v in scores.values())
        return IntentScore(Intent.UNKNOWN, scores[best], scores[second], scores, evidence)
    return IntentScore(best, scores[best], scores[second], scores)


# words that ask for measured numbers, not for the choice itself
_MEASURED = re.compile(r"\b(?:compare|comparison|side by side|numbers|results?|runs?|measure\w*|benchmark\w*|table|"
                       r"my|mine|made|ppl|perplexity|kld|tok/s|tokens per second)\b")


def _slot_evidence(scores: dict, shaped: str, slots: dict) -> None:
    has = slots.__contains__
    quantish = has("quant_type") or has("bits") or has("method") or has("quant_types")
    if has("model") and quantish:
        # "rate tinyllama q2_k": a measuring word outweighs the bare model + type evidence
        scores[I.QUANTIZE] += 1.0 if scores[I.BENCHMARK] >= 2.5 and scores[I.QUANTIZE] < 2.5 else 2.0
        scores[I.BENCHMARK] += 0.5
    elif has("model") and not any(scores.values()):
        scores[I.QUANTIZE] += 0.5
    elif quantish and not has("model"):
        scores[I.QUERY] += 0.5
    if has("max_kld") or has("max_ppl_delta_pct"):
        scores[I.TUNE] += 3.0
    if has("max_size_gb") and has("model") and scores[I.TUNE] > 0:
        scores[I.TUNE] += 1.0
    if has("vram_gb") or has("ram_gb"):
        scores[I.RECOMMEND] += 2.0
    for slot, weight in (("status", 1.0), ("since_days", 1.5), ("sort", 1.0), ("min_tok_s", 1.5),
                         ("limit", 0.5), ("max_size_gb", 0.5)):
        if has(slot):
            scores[I.QUERY] += weight
    if has("status") or has("since_days"):
        scores[I.JOBS] += 0.5
    if has("task") or has("device"):
        scores[I.RECOMMEND] += 0.5
    if has("job_id"):
        scores[I.JOBS] += 1.0
        scores[I.CANCEL] += 0.5
    n_types = len(slots.get("quant_types", [])) + len(slots.get("methods", []))
    if n_types >= 2:
        scores[I.COMPARE] += 1.0
    if len(slots.get("methods", [])) >= 2 and not (has("model") or has("quant_types") or has("quant_type")) \
            and not _MEASURED.search(shaped):
        # "gguf or gptq on a cpu?", "should I pick awq or gptq for a 4090": which method, in general
        scores[I.EXPLAIN] += 4.0
    if has("priority"):
        scores[I.QUANTIZE] += 1.0
