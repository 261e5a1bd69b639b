"""One artifact's story for the dashboard and the API: the record asked for, and
every record about the same artifact or made from the same source (quantize
runs, benchmarks), oldest first; and artifact files served only from inside
the data dir's ``artifacts/`` folder."""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from lqmf.tools.errors import InvalidInput, ModelNotFound

if TYPE_CHECKING:
    from lqmf.copilot.app.context import App


def of(app: "App", record_id: str) -> dict:
    from lqmf.copilot.app.query import records

    recs = [r.to_dict() for r in records(app)]
    me = next((r for r in recs if r["id"] == record_id), None)
    if me is None:
        raise ModelNotFound(f"there is no record {record_id}", "see GET /api/records for the ids")
    art = me.get("artifact")
    related = [r for r in recs if r["id"] != record_id and art and r.get("artifact") == art]
    related.sort(key=lambda r: r.get("created_at") or 0)
    return {"record": me, "related": related,
            "source": {"path": me.get("source_path"), "sha256": me.get("source_sha256")},
            "artifact": {"path": art, "sha256": me.get("artifact_sha256"), "size_bytes": me.get("size_bytes"),
                         "download": download_name(art)}}


def download_name(path: str | None) -> str | None:
    """The artifact's name relative to artifacts/ (what the download route takes), or None."""
    from lqmf.tools.config import artifacts_dir

    if not path:
        return None
    try:
        return str(Path(path).resolve().relative_to(artifacts_dir().resolve()))
    except (ValueError, OSError):
        return None


def artifact_file(name: str) -> Path:
    """The file ``name`` (relative to artifacts/); anything that leaves the folder
    (``..``, an absolute path, a symlink out) is refused before any file is opened."""
    from lqmf.tools.config import artifacts_dir

    root = artifacts_dir().resolve()
    if not name or "\x00" in name or Path(name).is_absolute() or ".." in Path(name).parts:
        raise InvalidInput(f"the artifact path {name[:200]!r} leaves the artifacts folder",
                           "name a file relative to artifacts/, as the records' download links do")
    p = (root / name).resolve()
    if not p.is_relative_to(root):
        raise InvalidInput(f"the artifact path {name[:200]!r} leaves the artifacts folder",
                           "name a file relative to artifacts/")
    if not p.is_file():
        raise ModelNotFound(f"there is no artifact {name[:200]}", "see GET /api/models for what is on disk")
    return p
