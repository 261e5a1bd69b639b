"""`lqmf tune MODEL --gate "kld<0.05" [--goal smallest|fastest] [--use code] [--chunks N]`"""
from __future__ import annotations

import argparse

from lqmf.copilot.cli.args import number
from lqmf.copilot.app.types import Knob
from lqmf.copilot.cli.queueing import add_queue_flags, check_queue_flags, print_queued


def register(sub) -> None:
    p = sub.add_parser("tune", help="find the smallest (or fastest) quant that passes a quality gate",
                       description="Search quant types (and imatrix / mixed variants) for the smallest or fastest "
                                   "artifact that passes the gate, with few trials: each trial quantizes and "
                                   "benchmarks one candidate, and is recorded; a killed tune resumes where it was.")
    p.add_argument("model", help="smollm2, ./my-hf-model, model.gguf, or org/name in the local HF cache")
    p.add_argument("--gate", "-g", help='quality gate, e.g. "kld<0.05,size<1GB", or a saved gate\'s name '
                                        "(default: your saved gate 'default')")
    p.add_argument("--goal", choices=["smallest", "fastest"], default="smallest")
    p.add_argument("--use", help="calibrate for chat, code, math or creative: adds imatrix candidates and IQ types")
    p.add_argument("--mixed", action="store_true", help="also try k-quants with output and embeddings at Q8_0")
    p.add_argument("--methods", action="append", metavar="METHOD",
                   help="mix methods under the one gate (gguf,bnb,gptq; default gguf): the best per runtime path "
                        "(llama.cpp, transformers) and of all")
    p.add_argument("--candidates", "-c", action="append", help="candidates instead of the default ladder "
                                                                "(Q4_K_M, Q4_K_M@code, Q3_K_M+output=q8_0)")
    p.add_argument("--chunks", type=number(Knob.CHUNKS), help="benchmark windows per trial (default 8)")
    p.add_argument("--parallel", type=int, help="trials side by side (default: as RAM and cores allow)")
    p.add_argument("--save-template", metavar="NAME", help="save what it finds as a template")
    p.add_argument("--exhaustive", action="store_true", help="measure every candidate (the reference search)")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    add_queue_flags(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from lqmf.copilot.app import tune as t
    from lqmf.copilot.app.quantize import split
    from lqmf.copilot.cli.output import console, print_json

    check_queue_flags(args)
    cands = split(args.candidates) or None
    kw = dict(goal=args.goal, use=args.use, chunks=args.chunks, candidates=cands, mixed=args.mixed,
              parallel=args.parallel, methods=split(args.methods) or None)
    if args.queue:
        return print_queued([t.queue(args.app, args.model, args.gate, priority=args.priority,
                                     not_before=args.not_before, **kw)], args)
    out = console()

    def on_trial(trial) -> None:
        if not args.json:
            r = trial.record
            what = "pass" if trial.passed else f"fail: {trial.failed}"
            out.print(f"  trial {trial.candidate}: {_numbers(r)} — {what}{' (from the journal)' if trial.reused else ''}")

    report = t.tune(args.app, args.model, args.gate, save_template=args.save_template, on_trial=on_trial,
                    exhaustive=args.exhaustive, **kw)
    if args.json:
        print_json(report.to_dict())
        return 0 if report.best else 1
    print_report(report)
    return 0 if report.best else 1


def _numbers(r: dict) -> str:
    from lqmf.copilot.app.types import say

    from lqmf.copilot.app.types import Metric

    bits = [w for m in (Metric.SIZE, Metric.KLD_MEAN, Metric.PPL_DELTA_PCT, Metric.GEN_TOK_S)
            if (w := say(m, r.get(m.value)))]
    return ", ".join(bits) or (r.get("error") or "no numbers")


def print_report(report) -> None:
    from lqmf.copilot.app.types import human_bytes
    from lqmf.copilot.cli.output import console

    out = console()
    n = len(report.trials)
    out.print(f"{n} trial{'s' if n != 1 else ''} of {len(report.candidates)} candidates "
              f"({report.measured} measured now, {n - report.measured} from earlier runs); "
              f"{len(report.pruned)} decided without a trial.")
    if len(report.paths) > 1:        # a mix of methods: what each runtime path found
        for path, p in report.paths.items():
            pick = (f"{p['best']} ({p['method']}, {human_bytes(p['size_bytes'] or 0)})" if p.get("best")
                    else "nothing passes")
            out.print(f"  {path} path ({', '.join(p['methods'])}): {pick}; {len(p['trials'])} trial(s) "
                      f"of {len(p['candidates'])}")
    if report.best:
        out.print(f"[green]✓[/] {report.reason}: {report.best_record.get('artifact') if report.best_record else ''}")
        if report.template:
            out.print(f"saved as template {report.template!r}: `lqmf quantize MODEL --template {report.template}`")
    else:
        out.print(f"[red]✗[/] {report.reason}")
