"""Quantize: check quant types, make quantized copies now, or queue them."""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from lqmf.tools.errors import InvalidInput, LqmfError
from lqmf.copilot.app.audit import audited

if TYPE_CHECKING:
    from lqmf.copilot.app.context import App


@dataclass
class Quantized:
    artifact: str
    quant_type: str
    method: str
    size_bytes: int
    duration_s: float
    record_id: str
    recipe: dict | None = None          # imatrix / per-tensor overrides, as recorded
    gate: str | None = None             # the quality gate it was benchmarked against
    gate_failed: str | None = None      # set: rejected (marked in the store, never picked)
    bench: dict | None = None           # the gate's benchmark record

    def to_dict(self) -> dict:
        out = {"artifact": self.artifact, "quant_type": self.quant_type, "method": self.method,
               "size_bytes": self.size_bytes, "duration_s": round(self.duration_s, 3),
               "record_id": self.record_id}
        if self.recipe:
            out["recipe"] = self.recipe
        if self.gate:
            out |= {"gate": self.gate, "rejected": bool(self.gate_failed), "gate_failed": self.gate_failed,
                    "kld_mean": (self.bench or {}).get("kld_mean"),
                    "ppl_delta_pct": (self.bench or {}).get("ppl_delta_pct")}
        return out


def recipe_of(imatrix: str | None = None, tensor_types: list[str] | None = None, *,
              group_size: int | None = None, desc_act: bool | None = None,
              calibration: str | None = None) -> dict[str, str]:
    """--imatrix TEXT and --tensor-type NAME=TYPE flags (GGUF), --group-size N, --desc-act
    and --calibration TEXT (GPTQ) -> a recipe (checked; tools/quantize/recipe.py)."""
    from lqmf.tools.quantize.recipe import normalize

    recipe: dict[str, str] = {}
    if imatrix:
        recipe["imatrix"] = imatrix
    if group_size is not None:
        recipe["group_size"] = str(group_size)
    if desc_act is not None:
        recipe["desc_act"] = "true" if desc_act else "false"
    if calibration is not None:
        if not calibration.strip():
            raise InvalidInput("--calibration is empty", "name a text (chat, code, math, creative) or a .txt file")
        recipe["calibration"] = calibration
    for item in split(tensor_types):
        name, eq, ty = item.partition("=")
        if not eq or not name.strip() or not ty.strip():
            raise InvalidInput(f"cannot read --tensor-type {item!r}", "write NAME=TYPE, e.g. --tensor-type output=q8_0")
        recipe[f"tensor:{name.strip()}"] = ty.strip()
    return normalize(recipe)


def from_template(name: str) -> tuple[str, str | None, dict[str, str], str | None]:
    """(quant type, method, recipe, gate) of a saved template."""
    from lqmf.tools.templates import load_template

    t = load_template(name)
    recipe = recipe_of(t.imatrix, [f"{k}={v}" for k, v in t.overrides.items()])
    return t.quant_type, t.method, recipe, t.gate


def split(values: list[str] | None) -> list[str]:
    """"Q4_K_M,Q8_0" and repeated flags -> one list."""
    return [t.strip() for v in values or [] for t in v.split(",") if t.strip()]


def require_types(values: list[str]) -> list[str]:
    """At least one type named (``--type ,,`` is not "no type")."""
    from lqmf.tools.quantize.types import quant_types

    types = split(values)
    if not types:
        raise InvalidInput("--type is empty", "name at least one, e.g. " + ", ".join(t.value for t in quant_types()[1:5]))
    return types


def check_types(types: list[str], method: str | None = None) -> None:
    """Reject a bad type (or a type the method cannot make) before any work starts."""
    from lqmf.tools.quantize import resolve_type

    for t in types:
        resolve_type(t, method)


def problem_with_type(qt: str, method: str | None) -> str | None:
    """None if the type is usable (with that method), else one sentence."""
    from lqmf.tools.quantize.registry import current
    from lqmf.tools.quantize.types import parse_method, parse_quant_type

    try:
        t = parse_quant_type(qt)
        owner = current().method_of(t)
        if method and owner is not parse_method(method):
            return f"{t.value} is a {owner.value} type, not {method}; drop the method or pick another type."
    except LqmfError as e:
        return str(e)
    return None


def problem_with_recipe(recipe: dict[str, str], qt: str, method: str | None) -> str | None:
    """None if the recipe (GPTQ's options, an importance matrix) fits the type, else one sentence
    (the check a queued job gets at submission, made before the chat's plan is confirmed)."""
    from lqmf.tools.quantize import recipe as recipes
    from lqmf.tools.quantize import resolve_type
    from lqmf.tools.quantize.registry import current

    try:
        t, m = resolve_type(qt, method)
        recipes.checked(recipe, t.value, m.value, rtn=(current().spec(t).code or "").endswith("+rtn"))
    except LqmfError as e:
        return str(e)
    return None


def implied_method(recipe: dict[str, str]) -> str | None:
    """The method a recipe's options belong to when the user named none ("with group size 64": GPTQ)."""
    from lqmf.tools.quantize.recipe import is_gptq_key
    from lqmf.tools.quantize.types import QuantMethod

    return QuantMethod.GPTQ.value if any(is_gptq_key(k) for k in recipe) else None


