"""A quantization recipe beyond the type: an importance matrix from a
calibration text, and per-tensor type overrides (mixed quantization).
llama-cpp-python's ``llama_model_quantize`` cannot take an imatrix, so a
recipe runs llama.cpp's own ``llama-quantize``, built from the same sdist with
the same flags (tools/llamacpp/build.py ``tools``).

A recipe is a flat dict of strings, recorded exactly as given (``ExperimentRecord.recipe``):

- ``imatrix``: a calibration text (a use name, knowledge/calibration, or a .txt path);
- ``imatrix_sha256``: the importance matrix file's hash (added when built);
- ``tensor:NAME``: ``--tensor-type NAME=TYPE`` (``output`` and ``token_embd`` map to
  ``--output-tensor-type`` / ``--token-embedding-type``);
- GPTQ's options (``GPTQ_KEYS``, GPTQ types only): ``group_size`` (weights per scale, -1 for one
  per row), ``desc_act`` ("true": quantize columns in order of activation size) and
  ``calibration`` (a calibration text of knowledge/calibration, the same names and paths the
  importance matrix takes; default: the evaluation text's held-out part). Round-to-nearest
  types take ``group_size`` only.

The flags match ``llama-quantize --help`` of llama-cpp-python 0.3.36's vendored llama.cpp.
"""
from __future__ import annotations

import hashlib
import subprocess
from pathlib import Path
from typing import TYPE_CHECKING

from lqmf.tools.errors import BackendFailed, InvalidInput, MissingComponent

if TYPE_CHECKING:
    from lqmf.tools.models import ModelSource
    from lqmf.tools.progress import Progress
    from lqmf.tools.quantize.types import QuantSpec

# ggml type names llama-quantize takes for an override (lower case, as in its --help)
TENSOR_TYPES = ("f32", "f16", "bf16", "q8_0", "q6_k", "q5_k", "q5_0", "q5_1", "q4_k", "q4_0", "q4_1",
                "q3_k", "q2_k", "iq4_xs", "iq4_nl", "iq3_s", "iq3_xxs", "iq2_s", "iq2_xs", "iq2_xxs")
# tensors with their own llama-quantize flag
SPECIAL = {"output": "--output-tensor-type", "token_embd": "--token-embedding-type"}
# types llama-quantize refuses without an importance matrix (llama.cpp: "requires an importance matrix")
NEED_IMATRIX = ("IQ2_XXS", "IQ2_XS", "IQ2_S", "IQ1_S", "IQ1_M")
TOOL = "llama-quantize"
GGUF_KEYS = ("imatrix", "imatrix_sha256")       # and tensor:NAME
GPTQ_KEYS = ("group_size", "desc_act", "calibration")
# the group sizes GPTQModel 7.6's CPU kernels take (TorchLinear's SUPPORTS_GROUP_SIZE; -1: one per row)
GPTQ_GROUP_SIZES = (-1, 16, 32, 64, 128, 256, 512, 1024)
BOOLS = {"true": "true", "1": "true", "yes": "true", "on": "true",
         "false": "false", "0": "false", "no": "false", "off": "false"}


def normalize(recipe: dict | None) -> dict[str, str]:
    """The recipe checked: known keys, known tensor types; {} for none."""
    out: dict[str, str] = {}
    for k, v in (recipe or {}).items():
        if v in (None, ""):
            continue
        k, v = str(k), str(v)
        if k == "imatrix":
            from lqmf.knowledge.calibration import check_name

            out[k] = check_name(v)
        elif k.startswith("tensor:") and len(k) > 7:
            if v.lower() not in TENSOR_TYPES:
                raise InvalidInput(f"{v!r} is not a tensor type llama-quantize takes",
                                   "use one of " + ", ".join(TENSOR_TYPES))
            out[k] = v.lower()
        elif k == "imatrix_sha256":
            out[k] = v
        elif k == "group_size":
            if v.strip().lstrip("-").isdigit() and int(v) in GPTQ_GROUP_SIZES:
                out[k] = str(int(v))
            else:
                raise InvalidInput(f"--group-size {v} is not a group size GPTQModel takes",
                                   "use one of " + ", ".join(map(str, GPTQ_GROUP_SIZES)) + " (-1: one group per row)")
        elif k == "desc_act":
            if v.strip().lower() not in BOOLS:
                raise InvalidInput(f"desc_act {v!r} is neither true nor false", "write desc_act=true or false")
            out[k] = BOOLS[v.strip().lower()]
        elif k == "calibration":
            from lqmf.knowledge.calibration import check_name

            out[k] = check_name(v)
        else:
            raise InvalidInput(f"a recipe has no part {k!r}",
                               "use imatrix=TEXT or tensor:NAME=TYPE (GGUF), or group_size, desc_act, calibration (GPTQ)")
    return out


def is_gptq_key(key: str) -> bool:
    return key in GPTQ_KEYS


