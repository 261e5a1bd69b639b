"""Quantize a model: ``quantize("smollm2", "Q4_K_M")``.

Resolves the source, picks the quant type's backend (tools/quantize/registry.py),
checks disk, writes the artifact atomically under a lock, and records the run
(succeeded or not). The engines and the store are imported when a run starts:
the parser reads this package's registry and must stay quick to import.
"""
from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from lqmf.tools.errors import UnknownQuantType
from lqmf.tools.quantize.registry import Backend, Registry, current, get_backend
from lqmf.tools.quantize.types import QuantMethod, QuantSpec, QuantType

if TYPE_CHECKING:
    from lqmf.tools.models import ModelInfo, ModelSource
    from lqmf.tools.progress import Progress
    from lqmf.tools.store.records import ExperimentRecord, RecordStore

SIDECAR = ".lqmf.json"


@dataclass
class QuantizeResult:
    artifact: Path
    quant_type: str
    method: str
    size_bytes: int
    duration_s: float
    record: ExperimentRecord


def sidecar_path(artifact: Path) -> Path:
    return artifact.with_name(artifact.name + SIDECAR)


def read_sidecar(artifact: Path) -> dict | None:
    try:
        return json.loads(sidecar_path(artifact).read_text())
    except (OSError, json.JSONDecodeError):
        return None


def artifact_path(source: ModelSource, qtype: QuantType, out_dir: str | Path | None = None,
                  registry: Registry | None = None, recipe: dict | None = None) -> Path:
    """``recipe`` (tools/quantize/recipe.py) adds its tag: smollm2.Q4_K_M.im-code.gguf."""
    from lqmf.tools.config import artifacts_dir

    folder = Path(out_dir).expanduser() if out_dir else artifacts_dir() / source.name
    if recipe:
        from lqmf.tools.quantize.recipe import tag

        return folder / (registry or current()).backend_of(qtype).artifact.name(source.name, f"{qtype}.{tag(recipe)}")
    return folder / (registry or current()).backend_of(qtype).artifact.name(source.name, qtype)


def resolve_type(quant_type: str, method: str | None,
                 registry: Registry | None = None) -> tuple[QuantType, QuantMethod]:
    if method is not None and not method.strip():
        from lqmf.tools.errors import InvalidInput
        raise InvalidInput("--method is empty", "name one (gguf, bnb, gptq) or leave --method out")
    reg = registry or current()
    m = reg.parse_method(method) if method else None
    qtype = reg.parse_quant_type(quant_type, m)
    owner = reg.method_of(qtype)
    if m and owner is not m:  # pragma: no cover - parse_quant_type filtered already
        raise UnknownQuantType(f"{qtype.value} is not a {m.value} type")
    return qtype, owner


@dataclass
class Planned:
    """What resolving a request found; every later stage reads it and none goes back to the model ref."""
    model: str                                    # the reference as the user gave it (recorded as is)
    qtype: QuantType
    method: QuantMethod
    spec: QuantSpec
    backend: Backend
    source: ModelSource
    info: ModelInfo
    out: Path
    recipe: dict[str, str]                        # imatrix / per-tensor overrides ({} for none)


def quantize(model: str, quant_type: str, *, method: str | None = None,
             out_dir: str | Path | None = None, progress: Progress | None = None,
             store: RecordStore | None = None, force: bool = False,
             trust_remote_code: bool = False, registry: Registry | None = None,
             recipe: dict | None = None) -> QuantizeResult:
    """Make a quantized copy of ``model``; an existing artifact is reused unless ``force``.
    Code from a model folder runs only with ``trust_remote_code`` (tools/safety.py).
    The quant type's backend comes from ``registry`` (default: ``registry.current()``).

    One pass, in order: resolve (type, backend, source, facts, output path), check
    (safety, the output place, free disk), build (atomically, under a lock), verify
    (the artifact reads back as its backend's format; hashes), record.
    ``recipe``: an importance matrix and per-tensor overrides (tools/quantize/recipe.py),
    made by llama.cpp's llama-quantize; recorded exactly in the record and the sidecar."""
    from lqmf.tools.fsutil import exclusive
    from lqmf.tools.progress import noop
    from lqmf.tools.store.journal import journal
    from lqmf.tools.store.records import ExperimentRecord, RunKind, Status, recorded_run, tool_versions

    rec = ExperimentRecord(kind=RunKind.QUANTIZE, status=Status.RUNNING, model=model,
                           quant_type=quant_type, method=method, tool_versions=tool_versions())
    with recorded_run(rec, store or journal(), "quantization"):
        plan = _resolve(model, quant_type, method, out_dir, trust_remote_code, registry or current(), rec, recipe)
        _check(plan, force, trust_remote_code)
        with exclusive(plan.out):
            facts = _reusable(plan, force) or _build(plan, force, progress or noop)
        _record(plan, facts, rec)
    return QuantizeResult(plan.out, plan.qtype.value, plan.method.value, rec.size_bytes or 0,
                          rec.duration_s or 0.0, rec)


