"""Every tutorial end to end through the real chat, from the scripted
transcripts of transcripts.toml, and how long each takes.

Each run is `lqmf chat --script -` in a subprocess: the real parser, graph,
SqliteSaver checkpointer, scheduler and a real worker that quantizes and
benchmarks the bundled model (benchmarks use LQMF_CHAT_BENCH_CHUNKS windows,
2 by default). A transcript passes when the tutorial's last step is reached,
every expected line is there, and nothing raised.

    python evals/tutorials/run_all.py [--home DIR] [--chunks 2] [--json FILE]

Without --home a fresh data dir is made (the bundled model's F16 copy is built
first, about 10 s). Prints one row per tutorial: seconds and pass/fail; exits 1
when any failed.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TRANSCRIPTS = Path(__file__).resolve().parent / "transcripts.toml"
LQMF = [sys.executable, "-m", "lqmf.copilot.cli"]
RUN_TIMEOUT_S = 1200


@dataclass
class Outcome:
    name: str
    seconds: float
    ok: bool
    missing: list[str] = field(default_factory=list)
    transcript: str = ""


def load() -> list[dict]:
    return tomllib.loads(TRANSCRIPTS.read_text(encoding="utf-8"))["tutorial"]


def base_env(home: Path, chunks: int) -> dict:
    env = dict(os.environ, LQMF_HOME=str(home), LQMF_CHAT_BENCH_CHUNKS=str(chunks))
    env.pop("LQMF_CHAT_LLM", None)      # no LLM: the answers come from the docs
    return env


def prepare_home(home: Path, env: dict) -> None:
    """The starting state of the shared data dir: the bundled model's F16 copy and a
    Q8_0 quantization (as tests/conftest.py warm_home; the F16 is reused when there)."""
    if (home / "artifacts" / "smollm2" / "smollm2.Q8_0.gguf").exists():
        return
    subprocess.run([*LQMF, "quantize", "smollm2", "--type", "Q8_0", "--json"], env=env, cwd=ROOT, check=True,
                   capture_output=True, timeout=900)


def own_gguf(home: Path, where: Path) -> Path:
    """"Your own model": the bundled model's F16 GGUF copied under another name, outside
    the data dir (lower-case path: the parser reads paths lower-cased)."""
    src = next((home / "cache" / "f16").glob("*.F16.gguf"))
    dst = where / "tiny-model.gguf"
    if not dst.exists():
        shutil.copyfile(src, dst)
    return dst


def stop_workers(env: dict) -> None:
    code = "from lqmf.tools.scheduler import JobStore; print(' '.join(str(w['pid']) for w in JobStore().workers()))"
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, cwd=ROOT, check=False)
    for pid in out.stdout.split():
        try:
            os.kill(int(pid), signal.SIGTERM)
        except (ProcessLookupError, ValueError):
            pass


def run_one(spec: dict, env: dict, subs: dict) -> Outcome:
    from lqmf.copilot.app.testing import command
    from lqmf.tools import tutorials

    t = tutorials.load()[spec["name"]]
    env = {**env, **{k: str(v) for k, v in (spec.get("env") or {}).items()}}
    text, errors = "", ""
    t0 = time.perf_counter()
    for run in spec["runs"]:
        args = ["chat", "--script", "-"] + (["--resume"] if run.get("resume") else []) + \
               (["--no-wait"] if spec.get("no_wait") else [])
        lines = [line.format(**subs) for line in run["lines"]]
        # real jobs; ``worker = false``: through the test hook, whose queue starts no worker
        cmd = LQMF if spec.get("worker", True) else command(jobs="real", worker=False)
        r = subprocess.run([*cmd, *args], input="\n".join(lines) + "\n", capture_output=True, text=True,
                           env=env, cwd=ROOT, timeout=RUN_TIMEOUT_S, check=False)
        text += r.stdout
        errors += r.stderr
        if r.returncode != 0:
            errors += f"\n(exit code {r.returncode})"
    seconds = time.perf_counter() - t0
    want = [*spec.get("expect", []), f"That was the last step of '{t.title}'"]
    missing = [w for w in want if w not in text]
    if "Traceback" in text + errors or "(exit code" in errors:
        missing.append("no traceback and exit code 0: " + errors[-1500:])
    return Outcome(spec["name"], seconds, not missing, missing, text)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--home", type=Path, help="the shared data dir (default: a fresh temporary one)")
    ap.add_argument("--chunks", type=int, default=2, help="benchmark windows per job (default 2)")
    ap.add_argument("--json", type=Path, help="also write the results here")
    ap.add_argument("--show", action="store_true", help="print each transcript")
    args = ap.parse_args(argv)

    scratch = Path(tempfile.mkdtemp(prefix="lqmf-tutorials-"))
    home = args.home or scratch / "home"
    home.mkdir(parents=True, exist_ok=True)
    env = base_env(home, args.chunks)
    homes = [env]
    results: list[Outcome] = []
    try:
        prepare_home(home, env)
        subs = {"own_gguf": str(own_gguf(home, scratch))}
        for spec in load():
            run_env = env
            if spec.get("home") == "own":
                own = scratch / f"home-{spec['name']}"
                own.mkdir()
                run_env = base_env(own, args.chunks)
                homes.append(run_env)
            out = run_one(spec, run_env, subs)
            results.append(out)
            if args.show or not out.ok:
                print(f"---- {out.name}\n{out.transcript}")
            print(f"{out.name:24s} {out.seconds:7.1f} s  {'ok' if out.ok else 'FAILED'}", flush=True)
            for m in out.missing:
                print(f"    missing: {m}")
    finally:
        for e in homes:
            stop_workers(e)
        shutil.rmtree(scratch, ignore_errors=True)
    total = sum(r.seconds for r in results)
    print(f"{'all ' + str(len(results)) + ' tutorials':24s} {total:7.1f} s  "
          f"{sum(r.ok for r in results)}/{len(results)} passed")
    if args.json:
        args.json.write_text(json.dumps([{"name": r.name, "seconds": round(r.seconds, 1), "ok": r.ok,
                                          "missing": r.missing} for r in results], indent=2))
    return 0 if results and all(r.ok for r in results) else 1


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    sys.exit(main())
