"""The REST API: one route per application-layer capability. Long work
(quantize, benchmark, sweep) only queues jobs; nothing heavy runs in a request.
Reads need a token with ``read``, runs ``run``, tokens/webhooks/audit ``admin``
(``app.tokens.GRANTS``); without tokens configured the loopback user is admin."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.encoders import jsonable_encoder
from fastapi.responses import FileResponse, JSONResponse, Response, StreamingResponse

from lqmf.copilot.app import audit
from lqmf.copilot.app.tokens import Permission
from lqmf.copilot.server import schemas as S
from lqmf.copilot.server.security import Identity, identify, refuse
from lqmf.tools.errors import InvalidInput

router = APIRouter(prefix="/api")


def need(perm: Permission):
    # async: a plain def would be run in the thread pool, one more hand-over per request for
    # what is a stat() of the token file and at most one SHA-256
    async def check(request: Request) -> Identity:
        st = request.app.state.lqmf
        ident = identify(st.tokens, request.headers, request.cookies)
        refuse(ident, perm)
        return ident
    return check


READ, RUN, ADMIN = (Depends(need(p)) for p in (Permission.READ, Permission.RUN, Permission.ADMIN))


def _app(request: Request) -> Any:
    return request.app.state.lqmf.app


def _default(o: Any) -> Any:
    if isinstance(o, Path):
        return str(o)
    return jsonable_encoder(o)


def _json(obj: Any, status: int = 200) -> Response:
    """JSON of plain data, dataclasses and enums (orjson when installed: a 1,000-record read is
    several times faster than jsonable_encoder; NaN becomes null either way)."""
    try:
        import orjson
    except ImportError:
        return JSONResponse(jsonable_encoder(obj), status_code=status)
    return Response(orjson.dumps(obj, default=_default, option=orjson.OPT_NON_STR_KEYS), status_code=status,
                    media_type="application/json")


@router.get("/health", summary="liveness (no token needed)")
def health() -> dict:
    return {"ok": True}


@router.get("/whoami")
def whoami(ident: Identity = READ) -> dict:
    return {"name": ident.name, "role": ident.role.value}


# --- models -----------------------------------------------------------------------------------
@router.get("/models", summary="the catalogue, bundled models, sources and artifacts on disk")
def models(request: Request, ident: Identity = READ) -> Response:
    from lqmf.copilot.app import models as m

    return _json({"catalog": m.catalog(), "inventory": m.inventory(_app(request))})


# --- long work: queued -----------------------------------------------------------------------
@router.post("/quantize", status_code=202, summary="queue one quantize job per type")
def quantize(body: S.QuantizeIn, request: Request, ident: Identity = RUN) -> Response:
    from lqmf.copilot.app import quantize as q

    with audit.acting(ident.name, "api"):
        ids = q.queue(_app(request), body.model, body.types, method=body.method, priority=body.priority,
                      not_before=body.not_before)
    return _json({"jobs": ids}, 202)


@router.post("/benchmark", status_code=202, summary="queue one benchmark job per type (or one of the target as it is)")
def benchmark(body: S.BenchmarkIn, request: Request, ident: Identity = RUN) -> Response:
    from lqmf.copilot.app import benchmark as b

    with audit.acting(ident.name, "api"):
        ids = b.queue(_app(request), body.target, body.types, chunks=body.chunks, ctx=body.ctx,
                      priority=body.priority, not_before=body.not_before)
    return _json({"jobs": ids}, 202)


@router.post("/sweep", status_code=202, summary="queue quantize+benchmark for every model x method x type")
def sweep(body: S.SweepIn, request: Request, ident: Identity = RUN) -> Response:
    from lqmf.copilot.app import sweep as sw

    with audit.acting(ident.name, "api"):
        batch = sw.sweep(_app(request), body.models, body.types, body.methods, chunks=body.chunks,
                         priority=body.priority, not_before=body.not_before)
    return _json({"batch": batch}, 202)


@router.get("/sweep/{batch}", summary="a sweep's strategies and the best by a criterion")
def sweep_summary(batch: str, request: Request, criterion: str = "best_quality", max_kld: float | None = None,
                  ident: Identity = READ) -> Response:
    from lqmf.copilot.app import sweep as sw

    return _json(sw.summary(_app(request), batch, criterion, max_kld=max_kld))


@router.post("/tune", status_code=202, summary="adaptive search for the smallest or fastest artifact that passes a gate")
def tune(body: S.TuneIn, request: Request, ident: Identity = RUN) -> Response:
    from lqmf.copilot.app import tune as t

    with audit.acting(ident.name, "api"):
        jid = t.queue(_app(request), body.model, body.gate, goal=body.goal, use=body.use, chunks=body.chunks,
                      candidates=body.candidates, mixed=body.mixed, priority=body.priority,
                      not_before=body.not_before)
    return _json({"jobs": [jid]}, 202)


# --- jobs -------------------------------------------------------------------------------------
@router.get("/jobs", summary="jobs, newest first")
def jobs_list(request: Request, state: list[str] | None = Query(default=None),
              limit: int = Query(default=50, ge=1, le=5000), ident: Identity = READ) -> Response:
    from lqmf.copilot.app import jobs as j
    from lqmf.copilot.app.types import Status

    bad = [s for s in state or [] if s not in set(Status)]
    if bad:
        raise InvalidInput(f"there is no job state {bad[0]!r}", "use " + ", ".join(s.value for s in Status))
    return _json([v.to_dict() for v in j.list_jobs(_app(request), state, limit=limit, newest_first=True)])


@router.post("/jobs", status_code=202, summary="submit one job")
def jobs_submit(body: S.JobIn, request: Request, ident: Identity = RUN) -> Response:
    from lqmf.copilot.app import benchmark as b
    from lqmf.copilot.app import quantize as q

    app = _app(request)
    with audit.acting(ident.name, "api"):
        if body.kind == "quantize":
            if not body.model or not body.quant_type:
                raise InvalidInput("a quantize job needs model and quant_type", "e.g. {\"kind\": \"quantize\", "
                                   "\"model\": \"smollm2\", \"quant_type\": \"Q4_K_M\"}")
            ids = q.queue(app, body.model, [body.quant_type], method=body.method, priority=body.priority)
        else:
            target = body.target or body.model
            if not target:
                raise InvalidInput("a benchmark job needs target (a model or an artifact)",
                                   "e.g. {\"kind\": \"benchmark\", \"target\": \"smollm2\", \"quant_type\": \"Q8_0\"}")
            ids = b.queue(app, target, [body.quant_type] if body.quant_type else [], chunks=body.chunks,
                          priority=body.priority)
    return _json({"job": ids[0], "jobs": ids}, 202)


@router.get("/jobs/{job_id}")
def jobs_show(job_id: str, request: Request, ident: Identity = READ) -> Response:
    from lqmf.copilot.app import jobs as j

    return _json(j.show(_app(request), job_id).to_dict())


@router.post("/jobs/{job_id}/cancel")
def jobs_cancel(job_id: str, request: Request, ident: Identity = RUN) -> Response:
    from lqmf.copilot.app import jobs as j

    with audit.acting(ident.name, "api"):
        return _json(j.cancel(_app(request), job_id).to_dict())


@router.post("/jobs/{job_id}/retry")
def jobs_retry(job_id: str, request: Request, ident: Identity = RUN) -> Response:
    from lqmf.copilot.app import jobs as j

    with audit.acting(ident.name, "api"):
        return _json(j.retry(_app(request), job_id).to_dict())


@router.get("/jobs/{job_id}/gate", summary="a quality gate on a finished job's result (for CI)")
def jobs_gate(job_id: str, request: Request, gate: str | None = Query(default=None, max_length=500),
              max_kld: float | None = None, max_ppl_delta_pct: float | None = None,
              max_size_gb: float | None = None, ident: Identity = READ) -> Response:
    """``gate``: an expression (``kld<0.05,size<1GB``) or a saved gate's name; the
    ``max_*`` limits add to it. ``passed`` is false when the job did not succeed or
    its benchmark fails a condition; a rejection also goes to the webhooks that
    asked for ``gate.rejected``."""
    from lqmf.copilot.app import gate as gates

    res = gates.check(_app(request), job_id, gate=gate, max_kld=max_kld, max_ppl_delta_pct=max_ppl_delta_pct,
                      max_size_gb=max_size_gb)
    if not res.passed:
        from lqmf.copilot.app.webhooks import Event

        request.app.state.lqmf.dispatcher.fire(Event.GATE_REJECTED, jsonable_encoder(res))
    return _json(res)


# --- the store --------------------------------------------------------------------------------
@router.get("/records", summary="experiment records, newest first")
def records(request: Request, limit: int = Query(default=100, ge=1, le=100000), offset: int = Query(default=0, ge=0),
            ident: Identity = READ) -> Response:
    from lqmf.copilot.app import query

    rows = sorted(query.records(_app(request)), key=lambda r: -r.created_at)[offset: offset + limit]
    return _json([r.to_dict() for r in rows])


@router.get("/records/{record_id}", summary="one record, with the records of the same artifact (its lineage)")
def record(record_id: str, request: Request, ident: Identity = READ) -> Response:
    from lqmf.copilot.app import lineage

    return _json(lineage.of(_app(request), record_id))


@router.post("/query", summary="a question over past experiments (like `lqmf query`)")
def query_run(body: S.QueryIn, request: Request, ident: Identity = READ) -> Response:
    from lqmf.copilot.app import query

    flags = {k: v for k, v in {"model": body.model, "quant_type": body.quant_type, "method": body.method,
                               "like": body.like, "limit": body.limit}.items() if v is not None}
    q, _ = query.build(body.text, flags)
    res = query.run(_app(request), q)
    return _json({"records": [r.to_dict() for r in res.records], "message": res.message() or None})


@router.post("/compare", summary="runs side by side (ids, artifact paths or model:QTYPE)")
def compare(body: S.CompareIn, request: Request, ident: Identity = READ) -> Response:
    from lqmf.copilot.app import compare as c

    return _json(c.compare_targets(_app(request), body.targets).to_dict())


@router.get("/export", summary="every record as CSV or JSON")
def export(request: Request, format: str = "csv", ident: Identity = READ) -> Response:
    import io

    from lqmf.copilot.app import export as ex
    from lqmf.copilot.app import query

    if format == "json":
        return _json([r.to_dict() for r in sorted(query.records(_app(request)), key=lambda r: r.created_at)])
    if format != "csv":
        raise InvalidInput(f"there is no export format {format!r} here", "use format=csv or format=json")
    buf = io.StringIO()
    ex.export(_app(request), "csv", "-", stream=buf)
    return Response(buf.getvalue(), media_type="text/csv",
                    headers={"Content-Disposition": "attachment; filename=lqmf-runs.csv"})


@router.post("/export/mlflow", summary="log every run to an MLflow tracking store (admin)")
def export_mlflow(body: S.MlflowIn, request: Request, ident: Identity = ADMIN) -> Response:
    from lqmf.copilot.app import mlflow_export

    with audit.acting(ident.name, "api"):
        return _json(mlflow_export.export(_app(request), body.uri, experiment=body.experiment))


@router.get("/artifacts/{name:path}", summary="download an artifact (a path inside the data dir's artifacts/)")
def artifact(name: str, ident: Identity = READ) -> FileResponse:
    from lqmf.copilot.app import lineage

    path: Path = lineage.artifact_file(name)
    return FileResponse(path, filename=path.name, media_type="application/octet-stream")


# --- knowledge --------------------------------------------------------------------------------
@router.get("/explain", summary="an explanation from the bundled docs")
def explain(request: Request, topic: str | None = Query(default=None, max_length=200),
            question: str | None = Query(default=None, max_length=2000), ident: Identity = READ) -> dict:
    from lqmf.copilot.app import explain as ex

    if not topic and not question:
        return {"text": ex.help_text()}
    return {"text": ex.explain(_app(request), topic, question)}


@router.get("/recommend", summary="a model and quant type for a need")
def recommend(request: Request, task: str = Query(default="chat", max_length=50),
              vram_gb: float | None = Query(default=None, gt=0, le=4096),
              ram_gb: float | None = Query(default=None, gt=0, le=4096),
              device: str | None = Query(default=None, max_length=100),
              max_size_gb: float | None = Query(default=None, gt=0, le=4096),
              min_tok_s: float | None = Query(default=None, gt=0, le=100000),
              ctx: int | None = Query(default=None, ge=1, le=10_000_000),
              model: str | None = Query(default=None, max_length=500),
              method: str | None = Query(default=None, max_length=32), ident: Identity = READ) -> Response:
    """Ranked (model, quant type, method) with predicted size, memory, speed and quality loss,
    as `lqmf recommend --json` gives them (a read: nothing is remembered for feedback)."""
    from lqmf.copilot.app import recommend as rec

    advice = rec.recommend(_app(request), task, vram_gb=vram_gb, ram_gb=ram_gb, device=device,
                           max_size_gb=max_size_gb, min_tok_s=min_tok_s, ctx=ctx, model=model, method=method,
                           remember=False)
    return _json(advice.to_dict())


@router.get("/doctor", summary="this machine, the llama.cpp build, the libraries (check=true also runs the self-check)")
def doctor(request: Request, check: bool = False, ident: Identity = READ) -> Response:
    from lqmf.copilot.app import doctor as d

    report = d.doctor(_app(request), check=check)
    return _json({**report.to_dict(), "advice": d.advice(report)})


# --- chat -------------------------------------------------------------------------------------
@router.post("/chat", summary="one turn of a conversation (the same graph as `lqmf chat`)")
def chat(body: S.ChatIn, request: Request, ident: Identity = RUN) -> Response:
    st = request.app.state.lqmf
    session = st.session(body.conversation_id)
    with audit.acting(ident.name, "chat"):
        turn = session.send(body.text)
    return _json({"conversation_id": session.thread_id, "blocks": turn.blocks, "question": turn.question,
                  "latency_s": round(turn.latency_s, 3)})


# --- team -------------------------------------------------------------------------------------
@router.get("/audit", summary="the audit log, newest last (read only: no route writes it)")
def audit_log(limit: int = Query(default=200, ge=1, le=100000), ident: Identity = ADMIN) -> Response:
    return _json({"entries": audit.entries(limit), "problems": audit.verify()})


@router.get("/webhooks")
def webhooks_list(ident: Identity = ADMIN) -> Response:
    from lqmf.copilot.app import webhooks

    return _json([h.public() for h in webhooks.load()])


@router.post("/webhooks", status_code=201, summary="register a URL for events (the secret is shown once)")
def webhooks_add(body: S.WebhookIn, ident: Identity = ADMIN) -> Response:
    from lqmf.copilot.app import webhooks

    with audit.acting(ident.name, "api"):
        hook = webhooks.add(body.url, body.events, body.secret)
    return _json({**hook.public(), "secret": hook.secret}, 201)


@router.delete("/webhooks/{hook_id}")
def webhooks_remove(hook_id: str, ident: Identity = ADMIN) -> Response:
    from lqmf.copilot.app import webhooks

    with audit.acting(ident.name, "api"):
        webhooks.remove(hook_id)
    return _json({"removed": hook_id})


@router.get("/webhooks/deliveries", summary="the delivery log, newest last")
def webhooks_deliveries(limit: int = Query(default=200, ge=1, le=10000), ident: Identity = ADMIN) -> Response:
    from lqmf.copilot.app import webhooks

    return _json(webhooks.deliveries(limit))


@router.get("/resources", summary="CPU, RSS and (on NVIDIA GPUs) GPU samples of jobs while they ran")
def resources(since: float | None = None, job: str | None = None, ident: Identity = READ) -> Response:
    from lqmf.copilot.app.resources import samples

    return _json([s for s in samples(since) if job is None or s.job == job])


# --- live events ------------------------------------------------------------------------------
@router.get("/events", summary="server-sent events: job progress and state, new records, resource samples")
async def events(request: Request, ident: Identity = READ) -> StreamingResponse:
    import json

    from sse_starlette.sse import EventSourceResponse

    hub = request.app.state.lqmf.hub
    last = request.headers.get("last-event-id") or request.query_params.get("after")
    try:
        after = int(last) if last else None
    except ValueError:
        raise InvalidInput("Last-Event-ID must be a number", "reconnect without it") from None
    q, backlog = hub.subscribe(after)

    async def gen():
        try:
            for ev in backlog:
                yield {"id": str(ev["id"]), "event": ev["type"], "data": json.dumps(ev["data"], default=str)}
            while True:
                ev = await q.get()
                yield {"id": str(ev["id"]), "event": ev["type"], "data": json.dumps(ev["data"], default=str)}
        finally:
            hub.unsubscribe(q)

    return EventSourceResponse(gen(), ping=15)  # type: ignore[return-value]