def _resolve(model: str, quant_type: str, method: str | None, out_dir: str | Path | None,
             trust_remote_code: bool, reg: Registry, rec: ExperimentRecord, recipe: dict | None = None) -> Planned:
    from lqmf.tools.models import inspect, resolve
    from lqmf.tools.quantize import recipe as recipes

    qtype, qmethod = resolve_type(quant_type, method, reg)
    spec = reg.spec(qtype)
    wanted = recipes.checked(recipe, qtype.value, qmethod.value, rtn=(spec.code or "").endswith("+rtn"))
    rec.recipe = dict(wanted)
    rec.quant_type, rec.method, rec.bits = qtype.value, qmethod.value, spec.bits
    backend = get_backend(qtype, reg)           # a declared type this version cannot build: refused here
    source = resolve(model, trust_remote_code)
    rec.model_name, rec.source_path = source.name, str(source.path)
    info = inspect(source)
    rec.family, rec.architecture = info.family, info.architecture
    rec.n_params, rec.tasks, rec.license = info.n_params, info.tasks, info.license
    if wanted.get("imatrix"):
        from lqmf.tools.quantize.imatrix import check_length

        check_length(source, wanted["imatrix"])     # a text too short: refused before any work
    return Planned(model, qtype, qmethod, spec, backend, source, info,
                   artifact_path(source, qtype, out_dir, reg, wanted), wanted)


def _check(plan: Planned, force: bool, trust_remote_code: bool) -> None:
    """Before any work and before the lock file is made: code in the model folder, a
    folder or someone's file at the output (refused untouched: an artifact without our
    sidecar is the user's file, only ``force`` replaces it), free disk."""
    from lqmf.tools.fsutil import check_output, ensure_free_space
    from lqmf.tools.safety import require_safe

    if not plan.source.is_gguf:
        require_safe(plan.source.path, trust_remote_code)
    if force or not (plan.out.exists() and read_sidecar(plan.out)):
        shapes = _compatible(plan)
        if not (force and ours(plan.out)):  # a folder is replaced only when lqmf made it (and it is unchanged)
            check_output(plan.out, replace_file=force)
        check_output(sidecar_path(plan.out), replace_file=True)
        ensure_free_space(plan.out.parent, plan.backend.estimate_bytes(plan.info.n_params, plan.spec,
                                                                       shapes.dense_params if shapes else 0),
                          f"the {plan.qtype.value} artifact")
        if plan.backend.requires.in_ram:
            from lqmf.tools.quantize.ram import check_ram

            check_ram(plan.backend, plan.info.n_params)


def _compatible(plan: Planned):
    """The backend's declared compatibility (``Backend.compat``) for this model: one
    sentence when it cannot quantize it; the model's shapes otherwise (None when its
    header has none to read, a case the build then reports)."""
    from lqmf.tools.errors import ImpossibleJob, LqmfError
    from lqmf.tools.quantize.model_shapes import read_shapes

    try:
        shapes = read_shapes(plan.source)
    except (LqmfError, OSError):
        return None
    why = plan.backend.incompatible(shapes.architecture, shapes.in_features)
    if why:
        raise ImpossibleJob(f"{plan.method.value} cannot quantize {plan.source.name}: {why}",
                            "pick another method (lqmf quantize MODEL --type Q4_K_M uses llama.cpp)")
    group = int(plan.recipe.get("group_size") or -1)
    widths = sorted(set(shapes.in_features))
    if group > 0 and any(w % group for w in widths):
        from lqmf.tools.errors import InvalidInput
        fits = [g for g in plan.backend.compat.group_sizes if all(w % g == 0 for w in widths)]
        raise InvalidInput(f"--group-size {group} does not divide every matrix width of {plan.source.name} "
                           f"({', '.join(map(str, widths))})",
                           f"use {' or '.join(map(str, fits)) if fits else '-1'} (or -1: one group per row)")
    return shapes


