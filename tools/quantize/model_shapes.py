"""The shapes a backend's compatibility check and size estimate need, read
from a model's header (a GGUF's tensor table, or a folder's config.json and
safetensors headers) without loading any weight: its architecture, the
parameters of the token embeddings and of a separate output head (the ones
transformers-side quantizers leave dense), and the input width of every
matrix (a block size must divide them)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from lqmf.tools.models import ModelSource

# tensor names of the token embeddings and the output head, in GGUF and in HF checkpoints
EMBED = ("token_embd.weight", "model.embed_tokens.weight", "embed_tokens.weight", "transformer.wte.weight")
HEAD = ("output.weight", "lm_head.weight")


@dataclass(frozen=True)
class Shapes:
    architecture: str              # GGUF general.architecture, or the HF config's model_type ("llama")
    embed_params: int              # token embeddings
    head_params: int               # a separate (untied) output head; 0 when it shares the embeddings
    in_features: frozenset[int]    # input width of every other 2-D weight

    @property
    def dense_params(self) -> int:
        return self.embed_params + self.head_params


def read_shapes(source: ModelSource) -> Shapes:
    """The shapes of ``source`` (one sentence, from the readers, when its header is broken)."""
    from lqmf.tools.formats import read_gguf

    if source.is_gguf:
        g = read_gguf(source.path)
        # ggml lists a matrix's dimensions input first
        tensors = {name: tuple(reversed(shape)) for name, (shape, _) in g.tensors.items()}
        arch = g.architecture
    else:
        from lqmf.tools.models import read_config, read_safetensors

        cfg = read_config(source.path)
        arch = str(cfg.get("model_type") or (cfg.get("architectures") or ["unknown"])[0])
        tensors = {}
        for w in sorted(source.path.glob("*.safetensors")):
            tensors.update({name: tuple(shape) for name, (shape, _) in read_safetensors(w).tensors.items()})
    return shapes_of(arch, tensors)


def shapes_of(architecture: str, tensors: dict[str, tuple[int, ...]]) -> Shapes:
    """``tensors``: name -> shape in (out, in) order."""
    def params(names: tuple[str, ...]) -> int:
        for n in names:
            if n in tensors:
                size = 1
                for d in tensors[n]:
                    size *= d
                return size
        return 0

    widths = frozenset(s[-1] for n, s in tensors.items() if len(s) == 2 and n not in EMBED + HEAD)
    return Shapes(architecture, params(EMBED), params(HEAD), widths)
