"""Predicted size, generation speed and quality loss of (model, quant type) on a
machine, each with the error it has shown on held-out runs of the store.

Bases, best first:
- size: the same model at that type in the store; the ratio measured/prior of the
  same family at that type; the prior (``prior_size``: the catalog's shape at the
  type's bits per weight, embeddings at the output type's);
- speed: runs of the same family, method and type on this machine, scaled by
  size (generation reads every weight once per token); else the bandwidth model
  (``BANDWIDTH_EFFICIENCY`` x the device's bandwidth / bytes read per token);
- KLD and delta-ppl: the same family and type in the store; else llama.cpp's
  published table (knowledge/quant_priors.toml), scaled for the model's size.
"""
from __future__ import annotations

import statistics
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from functools import lru_cache

from lqmf.tools.catalog import ModelFacts
from lqmf.tools.quantize.registry import current
from lqmf.tools.quantize.types import BenchEngine
from lqmf.tools.recommend.devices import Hardware, Kind

# Generation reaches about this share of the memory bandwidth (llama.cpp, batch 1)
BANDWIDTH_EFFICIENCY = {Kind.CPU: 0.5, Kind.GPU: 0.65}
# Decoding through transformers (bitsandbytes, GPTQ folders) is slower than llama.cpp's
# kernels at batch 1, most of all on a CPU
ENGINE_EFFICIENCY = {BenchEngine.LLAMA_CPP: {Kind.CPU: 1.0, Kind.GPU: 1.0},
                     BenchEngine.TRANSFORMERS: {Kind.CPU: 0.25, Kind.GPU: 0.6}}
# The error of a basis before the store has held-out runs to measure it (%)
PRIOR_ERROR = {"size": 20.0, "gen_tok_s": 50.0, "kld": 100.0, "ppl_delta_pct": 100.0}


@dataclass
class Estimate:
    value: float | None
    basis: str                     # where it comes from, in words
    kind: str = "prior"             # "history" (the store's runs) or "prior" (shape, bandwidth, published tables)
    error_pct: float | None = None  # median |error| of this kind of basis on held-out runs, else PRIOR_ERROR
    measured: bool = False          # error_pct is measured on held-out runs (else a stated prior)

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class Prediction:
    size_bytes: Estimate
    gen_tok_s: Estimate
    kld: Estimate
    ppl_delta_pct: Estimate

    def to_dict(self) -> dict:
        return {k: getattr(self, k).to_dict() for k in ("size_bytes", "gen_tok_s", "kld", "ppl_delta_pct")}


@lru_cache(maxsize=1)
def _priors() -> dict:
    from lqmf import knowledge

    return knowledge.load_toml("quant_priors.toml")


def prior_kld(qtype: str, params_b: float) -> float:
    p = _priors()
    spec = current().spec(qtype)
    base = p["kld"].get(spec.name)
    if base is None:
        base = p["by_bits"].get(str(spec.bits), 0.05)
    return float(base) * min(3.0, max(1.0, (8.0 / max(params_b, 0.01)) ** 0.2))


# llama.cpp's k-quants need rows of 256 weights; a tensor whose rows are not a multiple
# of 256 gets a legacy type instead (llama-quant.cpp): bits per weight of that type
K_FALLBACK_BPW = {"Q2_K": 4.5, "Q3_K": 4.5, "Q4_K": 5.5, "Q5_K": 6.0, "Q6_K": 8.5}
OUTPUT_BPW = {8: 8.5}   # the output (and a tied embedding) tensor: Q8_0 at 8 bits and up, else Q6_K
Q6_K_BPW = 6.56


def _bpw(name: str, bpw: float, in_dim: int) -> float:
    fam = name[:4]
    if fam in K_FALLBACK_BPW and in_dim % 256:
        return K_FALLBACK_BPW[fam]
    return bpw


