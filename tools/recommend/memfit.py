"""Memory a model needs to run: weights + KV cache + compute buffers +
runtime overhead, for one (model, quant type, context, device). Checked
against the peak RSS our benchmarks measure by ``evals/recommend/memory_fit.py``.

llama.cpp (CPU) constants were measured on the bundled models (see that eval):
the engine process before a model is loaded, the vocabulary's in-memory
tables, and the graph's compute buffer at the default micro-batch of 512.
The KV cache is F16, padded to 256 cells, and full size for sliding-window
layers (llama.cpp's default ``swa_full``)."""
from __future__ import annotations

from dataclasses import asdict, dataclass

from lqmf.tools.catalog import ModelFacts
from lqmf.tools.quantize.types import BenchEngine, QuantSpec
from lqmf.tools.recommend.devices import Kind

MIB = 1 << 20
GB = 1e9
UBATCH = 512
KV_PAD = 256
# llama.cpp on the CPU, measured (evals/recommend/memory_fit.py --fit prints them again)
LLAMA_PROCESS = 42.5 * MIB        # the engine process with llama.cpp loaded, before the model
LLAMA_PER_TOKEN_VOCAB = 90        # bytes per vocabulary entry (token text, scores, maps)
LLAMA_GRAPH_FIXED = 15 * MIB      # graph metadata and per-thread work buffers
# Types ggml's CPU backend repacks into its own buffer at load (interleaved rows for the
# AVX2/AVX-512 kernels): the mapped file pages and the repacked copy are both resident at
# the peak. Share of the weights held twice, measured on smollm2 Q4_0 (evals/recommend/memory_fit.py).
CPU_REPACKED = {"Q4_0": 0.6, "IQ4_NL": 0.6}
# On a GPU: the CUDA context and cuBLAS workspace (llama.cpp's own CUDA buffers are counted apart)
CUDA_CONTEXT = 350 * MIB
# transformers (bitsandbytes, GPTQ folders): torch and the library, before the model
TORCH_PROCESS_CPU = 450 * MIB
TORCH_PROCESS_GPU = 900 * MIB


@dataclass(frozen=True)
class MemoryEstimate:
    """Bytes each part takes; ``total`` is what must fit (VRAM on a GPU, RAM on a CPU)."""

    weights: int
    kv_cache: int
    compute: int
    overhead: int
    ctx: int
    device: str
    engine: str

    @property
    def total(self) -> int:
        return self.weights + self.kv_cache + self.compute + self.overhead

    @property
    def total_gb(self) -> float:
        return self.total / GB

    def to_dict(self) -> dict:
        return asdict(self) | {"total": self.total}


def weight_bytes(facts: ModelFacts, spec: QuantSpec, engine: BenchEngine) -> int:
    """Weights as the runtime holds them: llama.cpp quantizes every tensor at about the
    type's bits per weight; transformers holds what the backend stored (its artifact's
    expected size, ``Backend.expected_bytes``: embeddings and an untied head kept dense)."""
    if engine is BenchEngine.TRANSFORMERS:
        from lqmf.tools.quantize.registry import current

        return current().backend_of(spec.name).expected_bytes(facts.n_params, spec, facts.dense_params)
    return int(facts.n_params * spec.bpw / 8)


def kv_bytes(facts: ModelFacts, ctx: int) -> int:
    cells = -(-ctx // KV_PAD) * KV_PAD
    return int(cells * facts.kv_bytes_per_token(2.0))


def compute_bytes(facts: ModelFacts, ctx: int, engine: BenchEngine) -> int:
    """The largest set of live activations in one micro-batch (FFN, attention inputs,
    the attention mask), plus the graph's fixed part."""
    cells = -(-ctx // KV_PAD) * KV_PAD
    act = UBATCH * (facts.hidden * 32 + facts.intermediate * 12) + cells * UBATCH * 2
    if engine is BenchEngine.TRANSFORMERS:  # eager attention: scores for one layer at a time, F32
        return int(act + facts.heads * UBATCH * cells * 4 // 8)
    return int(act + LLAMA_GRAPH_FIXED)


def estimate(facts: ModelFacts, spec: QuantSpec, ctx: int, device: Kind = Kind.CPU,
             engine: BenchEngine | None = None, weights: int | None = None) -> MemoryEstimate:
    """Memory for running ``facts`` quantized to ``spec`` with a ``ctx``-token cache on ``device``.
    ``weights``: the artifact's measured size when it exists (the file llama.cpp maps)."""
    engine = engine or BenchEngine.LLAMA_CPP
    w: float = weights if weights is not None else weight_bytes(facts, spec, engine)
    if engine is BenchEngine.LLAMA_CPP and device is Kind.CPU:
        w = int(w * (1 + CPU_REPACKED.get(spec.name, 0.0)))
    overhead: float
    if engine is BenchEngine.TRANSFORMERS:
        overhead = TORCH_PROCESS_GPU if device is Kind.GPU else TORCH_PROCESS_CPU
    else:
        overhead = int(facts.vocab * LLAMA_PER_TOKEN_VOCAB) + (CUDA_CONTEXT if device is Kind.GPU else LLAMA_PROCESS)
    return MemoryEstimate(int(w), kv_bytes(facts, ctx), compute_bytes(facts, ctx, engine), int(overhead), ctx,
                          device.value, engine.value)


def max_context(facts: ModelFacts, spec: QuantSpec, budget_bytes: float, device: Kind = Kind.CPU,
                engine: BenchEngine | None = None) -> int:
    """The longest context (a multiple of 256, at most the model's) that fits ``budget_bytes``; 0 if none."""
    lo, hi = 0, max(KV_PAD, facts.context) // KV_PAD
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if estimate(facts, spec, mid * KV_PAD, device, engine).total <= budget_bytes:
            lo = mid
        else:
            hi = mid - 1
    return lo * KV_PAD
