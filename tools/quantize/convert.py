"""Any source to an unquantized F16 GGUF, cached.

- GGUF source (the bundled models): gguf-py dequantizes its tensors to F16 and
  the metadata is copied byte for byte (``tools.quantize.gguf_f16``).
- HF folder: llama.cpp's converter writes the F16 GGUF.
- ``dense_dir`` gives the dense HF folder of a source (transformers
  dequantizes a GGUF) for backends that need one; such a folder remembers the
  GGUF it came from, so both roads share one F16 cache entry.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from lqmf.tools.config import cache_dir, threads
from lqmf.tools.errors import InvalidModel, UnsupportedArchitecture, from_backend
from lqmf.tools.fsutil import atomic_output, ensure_free_space, exclusive, file_sha256
from lqmf.tools.llamacpp.sdist import find_converter, supported_architectures
from lqmf.tools.models import ModelSource, inspect
from lqmf.tools.progress import FileGrowth, Progress, noop


def _digest_cache() -> Path:
    return cache_dir() / "digests.json"


def cached_sha256(path: Path) -> str:
    """sha256 of a file, remembered by (path, size, mtime)."""
    st = path.stat()
    key = f"{path.resolve()}|{st.st_size}|{st.st_mtime_ns}"
    db_path = _digest_cache()
    try:
        db = json.loads(db_path.read_text())
    except (OSError, json.JSONDecodeError):
        db = {}
    if key not in db:
        db[key] = file_sha256(path)
        with atomic_output(db_path, replace_file=True) as tmp:
            tmp.write_text(json.dumps(db))
    return db[key]


DENSE_ORIGIN = "lqmf-dense-origin.json"


def dense_origin(folder: Path) -> dict | None:
    """For a dense folder made by ``dense_dir``: the GGUF it came from."""
    try:
        data = json.loads((folder / DENSE_ORIGIN).read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) and data.get("gguf_sha256") else None


def fingerprint(source: ModelSource) -> str:
    """A short key for a source's content: file hash for a GGUF (also for a dense
    folder made from one), or the hash of config.json plus every weight file's
    (name, size, mtime) for a folder."""
    if source.is_gguf:
        return cached_sha256(source.path)[:16]
    origin = dense_origin(source.path)
    if origin:
        return str(origin["gguf_sha256"])[:16]
    h = hashlib.sha256((source.path / "config.json").read_bytes())
    for f in sorted(source.path.iterdir()):
        if f.is_file() and f.suffix in (".safetensors", ".bin"):
            st = f.stat()
            h.update(f"{f.name}|{st.st_size}|{st.st_mtime_ns}".encode())
    return h.hexdigest()[:16]


def dense_dir(source: ModelSource, progress: Progress = noop) -> Path:
    """The dense HF folder of a source (dequantized and cached for a GGUF)."""
    if not source.is_gguf:
        return source.path
    final = cache_dir() / "dense" / f"{source.name}-{fingerprint(source)}"
    if (final / "config.json").is_file():
        return final
    info = inspect(source)
    with exclusive(final):
        if (final / "config.json").is_file():  # another run made it while we waited
            return final
        ensure_free_space(final.parent, info.n_params * 4, "dequantizing to a dense model")
        progress("dequantize", None)
        with atomic_output(final) as tmp:
            _dequantize(source.path, tmp)
            (tmp / DENSE_ORIGIN).write_text(json.dumps({
                "gguf": str(source.path), "gguf_sha256": cached_sha256(source.path), "name": source.name}))
        progress("dequantize", 1.0)
    return final


def _dequantize(gguf: Path, out: Path) -> None:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    try:
        from transformers import AutoModelForCausalLM, AutoTokenizer
        model = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name)
        tok = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
    except (ValueError, KeyError, RuntimeError, OSError) as e:
        raise from_backend(e, "transformers could not dequantize the GGUF") from None
    # save a plain dense model: the loaded weights are already float
    model.hf_quantizer = None  # type: ignore[assignment]  # transformers types it as a module, None means none
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    model.save_pretrained(out, safe_serialization=True)
    tok.save_pretrained(out)


def _check_architecture(hf_dir: Path, conv: Path) -> str:
    from lqmf.tools.models import read_config

    archs = read_config(hf_dir).get("architectures") or []
    if not archs:
        raise InvalidModel(f"{hf_dir / 'config.json'} names no architecture",
                           "add an \"architectures\" entry or re-save the model with transformers")
    supported = supported_architectures(conv)
    if supported and archs[0] not in supported:
        raise UnsupportedArchitecture(f"llama.cpp's converter does not support the architecture {archs[0]}",
                                      "choose a model of a supported family (llama, qwen2, mistral, gemma, phi3 ...)")
    tokenizer_files = ("tokenizer.json", "tokenizer.model", "vocab.json", "vocab.txt", "spiece.model")
    if not any((hf_dir / f).is_file() for f in tokenizer_files) and not list(hf_dir.glob("*.tiktoken")):
        raise InvalidModel(f"the folder {hf_dir} has no tokenizer (tokenizer.json, tokenizer.model or vocab.json)",
                           "copy the tokenizer files of the model into that folder, or re-save it with "
                           "tokenizer.save_pretrained()")
    return archs[0]


def f16_path(source: ModelSource) -> Path:
    """Where the F16 GGUF of a source is cached (named by content, so the GGUF
    and a dense folder made from it share one entry)."""
    origin = None if source.is_gguf else dense_origin(source.path)
    name = str(origin["name"]) if origin else source.name
    return cache_dir() / "f16" / f"{name}-{fingerprint(source)}.F16.gguf"


def f16_gguf(source: ModelSource, progress: Progress = noop) -> Path:
    """The cached F16 GGUF of a source; converted on first use."""
    final = f16_path(source)
    if final.is_file():
        return final
    if source.is_gguf:
        from lqmf.tools.quantize.gguf_f16 import write_f16

        info = inspect(source)
        with exclusive(final):
            if final.is_file():
                return final
            ensure_free_space(final.parent, info.n_params * 2 + (64 << 20), "writing the F16 GGUF")
            with atomic_output(final) as tmp:
                write_f16(source.path, tmp, progress)
        return final
    conv = find_converter()
    _check_architecture(source.path, conv)
    info = inspect(source)
    expected = info.n_params * 2 + (8 << 20)
    with exclusive(final):
        if final.is_file():
            return final
        ensure_free_space(final.parent, expected, "converting to F16 GGUF")
        with atomic_output(final) as tmp:
            _convert(conv, source.path, tmp, expected, progress, trust=source.trusted)
    return final


def _convert(conv: Path, hf: Path, out: Path, expected: int, progress: Progress,
             trust: bool = False) -> None:
    from lqmf.tools.safety import converter_command, require_safe

    require_safe(hf, trust)  # names the file that would run; --trust-remote-code allows it
    env = dict(os.environ, PYTHONPATH=str(conv / "gguf-py"), HF_HUB_OFFLINE="1",
               OMP_NUM_THREADS=str(threads()))
    env.pop("NO_LOCAL_GGUF", None)
    cmd = converter_command(conv / "convert_hf_to_gguf.py", trust) + [
        str(hf), "--outtype", "f16", "--outfile", str(out)]
    with tempfile.TemporaryFile("w+") as logf, FileGrowth(out, expected, "convert", progress):
        from lqmf.tools.proc import die_with_parent

        proc = subprocess.Popen(cmd, stdout=logf, stderr=subprocess.STDOUT, env=env, cwd=conv,
                                preexec_fn=die_with_parent)  # a killed lqmf takes the converter along
        try:
            rc = proc.wait()
        except BaseException:
            proc.kill()
            proc.wait()
            raise
        logf.seek(0)
        text = logf.read()
    if rc != 0:
        from lqmf.tools.proc import child_error

        raise child_error("llama.cpp's converter", rc, text)
    progress("convert", 1.0)


def clear_cache(kind: str = "all") -> None:
    for sub in (["dense", "f16", "baseline"] if kind == "all" else [kind]):
        shutil.rmtree(cache_dir() / sub, ignore_errors=True)
