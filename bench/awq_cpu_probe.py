"""Can GPTQModel make an AWQ model on this CPU? Quantizes the bundled model with AWQ
(4 bits, group size 32, the GPTQ path's calibration set), saves it, reloads it with
GPTQModel's two CPU kernels and with transformers, and prints the time, the size and
how well each reload follows the dense model on the probe tokens: the measurement behind
the README's AWQ line and the AWQ backend's choice of kernel (tools/quantize/backends/awq.py).

    LQMF_HOME=/tmp/awq-home python bench/awq_cpu_probe.py [--out /tmp/awq-out]

It writes into a scratch folder of its own (removed first, so never a folder you made)."""
from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path


def follows(dense, other) -> tuple[float, float]:
    """(top-1 agreement, share of tokens whose next token is in the dense model's top 10: the build's check)."""
    from lqmf.tools.quantize.gptq_build import top10_share

    return float((dense[0].argmax(-1) == other[0].argmax(-1)).float().mean()), top10_share(dense, other)


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", type=Path, default=None, help="scratch folder (default: a new temp folder)")
    ap.add_argument("--samples", type=int, default=None, help="calibration samples (default: the GPTQ path's)")
    ap.add_argument("--tokens", type=int, default=None, help="tokens per sample (default: the GPTQ path's)")
    a = ap.parse_args(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("GPTQMODEL_CPU_WORKERS", str(max(2, os.cpu_count() or 2)))
    from transformers import AutoTokenizer

    from lqmf.tools.models import resolve
    from lqmf.tools.progress import noop
    from lqmf.tools.quantize.convert import dense_dir
    from lqmf.tools.quantize.gptq_build import PROBE_TEXT, PROBE_TOKENS, calibration_set, load_hf, probe_logits

    work = Path(tempfile.mkdtemp(prefix="lqmf-awq-")) if a.out is None else a.out
    out = work / "smollm2-awq-4bit"
    shutil.rmtree(out, ignore_errors=True)
    dense = dense_dir(resolve("smollm2"), noop)
    tok = AutoTokenizer.from_pretrained(dense)
    cal, facts = calibration_set(tok, a.samples, a.tokens)
    ids = tok(PROBE_TEXT, return_tensors="pt").input_ids[:, :PROBE_TOKENS]
    os.chdir(work)   # GPTQModel writes ./logs where it runs
    from gptqmodel import BACKEND, GPTQModel
    from gptqmodel.quantization.config import AWQConfig

    t0 = time.perf_counter()
    model = GPTQModel.load(str(dense), AWQConfig(bits=4, group_size=32), device="cpu")
    # without backend= its kernel choice is CUDA's GEMM ("AWQ: CUDA is not available")
    model.quantize(cal, batch_size=1, backend=BACKEND.AWQ_TORCH)
    model.save(str(out))
    build_s = time.perf_counter() - t0
    size = sum(p.stat().st_size for p in out.rglob("*") if p.is_file())
    print(f"AWQ 4-bit g32 of smollm2: built and saved in {build_s:.0f} s, {size / 1e6:.1f} MB "
          f"({facts.get('samples')} calibration samples of {facts.get('tokens_each')} tokens; {os.cpu_count()} cores)")
    ref = probe_logits(load_hf(dense), ids)
    hf = probe_logits(load_hf(out), ids)
    print(f"reload with transformers: top-1 {follows(ref, hf)[0]:.2f}, in top-10 {follows(ref, hf)[1]:.2f}"
          f" on {ids.shape[1]} probe tokens")
    for backend in (BACKEND.AWQ_TORCH, BACKEND.AWQ_TORCH_ATEN):
        got = probe_logits(GPTQModel.load(str(out), device="cpu", backend=backend).model, ids)
        print(f"reload with GPTQModel {backend.value}: top-1 {follows(ref, got)[0]:.2f}, in top-10 "
              f"{follows(ref, got)[1]:.2f}; logits differ from transformers' by at most {float((got - hf).abs().max()):.4g}")
    if a.out is None:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
