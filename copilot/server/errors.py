"""The project's errors as HTTP answers: the same one sentence the CLI prints,
as ``{"error": {"type", "message", "status"}}``, with a status chosen per error
type (the nearest base class in ``STATUS`` wins)."""
from __future__ import annotations

from typing import Any

import lqmf.tools.errors as E

STATUS: dict[type[E.LqmfError], int] = {
    E.LqmfError: 400,
    E.InvalidInput: 400,
    E.UnknownQuantType: 400,
    E.ModelNotFound: 404,
    E.ModelNotCached: 404,
    E.JobNotFound: 404,
    E.InvalidModel: 422,
    E.UnsupportedArchitecture: 422,
    E.CorruptFile: 422,
    E.UnsafeModel: 403,
    E.ArtifactBusy: 409,
    E.OutputInTheWay: 409,
    E.ImpossibleJob: 409,
    E.NotEnoughDisk: 507,
    E.MissingComponent: 501,
    E.StoreLocked: 503,
    E.StoreUnreachable: 503,
    E.RayUnavailable: 503,
    E.LlmUnavailable: 503,
    E.StoreCorrupt: 500,
    E.JobStoreCorrupt: 500,
    E.DataDirUnusable: 500,
    E.BackendFailed: 500,
    E.Interrupted: 500,
}


def status_of(err: E.LqmfError) -> int:
    for cls in type(err).__mro__:
        if cls in STATUS:
            return STATUS[cls]
    return 400


def body(status: int, message: str, kind: str) -> dict[str, Any]:
    return {"error": {"type": kind, "message": E.escape_controls(message), "status": status}}


def validation_message(errors: list[dict]) -> str:
    """Pydantic's first complaint as one sentence."""
    if not errors:
        return "The request is not valid."
    e = errors[0]
    where = ".".join(str(p) for p in e.get("loc", ()) if p not in ("body", "query", "path"))
    kind = e.get("type", "")
    if kind == "json_invalid":
        return "The request body is not valid JSON: send a JSON object (Content-Type: application/json)."
    if kind == "extra_forbidden":
        return f"The field {where!r} is not allowed here: see /docs for the fields this call takes."
    if kind == "missing":
        return f"The field {where!r} is required: see /docs for this call."
    if kind in ("model_attributes_type", "dict_type") and not where:
        return "The request body must be a JSON object: see /docs for this call."
    msg = str(e.get("msg", "is not valid")).rstrip(".")
    return f"The field {where!r} is not valid ({msg}): see /docs for this call." if where else f"{msg}."
