"""Voice eval: synthesize the utterance list (several espeak-ng voices and speeds,
and the piper voice; white noise at 10 dB SNR on every third), transcribe with
each Whisper model, parse, and score against the expected parse.

    python evals/voice/run_eval.py                          # tiny.en and base, utterances.jsonl
    python evals/voice/run_eval.py --models tiny.en --list evals/voice/tune.jsonl
    python evals/voice/run_eval.py --min-intent 0.9 --max-rtf 0.3   # exit 1 below / above

Printed per model: intent accuracy, slot accuracy (exact slots dict after the
parse eval's inference rule), full match, WER (transcript vs the written command,
both lower-cased with punctuation, '-' and '_' as spaces), real-time factor
(wall compute s / audio s; and CPU s / audio s, which other work on the machine
does not inflate; the load average is printed with it), the share the front end would confirm ("I heard ... right?")
and the accuracy of the turns it would not. First-command latency: a fresh
`lqmf voice --file X --parse-only --json` process (Python start, imports, model
load, transcription, parse), and in-process model load + first transcription.
Audio is cached in the data dir (cache/voice_eval), not in the repository.
The initial prompt was tuned on tune.jsonl only, never on utterances.jsonl.
"""
from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
for p in (str(ROOT), str(HERE)):
    if p not in sys.path:
        sys.path.insert(0, p)

import synth  # noqa: E402