def prior_size(facts: ModelFacts, qtype: str) -> float:
    """Bytes from the shape, tensor by tensor as llama.cpp types them: each matrix at the
    type's bits per weight (or its legacy fallback when its rows are not a multiple of
    256), the output tensor (a tied embedding is one) at Q6_K, or Q8_0 at 8 bits and up."""
    from lqmf.tools.quantize.types import ArtifactFormat

    spec, backend = current().spec(qtype), current().backend_of(qtype)
    if backend.artifact.format is not ArtifactFormat.GGUF:  # a folder: embeddings stay dense
        return backend.estimate_bytes(facts.n_params, spec, facts.dense_params)
    if spec.bits >= 16:
        return facts.n_params * spec.bpw / 8 + backend.size_slack
    h, q = facts.hidden, facts.heads * facts.head_dim
    kv = facts.kv_heads * facts.head_dim
    mats = [(h, h * q), (h, h * kv), (h, h * kv), (q, q * h)]          # q, k, v, o: (row length, weights)
    mats += [(h, h * facts.intermediate)] * (2 if facts.mlp == "gated" else 1) + [(facts.intermediate, facts.intermediate * h)]
    body = facts.layers * sum(n * _bpw(spec.name, spec.bpw, row) for row, n in mats) / 8
    out_type, out_bpw = ("Q8_0", 8.5) if spec.bits >= 8 else ("Q6_K", Q6_K_BPW)
    emb = facts.vocab * h
    out_bytes = emb * _bpw(out_type, out_bpw, h) / 8
    emb_bytes = 0.0 if facts.tied else emb * _bpw(spec.name, spec.bpw, h) / 8
    return body + out_bytes + emb_bytes + backend.size_slack


@dataclass
class History:
    """The store's succeeded runs, indexed for prediction."""

    records: list = field(default_factory=list)
    host: str | None = None
    failures: list = field(default_factory=list)   # failed runs (the oracle reads them)

    @classmethod
    def of(cls, records: Iterable, host: str | None = None) -> "History":
        import socket

        records = list(records)
        keep = [r for r in records if r.status == "succeeded" and r.quant_type]
        failed = [r for r in records if r.status == "failed" and r.quant_type]
        return cls(keep, host or socket.gethostname(), failed)

    def runs(self, *, model: str | None = None, family: str | None = None, qtype: str | None = None,
             metric: str, exclude=None, benchmark: bool = True) -> list:
        out = []
        for r in self.records:
            if r is exclude or getattr(r, metric, None) is None:
                continue
            if benchmark and r.kind != "benchmark":
                continue
            if qtype and r.quant_type != qtype:
                continue
            if model and (r.model_name or r.model) != model:
                continue
            if family and r.family != family:
                continue
            out.append(r)
        return out


def _facts_of(r) -> ModelFacts | None:
    from lqmf.tools.catalog import find

    return find(r.model_name or r.model)


def _median(xs: list[float]) -> float:
    """The median of a non-empty list (callers check that there is a run)."""
    return float(statistics.median(xs))


def size(facts: ModelFacts, qtype: str, h: History, exclude=None) -> Estimate:
    same = h.runs(model=facts.name, qtype=qtype, metric="size_bytes", exclude=exclude, benchmark=False)
    if same:
        return Estimate(float(_median([r.size_bytes for r in same])), f"{len(same)} run(s) of {facts.name} {qtype}",
                        "history")
    fam = [(r, f) for r in h.runs(family=facts.family, qtype=qtype, metric="size_bytes", exclude=exclude, benchmark=False)
           if (f := _facts_of(r)) is not None and (r.model_name or r.model) != facts.name]
    if fam:
        ratio = _median([r.size_bytes / prior_size(f, qtype) for r, f in fam])
        return Estimate(prior_size(facts, qtype) * ratio, f"{facts.family} {qtype} runs ({len(fam)}), scaled",
                        "history")
    return Estimate(prior_size(facts, qtype), "the catalog's shape at the type's bits per weight")


def gen_speed(facts: ModelFacts, qtype: str, hw: Hardware, h: History, size_bytes: float, ctx: int = 4096,
              exclude=None) -> Estimate:
    if hw.source == "this machine":
        here = [r for r in h.runs(family=facts.family, qtype=qtype, metric="gen_tok_s", exclude=exclude)
                if r.host == h.host and r.size_bytes]
        here = here or [r for r in h.runs(family=facts.family, metric="gen_tok_s", exclude=exclude)
                        if r.host == h.host and r.size_bytes and r.method == current().method_of(qtype).value]
        if here:
            k = _median([r.gen_tok_s * r.size_bytes for r in here])
            return Estimate(k / size_bytes, f"{len(here)} run(s) of {facts.family} on this machine, scaled by size",
                            "history")
    from lqmf.tools.recommend.memfit import kv_bytes

    per_token = size_bytes + kv_bytes(facts, ctx) / 2  # the cache is half full on average
    engine = current().backend_of(qtype).bench or BenchEngine.TRANSFORMERS
    eff = BANDWIDTH_EFFICIENCY[hw.kind] * ENGINE_EFFICIENCY[engine][hw.kind]
    return Estimate(hw.bandwidth_gbs * 1e9 * eff / per_token, f"{hw.bandwidth_gbs:g} GB/s memory bandwidth x {eff:g}")


