"""Run the scripted dialogues through the real REPL, graph, parser,
checkpointer and scheduler, and print task success and turn latency.

    python evals/dialogues/run_eval.py [--min-success 0.95] [--only NAME] [-v]
    python evals/dialogues/run_eval.py --data evals/dialogues/heldout.toml   # never tuned on

Long tools submit the scheduler's quick noop kind and no worker runs, so jobs
stay queued (the test hook's App, copilot/app/testing.py). Latency: wall time of one graph turn
(parse, plan, respond, job refresh) for turns that run no tool."""
from __future__ import annotations

import argparse
import io
import os
import sys
import time
import tomllib
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1]))


def same_value(got: object, want: object) -> bool:
    """One argument as expected: lists item by item (quant types in any case), numbers as numbers
    (a size of 2 is 2.0), everything else as case-insensitive text."""
    if isinstance(want, list):
        return [str(x).upper() for x in got or []] == [str(x).upper() for x in want]  # type: ignore[attr-defined]
    if isinstance(want, (int, float)) and not isinstance(want, bool) and isinstance(got, (int, float)) \
            and not isinstance(got, bool):
        return float(got) == float(want)
    return str(got).lower() == str(want).lower()


def matches(expected: dict, call: dict) -> bool:
    if expected.get("tool") != call["tool"]:
        return False
    args = call.get("args") or {}
    return all(same_value(args.get(k), v) for k, v in expected.items() if k != "tool")


def check_turn(turn: dict, repl, out: str) -> str | None:
    """None if the turn did what it should, else why not."""
    t = repl.last_turn
    calls = t.calls if t else []
    want = turn.get("calls", [])
    if len(calls) != len(want) or not all(matches(w, c) for w, c in zip(want, calls)):
        return f"calls {[(c['tool'], c['args']) for c in calls]} != expected {want}"
    q = repl.session.pending()
    if (q or {}).get("slot") != turn.get("ask"):
        return f"pending question {(q or {}).get('slot')!r} != expected {turn.get('ask')!r}"
    if turn.get("text") and turn["text"].lower() not in out.lower():
        return f"reply lacks {turn['text']!r}"
    if turn.get("avoid") and turn["avoid"].lower() in out.lower():
        return f"reply has {turn['avoid']!r}"
    return None


def run_dialogue(d: dict, verbose: bool) -> tuple[bool, list[float], str]:
    from lqmf.copilot.io import IO
    from lqmf.copilot.repl import Repl
    from lqmf.copilot.session import Session

    buf = io.StringIO()
    repl = Repl(Session(), IO(plain=True, stream=buf), interactive=False, wait=False)
    latencies, log = [], []
    for i, turn in enumerate(d["turns"], 1):
        if turn.get("restart"):
            repl.session = Session(resume=True)
        buf.write(f"> {turn['say']}\n")
        start = buf.tell()   # the reply only: words the user said do not count as said back
        repl.handle(turn["say"])
        out = buf.getvalue()[start:]
        log.append(f"> {turn['say']}\n" + out)
        if repl.last_turn and not repl.last_turn.calls:
            latencies.append(repl.last_turn.latency_s)
        why = check_turn(turn, repl, out)
        if why:
            return False, latencies, "".join(log) + f"!! turn {i}: {why}\n"
    return True, latencies, "".join(log) if verbose else ""


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q * (len(values) - 1))))] if values else float("nan")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--min-success", type=float, default=0.0)
    ap.add_argument("--only", help="run the dialogues whose name contains this")
    ap.add_argument("--data", type=Path, default=HERE / "dialogues.toml")
    ap.add_argument("-v", "--verbose", action="store_true", help="print every transcript")
    args = ap.parse_args()
    if not os.environ.get("LQMF_HOME"):
        from lqmf.tools.config import scratch_data_dir

        scratch_data_dir("lqmf-dialogues-")
    from lqmf.copilot.app import testing

    with testing.install(testing.app("noop", worker=False)):
        return _run(args)


def _run(args) -> int:
    dialogues = tomllib.loads(args.data.read_text())["dialogue"]
    if args.only:
        dialogues = [d for d in dialogues if args.only in d["name"]]
    t0 = time.perf_counter()
    passed, lat = 0, []
    for d in dialogues:
        ok, ls, log = run_dialogue(d, args.verbose)
        passed += ok
        lat += ls
        print(f"{'PASS' if ok else 'FAIL'}  {d['name']}")
        if log:
            print("    " + log.rstrip().replace("\n", "\n    "))
    rate = passed / len(dialogues) if dialogues else 0.0
    print(f"\ndialogues: {len(dialogues)}  task success: {passed}/{len(dialogues)} = {rate:.1%}")
    print(f"no-tool turns: {len(lat)}  latency p50 {pct(lat, .5) * 1000:.1f} ms  "
          f"p95 {pct(lat, .95) * 1000:.1f} ms  max {max(lat, default=0) * 1000:.1f} ms")
    print(f"wall time: {time.perf_counter() - t0:.1f} s")
    return 1 if rate < args.min_success else 0


if __name__ == "__main__":
    sys.exit(main())