def _parse_eval():
    """evals/parse/run_eval.py (its scoring rules), under a name of its own."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("parse_eval", ROOT / "evals" / "parse" / "run_eval.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


PARSE_EVAL = _parse_eval()
normalize_pair, slots_equal, load_rows = PARSE_EVAL.normalize_pair, PARSE_EVAL.slots_equal, PARSE_EVAL.load

NOISE_SNR_DB = 10.0


def words(text: str) -> list[str]:
    return re.sub(r"[^a-z0-9. ]", " ", text.lower().replace("-", " ").replace("_", " ")).replace(". ", " ").split()


def wer(ref: str, hyp: str) -> tuple[int, int]:
    """(edit distance in words, reference length)."""
    r, h = [w.rstrip(".") for w in words(ref)], [w.rstrip(".") for w in words(hyp)]
    d = list(range(len(h) + 1))
    for i, rw in enumerate(r, 1):
        prev, d[0] = d[0], i
        for j, hw in enumerate(h, 1):
            prev, d[j] = d[j], min(d[j] + 1, d[j - 1] + 1, prev + (rw != hw))
    return d[len(h)], len(r)


def conditions(rows: list[dict]) -> list[tuple[dict, synth.Voice, float | None]]:
    out = []
    for i, row in enumerate(rows):
        voice = synth.VOICES[i % len(synth.VOICES)]
        out.append((row, voice, NOISE_SNR_DB if i % 3 == 2 else None))
    return out


def first_command_cli(wav: Path, model: str) -> float:
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-m", "lqmf.copilot.cli", "voice", "--file", str(wav), "--model", model,
                    "--parse-only", "--json"], cwd=ROOT, check=True, capture_output=True)
    return time.perf_counter() - t0


def evaluate(model: str, items: list[tuple[dict, Path, str, bool]], prompt: str | None) -> dict:
    from lqmf.copilot.voice.audio import load
    from lqmf.copilot.voice.frontend import VoiceFrontEnd

    fe = VoiceFrontEnd(model, prompt=prompt, store_models=False)
    t0 = time.perf_counter()
    fe.transcriber.load()
    load_s = time.perf_counter() - t0
    res = defaultdict(float)
    per = defaultdict(lambda: [0, 0])
    errors = []
    first_s = None
    for row, wav, label, noisy in items:
        t1, c1 = time.perf_counter(), time.process_time()
        try:
            heard = fe.hear(load(wav))
            res["cpu_s"] += time.process_time() - c1
        except Exception as e:  # noqa: BLE001 - a refused file is a miss, and shown
            errors.append((row["text"], label, f"{type(e).__name__}: {e}"))
            res["n"] += 1
            e_, n_ = wer(row["text"], "")
            res["wer_e"] += e_
            res["wer_n"] += n_
            continue
        if first_s is None:
            first_s = load_s + (time.perf_counter() - t1)
        pred = heard.parse
        a, b = normalize_pair(pred.get("slots") or {}, row["slots"])
        i_ok = pred["intent"] == row["intent"]
        s_ok = slots_equal(a, b)
        e_, n_ = wer(row["text"], heard.transcript.text)
        res["n"] += 1
        res["intent"] += i_ok
        res["slots"] += s_ok
        res["full"] += i_ok and s_ok
        res["wer_e"] += e_
        res["wer_n"] += n_
        res["audio_s"] += heard.transcript.audio_s
        res["compute_s"] += heard.transcript.elapsed_s
        res["confirm"] += heard.confirm
        if not heard.confirm:
            res["passed"] += 1
            res["passed_ok"] += i_ok and s_ok
        for key in (label.split(":")[0], "noisy" if noisy else "clean"):
            per[key][0] += i_ok
            per[key][1] += 1
        if not (i_ok and s_ok):
            errors.append((row["text"], label + (" +noise" if noisy else ""),
                           f"heard {heard.transcript.text!r} -> {pred['intent']} {pred.get('slots')}"
                           f" (conf {heard.confidence:.2f}{', confirmed' if heard.confirm else ''})"))
    n = res["n"] or 1
    return {"model": model, "n": int(res["n"]), "intent_acc": res["intent"] / n, "slot_acc": res["slots"] / n,
            "full": res["full"] / n, "wer": res["wer_e"] / max(1, res["wer_n"]),
            "rtf": res["compute_s"] / max(1e-9, res["audio_s"]),
            "cpu_rtf": res["cpu_s"] / max(1e-9, res["audio_s"]), "load_s": load_s, "first_s": first_s,
            "confirm_rate": res["confirm"] / n,
            "unconfirmed_full": res["passed_ok"] / res["passed"] if res["passed"] else None,
            "per": {k: f"{v[0]}/{v[1]}" for k, v in per.items()}, "errors": errors}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--list", type=Path, default=HERE / "utterances.jsonl")
    ap.add_argument("--models", default="tiny.en,base")
    ap.add_argument("--limit", type=int, default=0)
    ap.add_argument("--prompt", default=None, help="an initial prompt to try (tuning, on tune.jsonl only)")
    ap.add_argument("--min-intent", type=float, default=None)
    ap.add_argument("--max-rtf", type=float, default=None)
    ap.add_argument("--errors", type=int, default=10)
    args = ap.parse_args(argv)

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from lqmf.tools.config import cache_dir

    rows = load_rows(args.list)[: args.limit or None]
    cache = cache_dir() / "voice_eval"
    t0 = time.perf_counter()
    items = [(row, synth.synthesize(row["text"], v, cache, snr, seed=i), v.label, snr is not None)
             for i, (row, v, snr) in enumerate(conditions(rows))]
    print(f"{len(items)} spoken commands from {args.list.name}: {len({i[2] for i in items})} voices, "
          f"{sum(i[3] for i in items)} with noise at {NOISE_SNR_DB:.0f} dB SNR (synthesized/cached in "
          f"{time.perf_counter() - t0:.1f} s)")
    models = [m.strip() for m in args.models.split(",") if m.strip()]
    cli = {m: first_command_cli(items[0][1], m) for m in models}
    failed = False
    for m in models:
        r = evaluate(m, items, args.prompt)
        print(f"\n== {m}: intent {r['intent_acc']:.3f}  slots {r['slot_acc']:.3f}  full {r['full']:.3f}  "
              f"WER {r['wer']:.3f}  RTF {r['rtf']:.3f} (wall; CPU-s per audio-s {r['cpu_rtf']:.3f}, "
              f"{os.cpu_count()} cores, load {os.getloadavg()[0]:.1f})")
        print(f"   model load {r['load_s']:.2f} s; first command in-process {r['first_s']:.2f} s; "
              f"first command via `lqmf voice --parse-only` {cli[m]:.2f} s")
        uc = r["unconfirmed_full"]
        print(f"   would confirm {r['confirm_rate']:.1%} of turns; full match of the unconfirmed "
              f"{uc if uc is None else f'{uc:.3f}'}; intent by condition {r['per']}")
        for e in r["errors"][: args.errors]:
            print(f"   miss: {e[0]!r} [{e[1]}] {e[2]}")
        if m == "tiny.en" and args.max_rtf is not None and r["rtf"] > args.max_rtf:
            failed = True
        if args.min_intent is not None and r["intent_acc"] < args.min_intent:
            failed = True
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
