"""The GPTQModel builder: a dense HF model -> GPTQModel (GPTQ, or round-to-nearest
in the same format) -> a safetensors HF folder, reloaded and checked before it
is kept.

- **Calibration**: ``CALIBRATION`` samples of ``SAMPLE_TOKENS`` tokens from
  the evaluation text's held-out part: the tokens after the benchmark's
  default scored windows (``DEFAULT_CHUNKS`` x ``DEFAULT_CTX``), so a
  default benchmark never scores text the model was calibrated on.
- **Group size**: the first of the backend's declared ``group_sizes`` that
  divides every matrix's input width (GPTQModel's CPU kernel, torch's
  int4pack matmul, refuses the others at the first forward pass).
- **Options** (a recipe's ``GPTQ_KEYS``, tools/quantize/recipe.py): ``group_size``
  (checked against the widths before any work), ``desc_act``, and
  ``calibration``: a text of knowledge/calibration (the same names and paths as
  the importance matrix), cut into ``CALIBRATION`` windows of ``SAMPLE_TOKENS``,
  evenly spaced and overlapping where the text is shorter than that.
- **Reload check**: the saved folder is loaded the two ways users load it,
  through transformers (``from_pretrained``; needs optimum) and through
  ``GPTQModel.load``, both in the dtype of the saved scales (float16): their
  logits on a probe must agree within ``RELOAD_TOLERANCE``, and must still
  follow the dense model's (its next token among the dense model's top 10 on
  at least ``MIN_TOP10`` of the probe tokens), else nothing is kept. (In the
  model's bfloat16 the two loads differ for 2, 3 and 8 bits: GPTQModel's load
  casts the float16 scales to bfloat16 for its TorchLinear kernel, transformers'
  keeps them float16; same kernel, same packed weights, so that is rounding, not
  a bad file. 4-bit's TorchFused kernel loads the same both ways.)
- GPTQModel prints its progress on stdout; while it runs, stdout and stderr
  go to a log file (``--json`` output stays clean) whose last line names a
  failure. Its own per-module logs (``./logs`` of the working folder) go to
  the same temporary folder, removed after the build.
"""
from __future__ import annotations

import os
import shutil
import sys
import time
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lqmf.tools.errors import CorruptFile, ImpossibleJob, LqmfError, from_backend

if TYPE_CHECKING:
    from collections.abc import Iterator

    from lqmf.tools.models import ModelSource
    from lqmf.tools.progress import Progress
    from lqmf.tools.quantize.registry import Backend
    from lqmf.tools.quantize.types import QuantSpec

CALIBRATION = 128       # samples (the GPTQ paper's 128)
SAMPLE_TOKENS = 128     # tokens each: 16,384 in all, inside smollm2's 19,183 held-out tokens
DESC_ACT = False        # activation-order quantization: off (GPTQModel's default; the CPU kernel's fast path)
RELOAD_TOLERANCE = 1e-3
MIN_TOP10 = 0.5
PROBE_TEXT = "The quick brown fox jumps over the lazy dog. Quantization keeps the model small."
PROBE_TOKENS = 16


