"""The quality table of a model, checked row by row against llama.cpp's own
`llama-perplexity --kl-divergence` on the same files, text and context.

    .venv/bin/python bench/quality_vs_llamacpp.py [--model smollm2] [--types Q8_0,Q6_K,...]
                                                  [--chunks 40] [--ctx 512] [--threads 2]

Builds llama-perplexity from the llama-cpp-python sdist's vendored source
first, with the same flags as the Python package (tools/llamacpp/build.py
tools; nothing is committed). Agreement targets: perplexity within 1 %, mean
KLD within 5 % relative, top-1 within 1 point. Exit 1 when a row misses a target.

``--timing`` also times, in turn, ``lqmf bench ART`` against
``llama-perplexity --kl-divergence`` on the same file, windows and threads,
with the baseline cached and with the baseline pass included, and prints the
baseline cache's bytes per scored token for both.
"""
from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

DEFAULT_TYPES = "Q8_0,Q6_K,Q5_K_M,Q5_K_S,Q4_K_M,Q4_K_S,Q4_0,IQ4_XS,Q3_K_M,Q2_K"
PATTERNS = {"ppl": r"Mean PPL\(Q\)\s*:\s*([\d.]+)", "kld_mean": r"Mean\s+KLD:\s*([\d.]+)",
            "kld_p99": r"99\.0%\s+KLD:\s*([\d.]+)", "top1_pct": r"Same top p:\s*([\d.]+)",
            "base_ppl": r"Mean PPL\(base\)\s*:\s*([\d.]+)"}


def llama_perplexity(binary: Path, model: Path, args: list[str]) -> str:
    proc = subprocess.run([str(binary), "-m", str(model), *args], capture_output=True, text=True)
    if proc.returncode != 0:
        sys.exit(f"llama-perplexity failed on {model}:\n{proc.stderr[-2000:]}")
    return proc.stdout + proc.stderr


def parse(text: str) -> dict[str, float]:
    out = {}
    for key, pat in PATTERNS.items():
        m = re.search(pat, text)
        if m:
            out[key] = float(m.group(1))
    return out


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default="smollm2")
    ap.add_argument("--types", default=DEFAULT_TYPES)
    ap.add_argument("--chunks", type=int, default=40)
    ap.add_argument("--ctx", type=int, default=512)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--timing", action="store_true", help="also time both tools side by side")
    ap.add_argument("--rounds", type=int, default=2)
    args = ap.parse_args()

    from rich.console import Console

    import lqmf.knowledge.evaldata as evaldata
    from lqmf.copilot.cli.tables import caveat_for, quality_table
    from lqmf.tools.benchmark import benchmark
    from lqmf.tools.quantize import quantize, read_sidecar

    from lqmf.tools.hardware import cpu_info
    from lqmf.tools.llamacpp.build import CMAKE_FLAGS, tools

    cpu = cpu_info()
    print(f"CPU: {cpu.model}; flags: {' '.join(cpu.flags)}; build: {' '.join(CMAKE_FLAGS)}")
    ppl_bin = tools() / "llama-perplexity"
    types = [t.strip() for t in args.types.split(",") if t.strip()]
    console = Console(width=160)
    records = []
    for t in types:
        art = quantize(args.model, t).artifact
        records.append(benchmark(str(art), chunks=args.chunks, ctx=args.ctx, threads=args.threads).record)
    first = records[0]
    console.print(quality_table(records, f"lqmf: {args.model} on {first.eval_text}, {first.eval_tokens} scored "
                                         f"tokens, ctx {args.ctx}, {args.threads} threads"))
    note = caveat_for(args.model)
    if note:
        console.print(note)

    f16 = Path(read_sidecar(Path(first.artifact))["f16_path"])
    common = ["-c", str(args.ctx), "-b", str(args.ctx), "-t", str(args.threads)]
    worst_ok = True
    with tempfile.TemporaryDirectory() as tmp:
        text_file = Path(tmp) / "eval.txt"
        text_file.write_text(evaldata.load().text)
        base = Path(tmp) / "base.kld"
        llama_perplexity(ppl_bin, f16, ["-f", str(text_file), "--kl-divergence-base", str(base),
                                        "--chunks", str(args.chunks), *common])
        console.print("\nagainst llama.cpp's llama-perplexity --kl-divergence (same files, text, ctx, chunks):")
        header = (f"{'type':8} {'ppl lqmf':>10} {'ppl llama':>10} {'Δ%':>7} | {'KLD lqmf':>9} {'KLD llama':>9} "
                  f"{'Δrel%':>7} | {'p99 lqmf':>8} {'p99 llama':>9} | {'top1 lqmf':>9} {'top1 llama':>10} "
                  f"{'Δpt':>6} | ok")
        console.print(header)
        for rec in records:
            ref = parse(llama_perplexity(ppl_bin, Path(rec.artifact),
                                         ["--kl-divergence-base", str(base), "--kl-divergence", *common]))
            d_ppl = 100 * (rec.ppl / ref["ppl"] - 1)
            d_kld = 100 * (rec.kld_mean / ref["kld_mean"] - 1) if ref.get("kld_mean") else float("nan")
            d_top = rec.top1_pct - ref["top1_pct"]
            ok = abs(d_ppl) <= 1.0 and abs(d_kld) <= 5.0 and abs(d_top) <= 1.0
            worst_ok &= ok
            console.print(f"{rec.quant_type:8} {rec.ppl:10.4f} {ref['ppl']:10.4f} {d_ppl:+7.3f} | "
                          f"{rec.kld_mean:9.5f} {ref['kld_mean']:9.5f} {d_kld:+7.2f} | {rec.kld_p99:8.4f} "
                          f"{ref.get('kld_p99', float('nan')):9.4f} | {rec.top1_pct:9.2f} {ref['top1_pct']:10.2f} "
                          f"{d_top:+6.2f} | {'yes' if ok else 'NO'}")
        if args.timing:
            timing(ppl_bin, f16, Path(records[-1].artifact), text_file, args, common, Path(tmp))
    console.print(f"\nall rows within targets (ppl 1 %, KLD 5 % rel, top-1 1 pt): {'PASS' if worst_ok else 'FAIL'}")
    return 0 if worst_ok else 1


