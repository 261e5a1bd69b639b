"""The proof that adding a quantization backend touches its own module, its
declaration and its tests, and nothing else.

``BF16`` below is a whole backend: a ``Backend`` declaration with one quant
type (BF16 GGUF, llama.cpp's LLAMA_FTYPE_MOSTLY_BF16) whose builder is the
GGUF module's F16 → llama.cpp road. It is registered here, in the test, into
a new registry (``builtin().with_backend``) that is made current with
``registry.use`` only inside the test: no module global is changed or reset.
Everything else (parser vocabulary and slot values, plan tables and size
notes, job validation, the RAM estimate and shared-intermediate key, query
filters, the benchmark's dispatch) must see it with no other file edited.
"""
from __future__ import annotations

import pytest

from lqmf.tools.errors import UnknownQuantType
from lqmf.tools.quantize.backends import gguf
from lqmf.tools.quantize.registry import Backend, builtin, use
from lqmf.tools.quantize.types import BenchEngine, QuantMethod, QuantSpec

BF16 = Backend(
    name="test-bf16", method=QuantMethod.GGUF, requires=gguf.GGUF_NEEDS, artifact=gguf.GGUF_FILE,
    build=gguf.build_from_f16, bench=BenchEngine.LLAMA_CPP, shared=gguf.f16_shared,
    types=(QuantSpec("BF16", 16, 16.0, "bfloat16 weights in a GGUF", code="BF16", words=("bfloat16",)),))


@pytest.fixture
def with_bf16():
    reg = builtin().with_backend(BF16)
    with use(reg):
        yield reg


def test_builtin_registry_does_not_know_bf16():
    """Without the extra backend: "bf16" is read as F16 (an alias F16 declares), and no table has BF16."""
    from lqmf.copilot.parser import parse
    from lqmf.copilot.parser.schema import QUANT_TYPES
    from lqmf.tools.quantize.types import parse_quant_type

    assert parse("quantize smollm2 to bf16", mode="builtin")["slots"]["quant_type"] == "F16"
    assert "BF16" not in QUANT_TYPES
    with pytest.raises(UnknownQuantType):
        parse_quant_type("bfloat16")


def test_parser_and_schema_see_the_new_type(with_bf16):
    from lqmf.copilot.parser import parse
    from lqmf.copilot.parser.schema import json_schema, validate

    got = parse("quantize smollm2 to bf16", mode="builtin")
    assert got["intent"] == "quantize"
    assert got["slots"] == {"model": "smollm2", "quant_type": "BF16", "method": "gguf", "bits": 16}
    assert parse("quantize smollm2 to bfloat16", mode="builtin")["slots"]["quant_type"] == "BF16"  # declared word
    assert parse("quantize smollm2 to fp16", mode="builtin")["slots"]["quant_type"] == "F16"   # F16 keeps its own
    assert validate({"intent": "benchmark", "slots": {"quant_type": "bf16"}})["slots"]["quant_type"] == "BF16"
    enum = json_schema()["properties"]["slots"]["properties"]["quant_type"]["enum"]
    assert "BF16" in enum and "Q4_K_M" in enum


def test_plan_and_ask_see_the_new_type(with_bf16):
    from lqmf.copilot.nodes.plan import check_type, plan_quantize, size_note
    from lqmf.copilot.state import Intent

    update = plan_quantize({"intent": Intent.QUANTIZE, "model": "smollm2", "quant_type": "BF16"}, {})
    (step,) = update["plan"]
    assert step["tool"] == "quantize" and step["args"]["quant_type"] == "BF16"
    assert size_note("smollm2", "BF16") == " (about 270 MB)"    # 135M params x 16 bits per weight
    assert check_type("BF16", "gguf") is None
    assert check_type("BF16", "bnb") == "BF16 is a gguf type, not bnb; drop the method or pick another type."


def test_jobs_memory_estimate_and_query_see_the_new_type(with_bf16):
    from lqmf.tools.store.query import Field, from_slots
    from lqmf.tools.scheduler.jobs import JobKind
    from lqmf.tools.scheduler.kinds import spec_for

    kind = spec_for(JobKind.QUANTIZE)
    args = kind.validate({"model": "smollm2", "quant_type": "bf16"})
    assert args["quant_type"] == "BF16" and args["method"] == "gguf"
    needs = kind.needs(args)
    n_params = 134_515_008  # the bundled SmolLM2-135M
    cold, warm = BF16.requires.ram.bytes(n_params), BF16.requires.ram_warm.bytes(n_params)
    assert needs.raw_ram_bytes in (cold, warm), needs.basis
    assert "M params" in needs.basis
    assert kind.shared_key(args).startswith("f16:") and kind.shared_key(args).endswith(".F16.gguf")
    q = from_slots({"quant_type": "bf16"})
    assert [(f.field, f.value) for f in q.filters] == [(Field.QUANT_TYPE, "BF16")]
    with pytest.raises(UnknownQuantType):
        kind.validate({"model": "smollm2", "quant_type": "bf16", "method": "bnb"})


@pytest.mark.slow
def test_bf16_quantizes_and_benchmarks_through_the_normal_path(use_warm_home, with_bf16):
    """The same ``quantize`` the CLI, the chat's jobs and sweeps call, with the
    registry passed in; then ``benchmark``, which dispatches by the declaration."""
    from lqmf.tools.benchmark import benchmark
    from lqmf.tools.formats import read_gguf
    from lqmf.tools.quantize import quantize, read_sidecar

    res = quantize("smollm2", "bf16", registry=with_bf16)
    assert res.quant_type == "BF16" and res.method == "gguf" and res.record.bits == 16
    assert res.artifact.name == "smollm2.BF16.gguf"
    info = read_gguf(res.artifact)
    types = {t for _, t in info.tensors.values()}
    assert "BF16" in types and not types & {"Q8_0", "Q4_K", "Q6_K"}, types
    assert info.get("general.file_type") == 32   # LLAMA_FTYPE_MOSTLY_BF16
    assert read_sidecar(res.artifact)["quant_type"] == "BF16"
    rec = benchmark(str(res.artifact), chunks=2, speed=False).record
    assert rec.quant_type == "BF16" and rec.bits == 16 and rec.method == "gguf"
    assert rec.kld_mean is not None and 0 <= rec.kld_mean < 0.01   # bf16 of f16 weights: nearly the same model
