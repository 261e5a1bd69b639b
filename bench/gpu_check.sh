#!/usr/bin/env bash
# The CUDA paths of the transformers-side backends, in one short run (< 5 minutes of device
# time), for a machine with an NVIDIA GPU, a CUDA build of torch, bitsandbytes and gptqmodel:
#   - bitsandbytes NF4 and INT8 quantized on the GPU from the dense copy of the bundled model;
#   - the GPTQ 4-bit folder lqmf built on CPU, loaded on the GPU (GPTQModel picks a CUDA kernel);
# each against the dense model on the same device: max-abs logit difference, top-1 agreement on
# a probe, load time, generation tok/s, peak VRAM. Prints one table; exit 1 when a path fails.
#
#   bench/gpu_check.sh DENSE_DIR GPTQ_DIR      (defaults: the data dir's dense smollm2 and
#                                                artifacts/smollm2/smollm2.GPTQ_4BIT)
# Nothing is downloaded: both folders must already be there (build them on CPU first with
# `lqmf quantize smollm2 --method gptq --bits 4`, which also makes the dense copy).
# Not run in this project's CI: its machines have no GPU.
set -euo pipefail
PY=${PY:-.venv/bin/python}
HOME_DIR=${LQMF_HOME:-$HOME/.local/share/lqmf}
DENSE=${1:-$(ls -d "$HOME_DIR"/cache/dense/smollm2-* 2>/dev/null | head -1)}
GPTQ=${2:-$HOME_DIR/artifacts/smollm2/smollm2.GPTQ_4BIT}
command -v nvidia-smi >/dev/null || { echo "gpu_check: no nvidia-smi here, so no CUDA GPU; nothing to check"; exit 2; }
[ -d "$DENSE" ] || { echo "gpu_check: no dense model at '$DENSE'; run lqmf quantize smollm2 --method bnb --type NF4 first"; exit 2; }
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
export HF_HUB_OFFLINE=1 GPTQMODEL_CPU_WORKERS=${GPTQMODEL_CPU_WORKERS:-2}
timeout 280 "$PY" - "$DENSE" "$GPTQ" <<'EOF'
import sys, time
from pathlib import Path

import torch
from transformers import AutoModelForCausalLM, AutoTokenizer, BitsAndBytesConfig

dense, gptq = Path(sys.argv[1]), Path(sys.argv[2])
if not torch.cuda.is_available():
    sys.exit(f"gpu_check: torch {torch.__version__} sees no CUDA device (a CPU build of torch?)")
dev = "cuda:0"
tok = AutoTokenizer.from_pretrained(dense)
ids = tok("The quick brown fox jumps over the lazy dog. Quantization keeps the model small, "
          "and the benchmark says how much it costs.", return_tensors="pt").input_ids[:, :24].to(dev)


def run(name, load):
    torch.cuda.synchronize(); torch.cuda.reset_peak_memory_stats()
    t0 = time.perf_counter()
    model = load().eval()
    torch.cuda.synchronize(); load_s = time.perf_counter() - t0
    with torch.inference_mode():
        logits = model(ids).logits.float()
        out = model.generate(ids, max_new_tokens=64, min_new_tokens=64, do_sample=False)  # warm-up
        torch.cuda.synchronize(); t0 = time.perf_counter()
        out = model.generate(ids, max_new_tokens=64, min_new_tokens=64, do_sample=False)
        torch.cuda.synchronize(); tg = (out.shape[1] - ids.shape[1]) / (time.perf_counter() - t0)
    kernel = type(model.get_submodule("model.layers.0.self_attn.q_proj")).__name__
    vram = torch.cuda.max_memory_allocated() / 2**20
    del model; torch.cuda.empty_cache()
    return name, logits, load_s, tg, vram, kernel


rows, failed = [], []
base = run("dense fp16", lambda: AutoModelForCausalLM.from_pretrained(dense, dtype=torch.float16, device_map=dev))
rows.append(base)
for name, cfg in (("bnb NF4", BitsAndBytesConfig(load_in_4bit=True, bnb_4bit_quant_type="nf4",
                                                 bnb_4bit_compute_dtype=torch.float16)),
                  ("bnb INT8", BitsAndBytesConfig(load_in_8bit=True))):
    try:
        rows.append(run(name, lambda cfg=cfg: AutoModelForCausalLM.from_pretrained(
            dense, quantization_config=cfg, dtype=torch.float16, device_map=dev)))
    except Exception as e:  # noqa: BLE001 - a check script: report and go on
        failed.append(f"{name}: {type(e).__name__}: {e}")
if gptq.is_dir():
    try:
        rows.append(run("GPTQ 4-bit (transformers)", lambda: AutoModelForCausalLM.from_pretrained(
            gptq, dtype=torch.float16, device_map=dev)))
        from gptqmodel import GPTQModel
        rows.append(run("GPTQ 4-bit (GPTQModel)", lambda: GPTQModel.load(str(gptq), device=dev).model))
    except Exception as e:  # noqa: BLE001
        failed.append(f"GPTQ: {type(e).__name__}: {e}")
else:
    failed.append(f"GPTQ: no folder at {gptq}")

ref = base[1]
print(f"{'path':28} {'kernel':24} {'max|dlogit|':>11} {'top1 %':>7} {'load s':>7} {'tg t/s':>7} {'VRAM MB':>8}")
for name, logits, load_s, tg, vram, kernel in rows:
    diff = (logits - ref).abs().max().item()
    top1 = 100 * (logits.argmax(-1) == ref.argmax(-1)).float().mean().item()
    print(f"{name:28} {kernel[:24]:24} {diff:11.4f} {top1:7.1f} {load_s:7.2f} {tg:7.1f} {vram:8.0f}")
    if not torch.isfinite(logits).all() or top1 < 50:
        failed.append(f"{name}: logits do not follow the dense model (top-1 {top1:.0f} %)")
for f in failed:
    print("FAILED", f)
sys.exit(1 if failed else 0)
EOF
