"""One trial (quantize a candidate, benchmark it, check the gate) and the trial
journal that makes a tune resumable: every finished trial is appended as one
JSON line, keyed by (model, candidate, chunks, ctx, speed, the model's content fingerprint); a restarted tune
finds it there and does not measure it again. The benchmark record (with the
gate and what it failed) also goes to the experiment store, like any run."""
from __future__ import annotations

import json
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from lqmf.tools.gates import Gate
from lqmf.tools.progress import Progress, noop
from lqmf.tools.tune.candidates import Candidate
from lqmf.tools.tune.search import Trial


@dataclass(frozen=True)
class Setting:
    """What makes two measurements of one candidate the same trial."""
    model: str
    chunks: int
    ctx: int
    speed: bool
    fingerprint: str = ""       # the model's content (tools/quantize/convert.fingerprint): a changed model is new

    def key(self, cand: Candidate) -> str:
        return (f"{self.model}|{cand.key}|c{self.chunks}|x{self.ctx}|{'speed' if self.speed else 'quality'}"
                f"|{self.fingerprint}")


def journal_path() -> Path:
    from lqmf.tools.config import sub_dir

    return sub_dir("tune") / "trials.jsonl"


def done_trials() -> dict[str, dict]:
    """key -> benchmark record of every trial finished so far (the last one wins)."""
    out: dict[str, dict] = {}
    try:
        lines = journal_path().read_text(encoding="utf-8").splitlines()
    except OSError:
        return out
    for line in lines:
        try:
            row = json.loads(line)
            out[str(row["key"])] = dict(row["record"])
        except (ValueError, KeyError, TypeError):
            continue  # a line cut short by a kill
    return out


def _append(key: str, record: dict) -> None:
    line = json.dumps({"key": key, "record": record}, default=str) + "\n"
    fd = os.open(journal_path(), os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, line.encode("utf-8"))   # one write: lines from parallel trials do not interleave
        os.fsync(fd)
    finally:
        os.close(fd)


def run_trial(cand: Candidate, setting: Setting, gate: Gate, progress: Progress = noop) -> dict:
    """Quantize + benchmark one candidate; the benchmark record as a dict."""
    from lqmf.tools.benchmark import benchmark
    from lqmf.tools.errors import LqmfError
    from lqmf.tools.quantize import quantize

    try:
        q = quantize(setting.model, cand.quant_type, recipe=cand.recipe() or None, progress=progress)
        b = benchmark(str(q.artifact), chunks=setting.chunks, ctx=setting.ctx, speed=setting.speed, gate=gate,
                      progress=progress)
        return b.record.to_dict()
    except LqmfError as e:   # a candidate this model cannot take is a failed trial, not a failed tune
        return {"error": str(e), "quant_type": cand.quant_type}


class Runner:
    """Measures rounds of candidates: journal first, then trials (in parallel
    threads, ``parallel`` at a time: quantize is a C call and the benchmark a
    child process, so threads overlap them)."""

    def __init__(self, setting: Setting, gate: Gate, *, parallel: int = 1, progress: Progress = noop,
                 fresh: bool = False, on_trial=None):
        self.setting, self.gate, self.parallel, self.progress = setting, gate, max(1, parallel), progress
        self.known = {} if fresh else done_trials()
        self.measured = 0
        self.on_trial = on_trial

    def __call__(self, batch: list[Candidate]) -> list[Trial]:
        todo = [c for c in batch if self.setting.key(c) not in self.known]
        if todo:
            if self.parallel > 1 and len(todo) > 1:
                with ThreadPoolExecutor(self.parallel) as pool:
                    recs = list(pool.map(lambda c: run_trial(c, self.setting, self.gate, self.progress), todo))
            else:
                recs = [run_trial(c, self.setting, self.gate, self.progress) for c in todo]
            for c, r in zip(todo, recs):
                self.known[self.setting.key(c)] = r
                self.measured += 1
                if not r.get("error"):
                    _append(self.setting.key(c), r)
        out = []
        for c in batch:
            rec = self.known[self.setting.key(c)]
            failed = rec.get("error") or self.gate.check(rec)   # re-checked: the journal may hold another gate's trial
            t = Trial(c.key, rec, failed, reused=c not in todo)
            out.append(t)
            if self.on_trial:
                self.on_trial(t)
        return out