def _reusable(plan: Planned, force: bool) -> dict | None:
    """The facts of an artifact we made before (under the lock: another process may just have)."""
    if force or not plan.out.exists():
        return None
    return read_sidecar(plan.out)


def _build(plan: Planned, force: bool, progress: Progress) -> dict:
    """Build at a temporary path, verify it, then move it and its sidecar into place."""
    from lqmf.tools.fsutil import atomic_output, check_output

    replacing = force and ours(plan.out)
    if not replacing:
        check_output(plan.out, replace_file=force)  # again under the lock
    assert plan.backend.build is not None       # get_backend checked it
    with _aside(plan.out if replacing else None), atomic_output(plan.out, replace_file=force) as tmp:
        if plan.recipe and plan.method is QuantMethod.GGUF:
            from lqmf.tools.quantize.recipe import build

            facts = build(plan.source, plan.spec, tmp, progress, plan.recipe)
        elif plan.recipe:  # GPTQ's options (recipe.GPTQ_KEYS; check_method let no other through)
            facts = plan.backend.build(plan.source, plan.spec, tmp, progress, plan.recipe)  # type: ignore[call-arg]
        else:
            facts = plan.backend.build(plan.source, plan.spec, tmp, progress)
        facts.update(_verify(plan, tmp))
        with atomic_output(sidecar_path(plan.out), replace_file=True) as side:
            side.write_text(json.dumps(facts, indent=1))
    return facts


def manifest(folder: Path) -> dict[str, int]:
    """A folder artifact's files and their sizes, as its sidecar records them."""
    return {str(f.relative_to(folder)): f.stat().st_size for f in sorted(folder.rglob("*")) if f.is_file()}


def ours(artifact: Path) -> bool:
    """A folder lqmf made and nobody changed since: its sidecar's manifest matches it.
    Only such a folder is replaced by ``force`` (lqmf never replaces anyone else's)."""
    if artifact.is_symlink() or not artifact.is_dir():
        return False
    facts = read_sidecar(artifact) or {}
    try:
        return bool(facts.get("artifact_files")) and facts["artifact_files"] == manifest(artifact)
    except OSError:
        return False


@contextmanager
def _aside(folder: Path | None) -> Iterator[None]:
    """Move our old folder artifact out of the way while its replacement is built:
    removed when the new one is in place, put back when the build fails."""
    if folder is None:
        yield
        return
    import os
    import shutil

    old = folder.with_name(f".{folder.name}.replaced-{os.getpid()}")
    os.replace(folder, old)
    try:
        yield
    except BaseException:
        if not folder.exists():
            os.replace(old, folder)
        raise
    shutil.rmtree(old, ignore_errors=True)


def _verify(plan: Planned, built: Path) -> dict:
    """The built artifact reads back as its backend's format (else CorruptFile, and
    nothing is moved into place); its lineage and hashes for the sidecar."""
    from lqmf.tools.fsutil import file_sha256

    plan.backend.artifact.read(built)
    return {"source": plan.model, "source_name": plan.source.name, "quant_type": plan.qtype.value,
            "method": plan.method.value, "artifact_sha256": file_sha256(built) if built.is_file() else None,
            "artifact_files": manifest(built) if built.is_dir() else None,
            "source_sha256": _source_sha(plan.source)}


def _record(plan: Planned, facts: dict, rec: ExperimentRecord) -> None:
    rec.artifact = str(plan.out)
    rec.size_bytes = _size(plan.out)
    rec.artifact_sha256 = facts.get("artifact_sha256")
    rec.source_sha256 = facts.get("source_sha256")
    if facts.get("recipe"):
        rec.recipe = dict(facts["recipe"])


def _size(artifact: Path) -> int | None:
    """Bytes on disk: the file, or every file in a folder artifact."""
    if artifact.is_file():
        return artifact.stat().st_size
    if artifact.is_dir():
        return sum(f.stat().st_size for f in artifact.rglob("*") if f.is_file())
    return None


def _source_sha(source: ModelSource) -> str | None:
    from lqmf.tools.quantize.convert import cached_sha256

    if source.is_gguf:
        return cached_sha256(source.path)
    return None
