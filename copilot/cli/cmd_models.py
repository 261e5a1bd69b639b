"""`lqmf models`: sources and artifacts on disk, with their latest numbers."""
from __future__ import annotations

import argparse


def register(sub) -> None:
    p = sub.add_parser("models", help="list model sources and quantized artifacts on disk")
    p.add_argument("--json", action="store_true", help="print as JSON")
    p.set_defaults(func=run)


def inventory() -> dict:
    """Bundled models, cached dense/F16 sources, and artifacts with their latest benchmark."""
    from lqmf import knowledge
    from lqmf.tools.config import artifacts_dir, cache_dir
    from lqmf.tools.errors import LqmfError
    from lqmf.tools.quantize import read_sidecar
    from lqmf.tools.store.journal import journal

    sources, hints = [], []
    for entry in knowledge.catalog():
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
    latest: dict[str, object] = {}
    for r in journal().all():  # every local run is in the journal
        if r.kind == "benchmark" and r.status == "succeeded" and r.artifact:
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
        artifacts.append({"model": facts.get("source_name"), "quant_type": facts.get("quant_type"),
                          "method": facts.get("method"), "path": str(path), "size_bytes": path.stat().st_size,
                          "ppl": getattr(b, "ppl", None), "kld_mean": getattr(b, "kld_mean", None),
                          "gen_tok_s": getattr(b, "gen_tok_s", None)})
    return {"sources": sources, "artifacts": artifacts, "bundled_not_installed": hints}


def run(args: argparse.Namespace) -> int:
    from rich.table import Table

    from lqmf.copilot.cli.output import console, print_json
    from lqmf.copilot.cli.tables import fmt

    inv = inventory()
    if args.json:
        print_json(inv)
        return 0
    out = console()
    t = Table(title="Sources", title_justify="left")
    for h in ("name", "kind", "size", "path"):
        t.add_column(h)
    for s in inv["sources"]:
        t.add_row(s["name"], s["kind"], fmt(s["size_bytes"], "bytes"), s["path"])
    out.print(t)
    if inv["bundled_not_installed"]:
        out.print("Also bundled, not installed: " + "; ".join(inv["bundled_not_installed"]))
    t = Table(title="Artifacts", title_justify="left")
    for h in ("model", "type", "method", "size", "ppl", "mean KLD", "tg tok/s", "path"):
        t.add_column(h)
    for a in inv["artifacts"]:
        t.add_row(a["model"] or "?", a["quant_type"] or "?", a["method"] or "?", fmt(a["size_bytes"], "bytes"),
                  fmt(a["ppl"], "{:.3f}"), fmt(a["kld_mean"], "{:.4f}"), fmt(a["gen_tok_s"], "{:.1f}"), a["path"])
    if not inv["artifacts"]:
        out.print("No artifacts yet: try `lqmf quantize smollm2 --type Q4_K_M`.")
    else:
        out.print(t)
    return 0