def canonical_type(text: str) -> str | None:
    """The quant type a word names ("q4_k_m" -> "Q4_K_M"), or None."""
    from lqmf.tools.quantize.types import parse_quant_type

    try:
        return parse_quant_type(text).value
    except LqmfError:
        return None


def estimated_gb(model: str, qt: str) -> float | None:
    """The quantized size of a catalogued model at a type, in GB (None: unknown): the type's
    backend's own estimate (the embeddings kept dense where it keeps them)."""
    from lqmf.tools.catalog import from_entry
    from lqmf.tools.models import catalog_entry
    from lqmf.tools.quantize.registry import current

    entry = catalog_entry(model)
    reg = current()
    if not entry or not reg.has(qt):
        return None
    try:
        facts = from_entry(entry)
    except (KeyError, TypeError, ValueError):
        return None
    return reg.backend_of(qt).expected_bytes(facts.n_params, reg.spec(qt), facts.dense_params) / 1e9


def consult(app: "App", model: str, types: list[str], method: str | None = None) -> list[str]:
    """Ask the compatibility oracle (``app.recommend.verdict``) before any work: one
    sentence (the project's error) when it will not work; else its cautions."""
    from lqmf.copilot.app.recommend import verdict
    from lqmf.tools.quantize import resolve_type

    cautions: list[str] = []
    for t in types:
        v = verdict(app, model, resolve_type(t, method)[0].value, method)
        err = v.error()
        if err is not None:
            raise err
        cautions += [c for c in v.cautions if c not in cautions]
    return cautions


@audited("quantize.now")
def quantize(app: "App", model: str, types: list[str], *, method: str | None = None, out_dir: str | None = None,
             force: bool = False, trust_remote_code: bool = False, progress_for=None,
             recipe: dict | None = None, gate: str | None = None, chunks: int | None = None) -> list[Quantized]:
    """Make one quantized copy per type now. ``progress_for()``: a context manager
    giving a progress callback per type (the CLI's bar), or None. ``recipe``: an
    imatrix and per-tensor overrides (``recipe_of``). ``gate``: benchmark each
    artifact against it (``chunks`` windows); one that fails is marked rejected."""
    import contextlib

    from lqmf.copilot.app.gates import parse
    from lqmf.tools.quantize import quantize as engine

    check_types(types, method)
    g = parse(gate)                     # a malformed gate: one sentence before any work
    consult(app, model, types, method)
    results = []
    for t in types:
        with (progress_for() if progress_for else contextlib.nullcontext(None)) as progress:
            r = engine(model, t, method=method, out_dir=out_dir, progress=progress, force=force,
                       trust_remote_code=trust_remote_code, recipe=recipe or None)
        q = Quantized(str(r.artifact), r.quant_type, r.method, r.size_bytes, r.duration_s, r.record.id,
                      dict(r.record.recipe) or None)
        if g is not None:
            from lqmf.tools.benchmark import benchmark

            with (progress_for() if progress_for else contextlib.nullcontext(None)) as progress:
                b = benchmark(str(r.artifact), chunks=chunks, speed=g.needs_speed(), gate=g, progress=progress).record
            q.gate, q.gate_failed, q.bench = b.gate, b.gate_failed, b.to_dict()
        results.append(q)
    return results


@audited("quantize.queue")
def queue(app: "App", model: str, types: list[str], *, method: str | None = None, out_dir: str | None = None,
          trust_remote_code: bool = False, priority: str | None = None, not_before: str | None = None,
          recipe: dict | None = None, gate: str | None = None, chunks: int | None = None) -> list[str]:
    """Queue one quantize job per type; returns the job ids. ``recipe`` and ``gate``
    (a saved name or an expression) travel in each job's spec, as ``quantize`` takes them."""
    from lqmf.copilot.app import jobs
    from lqmf.copilot.app.gates import parse

    check_types(types, method)
    g = parse(gate)                     # a malformed gate: one sentence before anything is queued
    consult(app, model, types, method)
    jobs.check_not_before(not_before)
    extra = {"recipe": dict(recipe) if recipe else None, "gate": g.text if g else None,
             "chunks": chunks if g else None}
    return jobs.submit(app, "quantize", [{k: v for k, v in {"model": model, "quant_type": t, "method": method,
                                                            "out_dir": out_dir,
                                                            "trust_remote_code": trust_remote_code or None,
                                                            **extra}.items() if v is not None} for t in types],
                       priority=priority, not_before=not_before)


@audited("quantize.submit")
def submit_one(app: "App", model: str, quant_type: str, *, method: str | None = None,
               priority: str | None = None, recipe: dict[str, str] | None = None) -> str:
    """The chat's quantize: one job, at once (after the oracle's verdict). ``recipe``:
    GPTQ's options or an importance matrix, as ``recipe_of`` gives them (checked at submission)."""
    from lqmf.copilot.app import jobs

    consult(app, model, [quant_type], method)
    args: dict[str, Any] = {"model": model, "quant_type": quant_type, "method": method, "recipe": recipe}
    return jobs.submit(app, "quantize", [{k: v for k, v in args.items() if v}], priority=priority)[0]