def _wall(cmd: list[str], env: dict | None = None) -> float:
    import os
    import time

    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, env=dict(os.environ, **(env or {})), cwd=ROOT)
    if proc.returncode != 0:
        sys.exit(f"{cmd[0]} failed:\n{proc.stderr[-2000:]}")
    return time.perf_counter() - t0


def timing(ppl_bin: Path, f16: Path, art: Path, text_file: Path, args, common: list[str], tmp: Path) -> None:
    """Wall time of lqmf bench against llama-perplexity, in turn, baseline cached and not."""
    import shutil
    import statistics

    from lqmf.tools.config import cache_dir

    lqmf = [sys.executable, "-m", "lqmf.copilot.cli", "bench", str(art), "--chunks", str(args.chunks),
            "--ctx", str(args.ctx), "--threads", str(args.threads), "--json"]
    ref_common = ["-c", str(args.ctx), "-t", str(args.threads), "--chunks", str(args.chunks)]
    base_file = tmp / "timing.kld"
    rows: dict[str, list] = {"cached, no speed": [], "with baseline, no speed": [],
                             "cached, with speed": [], "with baseline, with speed": []}
    sizes = {}
    for _ in range(args.rounds):
        # llama.cpp: the F16 base pass, then the KLD pass over the artifact
        t_base = _wall([str(ppl_bin), "-m", str(f16), "-f", str(text_file), "--kl-divergence-base",
                        str(base_file), *ref_common])
        t_kld = _wall([str(ppl_bin), "-m", str(art), "--kl-divergence-base", str(base_file),
                       "--kl-divergence", *ref_common])
        sizes["llama.cpp"] = base_file.stat().st_size
        # lqmf: without the cached baseline (the run makes it), then with it; without and with speed
        for label, extra in (("no speed", ["--no-speed"]), ("with speed", [])):
            shutil.rmtree(cache_dir() / "baseline", ignore_errors=True)
            rows[f"with baseline, {label}"].append((_wall([*lqmf, *extra]), t_base + t_kld))
            rows[f"cached, {label}"].append((_wall([*lqmf, *extra]), t_kld))
        folder = next(p for p in (cache_dir() / "baseline").iterdir() if p.is_dir())
        sizes["lqmf"] = sum(f.stat().st_size for f in folder.iterdir())
    print(f"\nwall time, {args.rounds} rounds in turn ({args.chunks} windows of {args.ctx}, {args.threads} threads):")
    for name, pairs in rows.items():
        med = statistics.median
        print(f"  {name:18} lqmf {med(p[0] for p in pairs):7.1f} s  llama-perplexity {med(p[1] for p in pairs):7.1f} s"
              f"  ratio {med(p[0] / p[1] for p in pairs):.3f}")
    scored = args.chunks * (args.ctx // 2 - 1)
    for name, size in sizes.items():
        print(f"  baseline cache {name:10} {size / 1e6:9.1f} MB = {size / scored:9.0f} bytes per scored token")


if __name__ == "__main__":
    sys.exit(main())
