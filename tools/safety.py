"""Nothing from a model folder runs without the user's consent.

A Hugging Face folder can carry code: ``*.py`` files, ``auto_map`` entries in
its JSON configs (transformers imports the named module when asked to trust
remote code), and pickle checkpoints (``*.bin``, ``*.pt`` ... whose loading
can run code). ``scan`` lists them; ``require_safe`` refuses a source that
has any, naming the file that would run, unless the user passed
``--trust-remote-code``. llama.cpp's converter itself is run with remote code
forced off (tools/llamacpp/no_remote_code.py) unless the user consented.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from lqmf.tools.errors import UnsafeModel, short_path

FLAG = "--trust-remote-code"
PICKLE_SUFFIXES = (".bin", ".pt", ".pth", ".ckpt", ".pkl", ".pickle")
# JSON files transformers reads an ``auto_map`` from
CODE_CONFIGS = ("config.json", "tokenizer_config.json", "processor_config.json",
                "preprocessor_config.json", "generation_config.json", "feature_extractor_config.json",
                "image_processor_config.json", "video_preprocessor_config.json")


class Risk(StrEnum):
    PYTHON_FILE = "python_file"     # a .py file in the folder
    AUTO_MAP = "auto_map"           # a config names custom code to import
    PICKLE = "pickle"               # weights only as pickle checkpoints


@dataclass(frozen=True)
class Finding:
    risk: Risk
    file: Path          # the file that would run (or be unpickled)
    via: Path | None    # the config that points at it, for AUTO_MAP

    def sentence(self) -> str:
        where = short_path(self.file)
        if self.risk is Risk.PICKLE:
            return (f"{where} is a pickle checkpoint, and loading a pickle can run code hidden in it")
        if self.risk is Risk.AUTO_MAP:
            return (f"{short_path(self.via)} asks to run custom code from {where}")
        return f"the model folder holds Python code ({where}) that transformers could run"


def _auto_map_modules(value) -> list[str]:
    """Module names in an auto_map value: "mod.Class", "repo--mod.Class", lists of those."""
    out: list[str] = []
    if isinstance(value, str):
        ref = value.split("--", 1)[-1]
        if "." in ref:
            out.append(ref.rsplit(".", 1)[0])
    elif isinstance(value, (list, tuple)):
        for v in value:
            out += _auto_map_modules(v)
    elif isinstance(value, dict):
        for v in value.values():
            out += _auto_map_modules(v)
    return out


def _read_json(path: Path):
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return None


def scan(folder: Path) -> list[Finding]:
    """Everything in ``folder`` that would run code when the model is loaded."""
    folder = Path(folder)
    if not folder.is_dir():
        return []
    found: list[Finding] = []
    for name in CODE_CONFIGS:
        cfg = _read_json(folder / name)
        if isinstance(cfg, dict) and cfg.get("auto_map"):
            modules = _auto_map_modules(cfg["auto_map"]) or ["(custom code)"]
            for mod in dict.fromkeys(modules):
                found.append(Finding(Risk.AUTO_MAP, folder / (mod.replace(".", "/") + ".py"), folder / name))
    listed = {f.file for f in found}
    for py in sorted(folder.rglob("*.py")):
        if py not in listed:
            found.append(Finding(Risk.PYTHON_FILE, py, None))
    files = [p for p in folder.iterdir() if p.is_file()]
    if not any(p.suffix == ".safetensors" for p in files):
        for p in sorted(files):
            if p.suffix.lower() in PICKLE_SUFFIXES:
                found.append(Finding(Risk.PICKLE, p, None))
    return found


def require_safe(folder: Path, trusted: bool = False) -> None:
    """Refuse a model folder that would run code, unless the user consented."""
    if trusted:
        return
    findings = scan(folder)
    if not findings:
        return
    first = findings[0]
    if first.risk is Risk.PICKLE:
        raise UnsafeModel(
            first.sentence() + ", so lqmf will not load it",
            "convert it to safetensors first (python -c \"import torch; from safetensors.torch import save_file; "
            f"save_file(torch.load('{first.file.name}', weights_only=True), 'model.safetensors')\" in that folder), "
            f"or pass {FLAG} if you trust where it came from")
    raise UnsafeModel(first.sentence() + ", and lqmf runs no code from a model folder by default",
                      f"read that file, and pass {FLAG} only if you trust it")


def converter_command(converter: Path, trusted: bool = False) -> list[str]:
    """The command line that runs llama.cpp's converter: through our wrapper
    that forces transformers' remote code off, unless the user consented."""
    import sys

    if trusted:
        return [sys.executable, str(converter)]
    wrapper = Path(__file__).resolve().parent / "llamacpp" / "no_remote_code.py"
    return [sys.executable, str(wrapper), str(converter)]