def _prior_quality(facts: ModelFacts, qtype: str, metric: str) -> float:
    # A bundled model's weights already lie on its source grid (DESIGN.md, bundled models):
    # quantizing back to that type loses about what Q8_0 does.
    src = (facts.entry.get("bundled") or {}).get("source_quant")
    k = prior_kld("Q8_0" if src == qtype and current().has("Q8_0") else qtype, facts.params_b)
    return k if metric == "kld_mean" else 100.0 * k


def quality(facts: ModelFacts, qtype: str, h: History, metric: str, exclude=None) -> Estimate:
    """KLD or delta-ppl: the family's runs at this type; else the prior."""
    fam = h.runs(family=facts.family, qtype=qtype, metric=metric, exclude=exclude)
    if fam:
        return Estimate(_median([getattr(r, metric) for r in fam]), f"{len(fam)} {facts.family} {qtype} run(s)", "history")
    # Scaling the prior by the family's runs at other types was tried: on the bundled models it
    # doubled the median error (their grids favour some types), so the prior stands alone.
    return Estimate(_prior_quality(facts, qtype, metric),
                    "llama.cpp's published KLD for the type, scaled for the model's size")


def predict(facts: ModelFacts, qtype: str, hw: Hardware, h: History, ctx: int = 4096, exclude=None,
            errors: dict | None = None) -> Prediction:
    s = size(facts, qtype, h, exclude)
    p = Prediction(s, gen_speed(facts, qtype, hw, h, s.value or 1.0, ctx, exclude),
                   quality(facts, qtype, h, "kld_mean", exclude), quality(facts, qtype, h, "ppl_delta_pct", exclude))
    for name, est in (("size", p.size_bytes), ("gen_tok_s", p.gen_tok_s), ("kld", p.kld),
                      ("ppl_delta_pct", p.ppl_delta_pct)):
        measured = (errors or {}).get(name, {}).get(est.kind)
        est.error_pct, est.measured = (measured, True) if measured is not None else (PRIOR_ERROR[name], False)
    return p


def held_out(h: History, hw: Hardware) -> dict[str, list[dict]]:
    """Leave one benchmark run out, predict it from the rest: one row per (metric, run)."""
    out: dict[str, list[dict]] = {"size": [], "gen_tok_s": [], "kld": [], "ppl_delta_pct": []}
    for r in h.runs(metric="size_bytes"):
        facts = _facts_of(r)
        if facts is None or not current().has(r.quant_type):
            continue
        rest = History([x for x in h.records if not (x.artifact and x.artifact == r.artifact)], h.host)
        p = predict(facts, r.quant_type, hw, rest, ctx=r.ctx or 512)
        for name, est, truth in (("size", p.size_bytes, r.size_bytes), ("gen_tok_s", p.gen_tok_s, r.gen_tok_s),
                                 ("kld", p.kld, r.kld_mean), ("ppl_delta_pct", p.ppl_delta_pct, r.ppl_delta_pct)):
            if truth and est.value is not None and (name != "gen_tok_s" or r.host == h.host):
                out[name].append({"model": facts.name, "quant_type": r.quant_type, "truth": truth,
                                  "predicted": est.value, "basis": est.basis, "kind": est.kind,
                                  "family_runs": len(rest.runs(family=facts.family, metric="size_bytes")),
                                  "error_pct": (est.value / truth - 1) * 100})
    return out


def measured_errors(h: History, hw: Hardware) -> dict[str, dict[str, float]]:
    """Median |error| per metric and kind of basis on held-out runs of this machine
    (``hw``: this machine, where the runs were measured); absent where there is no run."""
    out: dict[str, dict[str, float]] = {}
    for metric, rows in held_out(h, hw).items():
        for kind in ("history", "prior"):
            errs = [abs(x["error_pct"]) for x in rows if x["kind"] == kind]
            if errs:
                out.setdefault(metric, {})[kind] = statistics.median(errs)
    return out