def calibration_set(tok: Any, samples: int | None = None, length: int | None = None,
                    corpus: str | None = None) -> tuple[list[dict], dict]:
    """``samples`` windows of ``length`` tokens from the held-out part of the evaluation text
    (default: the module's CALIBRATION x SAMPLE_TOKENS, read at call time), or from the
    calibration text ``corpus`` (a use name or a .txt path, knowledge/calibration)."""
    samples, length = samples or CALIBRATION, length or SAMPLE_TOKENS
    if corpus:
        return corpus_set(tok, corpus, samples, length)
    import lqmf.knowledge.evaldata as evaldata
    from lqmf.tools.benchmark.quality import DEFAULT_CHUNKS, DEFAULT_CTX

    ev = evaldata.load()
    ids = tok(ev.text, add_special_tokens=False).input_ids
    start = DEFAULT_CHUNKS * DEFAULT_CTX
    held = ids[start:]
    n = min(samples, len(held) // length)
    if n < 1:
        raise ImpossibleJob(f"the evaluation text has {len(held)} held-out tokens, fewer than one calibration "
                            f"sample of {length}", "use a model whose tokenizer makes more tokens of the text")
    cal = [{"input_ids": held[i * length:(i + 1) * length], "attention_mask": [1] * length} for i in range(n)]
    return cal, {"text": ev.name, "sha256": ev.sha256, "first_token": start,
                 "last_token": start + n * length, "samples": n, "tokens_each": length}


def corpus_set(tok: Any, corpus: str, samples: int, length: int) -> tuple[list[dict], dict]:
    """``samples`` windows of ``length`` tokens spread evenly over a calibration text (they
    overlap where the text has fewer than samples x length tokens)."""
    from lqmf.knowledge.calibration import load

    text = load(corpus)
    ids = tok(text.path.read_text(errors="replace"), add_special_tokens=False).input_ids
    if len(ids) < 2 * length:
        raise ImpossibleJob(f"the calibration text {text.name} has {len(ids)} tokens, fewer than two samples "
                            f"of {length}", "give a longer text, or use chat, code or math")
    stride = max(1, (len(ids) - length) // max(1, samples - 1))
    starts = [min(i * stride, len(ids) - length) for i in range(samples)]
    cal = [{"input_ids": ids[s:s + length], "attention_mask": [1] * length} for s in starts]
    return cal, {"text": text.name, "sha256": text.sha256, "tokens": len(ids), "samples": samples,
                 "tokens_each": length, "stride": stride, "overlapping": stride < length}


def options(recipe: dict[str, str] | None, default_group: int) -> tuple[int, bool, str | None]:
    """(group size, desc_act, calibration text or None) of a recipe's GPTQ parts."""
    recipe = recipe or {}
    group = int(recipe["group_size"]) if recipe.get("group_size") else default_group
    desc_act = recipe["desc_act"] == "true" if recipe.get("desc_act") else DESC_ACT
    return group, desc_act, recipe.get("calibration") or None


def scale_dtype(folder: Path) -> str:
    """The dtype the saved scales are in ("float16" from GPTQModel), read from the safetensors header."""
    from safetensors import safe_open

    names = {"F16": "float16", "BF16": "bfloat16", "F32": "float32"}
    for f in sorted(folder.glob("*.safetensors")):
        with safe_open(str(f), "pt") as st:
            for k in st.keys():
                if k.endswith(".scales"):
                    return names.get(st.get_slice(k).get_dtype(), "float16")
    return "float16"


@contextmanager
def captured(log: Path) -> Iterator[None]:
    """File descriptors 1 and 2 into ``log`` (GPTQModel writes its progress bars there)."""
    sys.stdout.flush()
    sys.stderr.flush()
    saved = [os.dup(1), os.dup(2)]
    with open(log, "ab") as f:
        os.dup2(f.fileno(), 1)
        os.dup2(f.fileno(), 2)
        try:
            yield
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            for fd in saved:
                os.close(fd)


def last_line(log: Path) -> str:
    try:
        lines = [ln.strip() for ln in log.read_text(errors="replace").splitlines() if ln.strip()]
    except OSError:
        return ""
    errors = [ln for ln in lines if "Error" in ln or "error" in ln]
    return (errors or lines or [""])[-1][-300:]


def code_parts(spec: QuantSpec) -> tuple[int, str]:
    """(bits, algorithm) of the spec's code: "BITS" (GPTQ), "BITS+rtn" (round-to-nearest) or "BITS+awq" (AWQ)."""
    bits, _, kind = (spec.code or str(spec.bits)).partition("+")
    return int(bits), kind or "gptq"


def algorithm(spec: QuantSpec) -> str:
    return code_parts(spec)[1]


def top10_share(dense: Any, other: Any) -> float:
    """The share of probe tokens whose next token (by ``other``'s logits) is in the dense model's top 10."""
    import torch

    return float((torch.topk(dense[0], 10).indices == other[0].argmax(-1)[:, None]).any(-1).float().mean())


def recipe(spec: QuantSpec, group: int, desc_act: bool = DESC_ACT) -> tuple[Any, dict]:
    """GPTQModel's quantize config for ``spec``, and the arguments of its ``quantize``.
    AWQ names its kernel: left to choose, GPTQModel picks CUDA's GEMM ("AWQ: CUDA is not
    available"); its torch kernel runs on CPU."""
    bits, kind = code_parts(spec)
    if kind == "awq":
        import torch
        from gptqmodel import BACKEND
        from gptqmodel.quantization.config import AWQConfig

        kernel = BACKEND.AUTO if torch.cuda.is_available() else BACKEND.AWQ_TORCH
        return AWQConfig(bits=bits, group_size=group, offload_to_disk=False), {"backend": kernel}
    from gptqmodel import QuantizeConfig

    kw: dict[str, Any] = {"weight_only": "rtn"} if kind == "rtn" else {}
    return QuantizeConfig(bits=bits, group_size=group, desc_act=desc_act, offload_to_disk=False, **kw), {}


def probe_logits(model: Any, ids: Any) -> Any:
    import torch

    with torch.inference_mode():
        return model(ids).logits.float()


def load_hf(path: Path, dtype: str | None = None) -> Any:
    from transformers import AutoModelForCausalLM

    try:
        model = AutoModelForCausalLM.from_pretrained(path, device_map="cpu", **({"dtype": dtype} if dtype else {}))
    except (ValueError, KeyError, RuntimeError, OSError, ImportError) as e:
        raise from_backend(e, "loading the GPTQ model with transformers") from None
    return model.eval()


def build_gptq(source: ModelSource, spec: QuantSpec, out: Path, progress: Progress, backend: Backend,
               recipe_parts: dict[str, str] | None = None) -> dict:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    # GPTQModel sizes its CPU worker pools from this; unset, it asks for more than 2 cores have
    os.environ.setdefault("GPTQMODEL_CPU_WORKERS", str(max(2, os.cpu_count() or 2)))
    from lqmf.tools.models import inspect
    from lqmf.tools.quantize.convert import cached_sha256, dense_dir, f16_gguf
    from lqmf.tools.quantize.model_shapes import read_shapes
    from lqmf.tools.quantize.ram import check_ram

    need = check_ram(backend, inspect(source).n_params)
    dense = dense_dir(source, progress)
    from lqmf.tools.models import resolve

    shapes = read_shapes(resolve(str(dense)))
    group = backend.group_size(shapes.in_features)
    if group is None:  # quantize() refused it already for the source; the dense copy has the same widths
        why = backend.incompatible(shapes.architecture, shapes.in_features)
        raise ImpossibleJob(f"{backend.method.value} cannot quantize {source.name}: {why}", "pick another method")
    from transformers import AutoTokenizer

    group, desc_act, corpus = options(recipe_parts, group)
    tok = AutoTokenizer.from_pretrained(dense)
    cal, cal_facts = calibration_set(tok, corpus=corpus)
    ids = tok(PROBE_TEXT, return_tensors="pt").input_ids[:, :PROBE_TOKENS]

    # a partial name (tools/fsutil.py): the next run's clean-up removes it if this process is killed
    work = out.parent / f".{out.name.lstrip('.')}.gptq-work.partial-{os.getpid()}"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    log = work / "gptqmodel.log"
    try:
        progress("quantize", None)
        t0 = time.perf_counter()
        try:
            with captured(log):
                import gptqmodel
                import gptqmodel.looper.loop_processor as loop_processor
                from gptqmodel import GPTQModel

                # GPTQModel writes per-module logs into ./logs of whatever folder we run in: ours instead
                loop_processor._PROJECT_LOG_DIR = work / "logs"

                qcfg, how = recipe(spec, group, desc_act)
                model = GPTQModel.load(str(dense), qcfg, device="cpu")
                model.quantize(cal, batch_size=1, **how)
                model.save(str(out))
        except Exception as e:  # noqa: BLE001 - whatever the library raises becomes one sentence (LqmfError passes)
            if isinstance(e, LqmfError):
                raise
            raise from_backend(f"{type(e).__name__}: {e} ({last_line(log)})",
                               f"quantizing to {spec.name} with GPTQModel") from None
        quantize_s = time.perf_counter() - t0
        del model
        progress("quantize", 1.0)

        progress("verify", None)
        import torch

        dtype = scale_dtype(out)
        with captured(log):
            hf = probe_logits(load_hf(out, dtype), ids)
            try:
                ref = probe_logits(GPTQModel.load(str(out), device="cpu", dtype=getattr(torch, dtype)).model, ids)
            except (ValueError, KeyError, RuntimeError, OSError) as e:
                raise from_backend(f"{e} ({last_line(log)})", "loading the saved model with GPTQModel") from None
            dense_logits = probe_logits(load_hf(dense), ids)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    diff = float((hf - ref).abs().max())

    top10 = top10_share(dense_logits, hf)
    if not diff <= RELOAD_TOLERANCE:  # also NaN
        raise CorruptFile(f"the saved {spec.name} model loads differently through transformers and GPTQModel "
                          f"(logits differ by {diff:.4g}, more than {RELOAD_TOLERANCE:g}), so it was not kept",
                          f"report this with your GPTQModel version ({gptqmodel.__version__})")
    if not top10 >= MIN_TOP10:
        raise CorruptFile(f"the saved {spec.name} model no longer follows the model (its next token is in the "
                          f"model's top 10 on {top10:.0%} of the probe, under {MIN_TOP10:.0%}), so it was not kept",
                          "try more bits, or report this with your GPTQModel version")
    progress("verify", 1.0)
    (out / "quant_log.csv").unlink(missing_ok=True)  # GPTQModel's per-module losses: its log, not the model
    f16 = f16_gguf(source, progress)  # the benchmark's baseline: the same F16 the GGUF types are scored against
    from importlib.metadata import version

    return {"f16_path": str(f16), "f16_sha256": cached_sha256(f16), "dense_path": str(dense),
            "gptqmodel": gptqmodel.__version__, "optimum": version("optimum"),
            "gptq_bits": spec.bits, "group_size": group, "desc_act": desc_act,
            "recipe": dict(recipe_parts or {}),
            "algorithm": algorithm(spec), "calibration": None if algorithm(spec) == "rtn" else cal_facts,
            "ram_estimate_bytes": need, "quantize_s": round(quantize_s, 2),
            "reload_check": {"tokens": int(ids.shape[1]), "dtype": dtype, "max_abs_logit_diff": diff, "tolerance": RELOAD_TOLERANCE,
                             "top10_vs_dense": top10, "min_top10": MIN_TOP10}}
