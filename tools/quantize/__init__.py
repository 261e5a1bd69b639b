"""Quantize a model: ``quantize("smollm2", "Q4_K_M")``.

Resolves the source, picks the quant type's backend (tools/quantize/registry.py),
checks disk, writes the artifact atomically under a lock, and records the run
(succeeded or not). The engines and the store are imported when a run starts:
the parser reads this package's registry and must stay quick to import.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from lqmf.tools.errors import UnknownQuantType
from lqmf.tools.quantize.registry import Registry, current, get_backend
from lqmf.tools.quantize.types import QuantMethod, QuantType

if TYPE_CHECKING:
    from lqmf.tools.models import ModelSource
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
                  registry: Registry | None = None) -> Path:
    from lqmf.tools.config import artifacts_dir

    folder = Path(out_dir).expanduser() if out_dir else artifacts_dir() / source.name
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


def quantize(model: str, quant_type: str, *, method: str | None = None,
             out_dir: str | Path | None = None, progress: Progress | None = None,
             store: RecordStore | None = None, force: bool = False,
             trust_remote_code: bool = False, registry: Registry | None = None) -> QuantizeResult:
    """Make a quantized copy of ``model``; an existing artifact is reused unless ``force``.
    Code from a model folder runs only with ``trust_remote_code`` (tools/safety.py).
    The quant type's backend comes from ``registry`` (default: ``registry.current()``)."""
    from lqmf.tools.fsutil import atomic_output, check_output, ensure_free_space, exclusive, file_sha256
    from lqmf.tools.models import inspect, resolve
    from lqmf.tools.progress import noop
    from lqmf.tools.store.journal import journal
    from lqmf.tools.store.records import ExperimentRecord, RunKind, Status, recorded_run, tool_versions
    from lqmf.tools.safety import require_safe

    progress = progress or noop
    reg = registry or current()
    rec = ExperimentRecord(kind=RunKind.QUANTIZE, status=Status.RUNNING, model=model,
                           quant_type=quant_type, method=method, tool_versions=tool_versions())
    with recorded_run(rec, store or journal(), "quantization"):
        qtype, qmethod = resolve_type(quant_type, method, reg)
        spec = reg.spec(qtype)
        rec.quant_type, rec.method, rec.bits = qtype.value, qmethod.value, spec.bits
        source = resolve(model, trust_remote_code)
        if not source.is_gguf:
            require_safe(source.path, trust_remote_code)  # before any work
        info = inspect(source)
        rec.model_name, rec.family, rec.architecture = source.name, info.family, info.architecture
        rec.n_params, rec.tasks, rec.license = info.n_params, info.tasks, info.license
        rec.source_path = str(source.path)
        backend = get_backend(qtype, reg)
        out = artifact_path(source, qtype, out_dir, reg)
        if force or not (out.exists() and read_sidecar(out)):
            # before the lock file is made: a folder or someone's file there is refused untouched
            # (an artifact without our sidecar is the user's file: only --force replaces it)
            check_output(out, replace_file=force)
            check_output(sidecar_path(out), replace_file=True)
        with exclusive(out):
            if out.exists() and read_sidecar(out) and not force:
                facts = read_sidecar(out) or {}
            else:
                check_output(out, replace_file=force)
                ensure_free_space(out.parent, backend.estimate_bytes(info.n_params, spec),
                                  f"the {qtype.value} artifact")
                assert backend.build is not None  # get_backend checked it
                with atomic_output(out, replace_file=force) as tmp:
                    facts = backend.build(source, spec, tmp, progress)
                    facts.update(source=model, source_name=source.name, quant_type=qtype.value,
                                 method=qmethod.value, artifact_sha256=file_sha256(tmp),
                                 source_sha256=_source_sha(source))
                    with atomic_output(sidecar_path(out), replace_file=True) as side:
                        side.write_text(json.dumps(facts, indent=1))
        rec.artifact = str(out)
        rec.size_bytes = out.stat().st_size if out.is_file() else None
        rec.artifact_sha256 = facts.get("artifact_sha256")
        rec.source_sha256 = facts.get("source_sha256")
    return QuantizeResult(out, qtype.value, qmethod.value, rec.size_bytes or 0, rec.duration_s or 0.0, rec)


def _source_sha(source: ModelSource) -> str | None:
    from lqmf.tools.quantize.convert import cached_sha256

    if source.is_gguf:
        return cached_sha256(source.path)
    return None
