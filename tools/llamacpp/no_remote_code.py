"""Run llama.cpp's HF→GGUF converter with transformers' remote code forced off.

Usage: python no_remote_code.py CONVERTER.py ARGS...

The converter calls ``AutoTokenizer.from_pretrained(..., trust_remote_code=True)``
for several architectures (ChatGLM, GLM, DeepSeek, MiniMax, Hunyuan, Nemotron,
Qwen v1 ...), which would import Python files from the model folder. Before the
converter runs, every ``from_pretrained`` of transformers' Auto classes is
patched to pass ``trust_remote_code=False``, and the loader of dynamic modules
refuses outright. lqmf runs the converter directly (unpatched) only when the
user passed --trust-remote-code. This file is a script: it imports nothing of lqmf.
"""
from __future__ import annotations

import runpy
import sys
from pathlib import Path

AUTO_CLASSES = ("AutoConfig", "AutoTokenizer", "AutoModel", "AutoModelForCausalLM", "AutoProcessor",
                "AutoImageProcessor", "AutoFeatureExtractor", "AutoModelForSeq2SeqLM",
                "AutoModelForVision2Seq", "AutoModelForImageTextToText", "AutoVideoProcessor")
REFUSAL = "lqmf refused to run code from the model folder"


def _refuse(*args, **kwargs):
    raise ValueError(f"{REFUSAL} ({args[0] if args else 'custom code'}); pass --trust-remote-code to allow it")


def patch_transformers() -> list[str]:
    """Force remote code off in transformers; returns what was patched."""
    try:
        import transformers
        from transformers import dynamic_module_utils
    except ImportError:
        return []
    patched = []
    for name in AUTO_CLASSES:
        try:
            cls = getattr(transformers, name, None)
            original = cls.from_pretrained.__func__ if cls is not None else None
        except Exception:  # noqa: BLE001 - an optional dependency (PIL ...) missing: nothing to patch
            continue
        if cls is None or original is None:
            continue

        def safe(klass, *args, _original=original, **kwargs):
            kwargs["trust_remote_code"] = False
            return _original(klass, *args, **kwargs)

        cls.from_pretrained = classmethod(safe)
        patched.append(name)
    # every module that imported the dynamic-module loader by name
    for mod in list(sys.modules.values()):
        if getattr(mod, "__name__", "").startswith("transformers") and \
                hasattr(mod, "get_class_from_dynamic_module"):
            setattr(mod, "get_class_from_dynamic_module", _refuse)
    dynamic_module_utils.get_class_from_dynamic_module = _refuse
    dynamic_module_utils.get_cached_module_file = _refuse
    return patched


def main(argv: list[str]) -> None:
    if not argv:
        sys.exit("usage: no_remote_code.py CONVERTER.py ARGS...")
    converter = Path(argv[0]).resolve()
    patch_transformers()
    sys.path.insert(0, str(converter.parent))
    sys.argv = [str(converter), *argv[1:]]
    runpy.run_path(str(converter), run_name="__main__")


if __name__ == "__main__":
    main(sys.argv[1:])