def check_method(recipe: dict[str, str], quant_type: str, method: str, rtn: bool = False) -> None:
    """Each part of the recipe belongs to the method of the type: one sentence when it does not."""
    gptq = [k for k in recipe if is_gptq_key(k)]
    gguf = [k for k in recipe if not is_gptq_key(k)]
    if gguf and method != "gguf":
        raise InvalidInput(f"an importance matrix or tensor overrides apply to GGUF types, not {quant_type}",
                           "pick a GGUF type (Q4_K_M, IQ3_M ...) or drop --imatrix/--tensor-type")
    if gptq and method != "gptq":
        raise InvalidInput(f"--group-size, --desc-act and --calibration apply to GPTQ types, not {quant_type}",
                           "pick a GPTQ type (--method gptq --bits 4) or drop those options")
    if rtn and ({"desc_act", "calibration"} & set(recipe)):
        raise InvalidInput(f"{quant_type} is round-to-nearest: it has no calibration and no activation order",
                           f"drop --desc-act/--calibration, or use GPTQ_{quant_type.split('_')[-1]}")


def tag(recipe: dict[str, str]) -> str:
    """A short, stable name part for the artifact ("im-code", "mix-1a2b3c", "im-code-mix-...")."""
    parts = []
    if recipe.get("imatrix"):
        parts.append("im-" + Path(recipe["imatrix"]).stem)
    mix = sorted((k, v) for k, v in recipe.items() if k.startswith("tensor:"))
    if mix:
        parts.append("mix-" + hashlib.sha1(repr(mix).encode()).hexdigest()[:6])
    if recipe.get("group_size"):
        parts.append("g" + recipe["group_size"].replace("-1", "row"))
    if recipe.get("desc_act"):
        parts.append("act" if recipe["desc_act"] == "true" else "noact")
    if recipe.get("calibration"):
        parts.append("cal-" + Path(recipe["calibration"]).stem)
    return "-".join(parts)


def checked(recipe: dict | None, quant_type: str, method: str, rtn: bool = False) -> dict[str, str]:
    """The recipe normalized and checked against its type and that type's method
    (what a run now, a queued job and the chat's plan all check)."""
    wanted = normalize(recipe)
    check(wanted, quant_type)
    check_method(wanted, quant_type, method, rtn=rtn)
    return wanted


def check(recipe: dict[str, str], quant_type: str) -> None:
    if quant_type in NEED_IMATRIX and not recipe.get("imatrix"):
        raise InvalidInput(f"{quant_type} needs an importance matrix",
                           f"add --imatrix chat (or code, math, creative), e.g. --type {quant_type} --imatrix chat")


def tool_path(name: str = TOOL) -> Path:
    """llama.cpp's tool, built once at set-up; MissingComponent when it is not."""
    from lqmf.tools.llamacpp.build import TOOL_TARGETS, build_dir

    path = build_dir() / "tools" / "bin" / name
    if name not in TOOL_TARGETS or not path.is_file():
        raise MissingComponent(f"llama.cpp's {name} is not built for this CPU",
                               "run `python tools/llamacpp/build.py tools` once (about 5-12 minutes)")
    return path


def arguments(recipe: dict[str, str], imatrix_file: Path | None) -> list[str]:
    args: list[str] = []
    if imatrix_file is not None:
        args += ["--imatrix", str(imatrix_file)]
    for k, v in sorted(recipe.items()):
        if not k.startswith("tensor:"):
            continue
        name = k[len("tensor:"):]
        args += [SPECIAL[name], v] if name in SPECIAL else ["--tensor-type", f"{name}={v}"]
    return args


def build(source: "ModelSource", spec: "QuantSpec", out: Path, progress: "Progress", recipe: dict[str, str]) -> dict:
    """The cached F16 GGUF, quantized by llama-quantize with the recipe; lineage facts."""
    from lqmf.tools.config import threads
    from lqmf.tools.progress import FileGrowth
    from lqmf.tools.proc import die_with_parent
    from lqmf.tools.quantize.convert import cached_sha256, f16_gguf

    tool = tool_path()
    f16 = f16_gguf(source, progress)
    imatrix_file = None
    facts_recipe = dict(recipe)
    if recipe.get("imatrix"):
        from lqmf.tools.quantize.imatrix import imatrix

        imatrix_file = imatrix(source, f16, recipe["imatrix"], progress)
        facts_recipe["imatrix_sha256"] = cached_sha256(imatrix_file)
    cmd = [str(tool), *arguments(recipe, imatrix_file), str(f16), str(out), spec.code or spec.name, str(threads())]
    expected = int(f16.stat().st_size * spec.bpw / 16)
    with FileGrowth(out, expected, "quantize", progress):
        proc = subprocess.run(cmd, capture_output=True, text=True, preexec_fn=die_with_parent)
    if proc.returncode != 0 or not out.is_file():
        tail = " ".join((proc.stderr or proc.stdout or "").strip().splitlines()[-2:])[-300:]
        raise BackendFailed(f"llama-quantize could not make {spec.name} ({tail or f'exit {proc.returncode}'})",
                            "check the recipe's tensor types, or quantize without --imatrix/--tensor-type")
    progress("quantize", 1.0)
    return {"f16_path": str(f16), "f16_sha256": cached_sha256(f16), "recipe": facts_recipe,
            "llama_quantize": " ".join(cmd[1:-4]) or "(no flags)"}
