"""Models: the catalogue, model references, and what is on disk."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from lqmf.tools.errors import LqmfError
from lqmf.tools.status import Status

if TYPE_CHECKING:
    from lqmf.copilot.app.context import App
    from lqmf.tools.stand_in import StandIn


def catalog() -> list[dict]:
    """The models LQMF knows (knowledge/models)."""
    from lqmf import knowledge

    return list(knowledge.catalog())


def catalog_entry(ref: str) -> dict | None:
    from lqmf.tools.models import catalog_entry as entry

    return entry(ref)


def bundled() -> list[str]:
    """Names of the bundled models that are installed."""
    from lqmf.tools.models import bundled_models

    return list(bundled_models())


def by_size(names: list[str]) -> list[str]:
    """``names`` smallest first, by the catalog's parameter count (unknown ones last)."""
    def params(n: str) -> float:
        e = catalog_entry(n)
        return float(e.get("params_b") or 1e9) if e else 1e9

    return sorted(names, key=params)


def is_reference(ref: str) -> bool:
    """A path, a .gguf file or a hub id ("org/name"): taken as written, never matched to a name."""
    return "/" in ref or "\\" in ref or ref.lower().endswith(".gguf")


def problem_with(ref: str) -> str | None:
    """None if the model reference resolves, else one sentence."""
    return examine(ref)[0]


def examine(ref: str) -> tuple[str | None, bool]:
    """(None if the reference resolves, else one sentence; whether it is a plain name that is no
    model here and none of the catalog's: not a path, file or hub id), from one resolve."""
    from lqmf.tools.errors import ModelNotFound
    from lqmf.tools.models import resolve

    try:
        resolve(ref)
    except ModelNotFound as e:
        return str(e), not (is_reference(ref) or catalog_entry(ref))
    except LqmfError as e:
        return str(e), False
    return None, False


def stand_in(ref: str) -> "StandIn | None":
    """For a known model that is not on this machine: why, and the local model to offer instead
    (tools/stand_in.py); None when it resolves here or names nothing known."""
    from lqmf.tools.stand_in import stand_in as find

    return find(ref)


def inventory(app: "App") -> dict:
    """Bundled models, cached dense/F16 sources, and artifacts with their latest benchmark."""
    from lqmf.tools.config import artifacts_dir, cache_dir
    from lqmf.tools.quantize import read_sidecar
    from lqmf.tools.store.journal import journal
    from lqmf.tools.verdict import standing

    sources, hints = [], []
    for entry in catalog():
        if entry.get("bundled"):
            from lqmf.tools.models import resolve

            try:
                src = resolve(entry["name"])
                sources.append({"name": entry["name"], "kind": "bundled", "path": str(src.path),
                                "size_bytes": src.path.stat().st_size})
            except LqmfError as e:
                hints.append(f"{entry['name']} ({e})")
    for kind in ("dense", "f16"):
        for p in sorted((cache_dir() / kind).glob("*")):
            if p.name.startswith("."):
                continue
            size = p.stat().st_size if p.is_file() else sum(f.stat().st_size for f in p.rglob("*") if f.is_file())
            sources.append({"name": p.name, "kind": f"cache ({kind})", "path": str(p), "size_bytes": size})
    latest: dict[str, Any] = {}
    runs = journal().all()
    for r in runs:  # every local run is in the journal
        if r.kind == "benchmark" and r.status == Status.SUCCEEDED and r.artifact:
            prev = latest.get(r.artifact)
            if prev is None or r.created_at > prev.created_at:
                latest[r.artifact] = r
    artifacts = []
    for side in sorted(artifacts_dir().rglob("*.lqmf.json")):
        path = side.with_name(side.name[: -len(".lqmf.json")])
        facts = read_sidecar(path) or {}
        if not path.exists():
            continue
        b = latest.get(str(path))
        v = standing(path, runs, facts.get("artifact_sha256"))
        artifacts.append({"gate": v.gate if v else None, "rejected": v.failed if v else None,
                          "judged_by": v.record_id if v else None,"model": facts.get("source_name"), "quant_type": facts.get("quant_type"),
                          "method": facts.get("method"), "path": str(path), "size_bytes": path.stat().st_size,
                          "ppl": getattr(b, "ppl", None), "kld_mean": getattr(b, "kld_mean", None),
                          "gen_tok_s": getattr(b, "gen_tok_s", None)})
    return {"sources": sources, "artifacts": artifacts, "bundled_not_installed": hints}


def source_quant_caveat(model_ref: str) -> str | None:
    """The source quant of a bundled model whose "unquantized" weights are quantized already."""
    entry = catalog_entry(model_ref) if model_ref else None
    if entry and entry.get("bundled", {}).get("source_quant"):
        return str(entry["bundled"]["source_quant"])
    return None


def data_dir() -> str:
    from lqmf.tools.config import data_dir as d

    return str(d())
