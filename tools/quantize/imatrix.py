"""Importance matrices: llama.cpp's ``llama-imatrix`` over a calibration text
(knowledge/calibration), cached by (the model's F16 hash, the text's hash, the
pass's window and chunk count, the tool's build key). A text too short for two windows is refused before any work."""
from __future__ import annotations

import subprocess
from pathlib import Path
from typing import TYPE_CHECKING

from lqmf.tools.errors import BackendFailed, InvalidInput

if TYPE_CHECKING:
    from lqmf.tools.models import ModelSource
    from lqmf.tools.progress import Progress

CTX = 256          # the imatrix pass's window; llama-imatrix needs at least 2 x CTX tokens
MAX_CHUNKS = 16    # at most this many windows of the text (4,096 tokens)


def needed_tokens(ctx: int = CTX) -> int:
    return 2 * ctx


def count_tokens(source: "ModelSource", text: str) -> int:
    """Tokens of ``text`` in the model's own vocabulary, without loading weights:
    the GGUF source's (or the cached F16's) vocabulary, else the HF tokenizer."""
    from lqmf.tools.quantize.convert import f16_path

    gguf = source.path if source.is_gguf else f16_path(source)
    if gguf.is_file():
        from lqmf.tools.llamacpp.runtime import vocab_tokenize

        return len(vocab_tokenize(gguf, text))
    from transformers import AutoTokenizer  # a local folder; no remote code

    return len(AutoTokenizer.from_pretrained(str(source.path), trust_remote_code=False)(text)["input_ids"])


def check_length(source: "ModelSource", name: str) -> int:
    """The text's token count; InvalidInput (before any work) when it is too short."""
    from lqmf.knowledge.calibration import load

    cal = load(name)
    n = count_tokens(source, cal.path.read_text(encoding="utf-8", errors="replace"))
    need = needed_tokens()
    if n < need:
        raise InvalidInput(f"the calibration text {cal.path.name} has {n} tokens for {source.name}; an importance "
                           f"matrix needs at least {need} ({2} windows of {CTX})",
                           f"give a longer text (about {need * 3 // 4 + 1} words or more)")
    return n


def cache_path(f16: Path, name: str) -> Path:
    from lqmf.knowledge.calibration import load
    from lqmf.tools.config import cache_dir
    from lqmf.tools.llamacpp.build import build_key
    from lqmf.tools.quantize.convert import cached_sha256

    cal = load(name)
    return (cache_dir() / "imatrix" /
            f"{cached_sha256(f16)[:16]}-{cal.name}-{cal.sha256[:12]}-c{CTX}x{MAX_CHUNKS}-{build_key()}.gguf")


def imatrix(source: "ModelSource", f16: Path, name: str, progress: "Progress") -> Path:
    """The cached importance matrix of ``f16`` on the calibration text ``name``; computed on first use."""
    from lqmf.knowledge.calibration import load
    from lqmf.tools.config import threads
    from lqmf.tools.fsutil import atomic_output, exclusive
    from lqmf.tools.proc import die_with_parent
    from lqmf.tools.quantize.recipe import tool_path

    check_length(source, name)
    final = cache_path(f16, name)
    if final.is_file():
        return final
    tool = tool_path("llama-imatrix")
    with exclusive(final):
        if final.is_file():
            return final
        progress("imatrix", None)
        with atomic_output(final) as tmp:
            cmd = [str(tool), "-m", str(f16), "-f", str(load(name).path), "-o", str(tmp), "-c", str(CTX),
                   "--chunks", str(MAX_CHUNKS), "-t", str(threads()), "--no-ppl", "--output-format", "gguf"]
            proc = subprocess.run(cmd, capture_output=True, text=True, preexec_fn=die_with_parent)
            if proc.returncode != 0 or not tmp.is_file():
                tail = " ".join((proc.stderr or "").strip().splitlines()[-2:])[-300:]
                raise BackendFailed(f"llama-imatrix failed on {name} ({tail or f'exit {proc.returncode}'})",
                                    "check the calibration text, or quantize without --imatrix")
        progress("imatrix", 1.0)
    return final
