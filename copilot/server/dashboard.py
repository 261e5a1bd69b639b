"""The dashboard: server-rendered pages (jinja2), live through the API's
server-sent events, with htmx for the matrix's filter and sort and plotly.js
(vendored under static/vendor, no CDN) for the graphs. Every page works at
phone width. Pages need the ``read`` permission; with tokens configured the
browser signs in once (/login puts the token in an HttpOnly, SameSite=Strict
cookie)."""
from __future__ import annotations

import time
from importlib import resources
from typing import Any
from urllib.parse import parse_qs

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from lqmf.copilot.app.tokens import AuthError, Permission, authenticate
from lqmf.copilot.server.security import COOKIE, Identity, identify, refuse

router = APIRouter(include_in_schema=False)
templates = Jinja2Templates(directory=str(resources.files("lqmf.copilot.server") / "templates"))


def _when(t: Any) -> str:
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(t)) if isinstance(t, (int, float)) and t else ""


def _cell(value: Any, field: str) -> str:
    from lqmf.copilot.app.types import Metric, fmt

    if field == "created_at":
        return _when(value)
    if field in set(Metric):
        return fmt(field, value)
    return "" if value is None else str(value)


templates.env.filters.update(when=_when, cell=_cell)
MATRIX_ROWS = 500            # rows rendered at once (the count says how many matched)
COLUMNS = [("model_name", "model"), ("quant_type", "quant"), ("method", "method"), ("kind", "kind"),
           ("status", "status"), ("size_bytes", "size"), ("ppl", "ppl"), ("ppl_delta_pct", "Δppl %"),
           ("kld_mean", "KLD"), ("gen_tok_s", "tg tok/s"), ("created_at", "when")]


def viewer(request: Request) -> Identity:
    ident = identify(request.app.state.lqmf.tokens, request.headers, request.cookies)
    refuse(ident, Permission.READ)
    return ident


READ = Depends(viewer)


def _page(request: Request, name: str, ident: Identity, **ctx: Any) -> HTMLResponse:
    return templates.TemplateResponse(request, name, {"ident": ident, "now": time.time(), **ctx})


def _jobs(request: Request, limit: int = 50) -> list[dict]:
    from lqmf.copilot.app import jobs
    from lqmf.copilot.server.stream import job_event

    return [job_event(v) for v in jobs.list_jobs(request.app.state.lqmf.app, limit=limit, newest_first=True)]


@router.get("/", response_class=HTMLResponse)
def overview(request: Request, ident: Identity = READ) -> HTMLResponse:
    rows = request.app.state.lqmf.records.rows()
    models = sorted({r.get("model_name") or r.get("model") for r in rows})
    return _page(request, "index.html", ident, jobs=_jobs(request), n_records=len(rows), models=models,
                 can_run=ident.can(Permission.RUN))


@router.get("/jobs/{job_id}", response_class=HTMLResponse)
def job_page(job_id: str, request: Request, ident: Identity = READ) -> HTMLResponse:
    from lqmf.copilot.app import jobs
    from lqmf.copilot.app.resources import samples
    from lqmf.copilot.server.stream import job_event

    view = jobs.show(request.app.state.lqmf.app, job_id)
    points = [{"at": e["at"], "progress": e["data"].get("progress")} for e in request.app.state.lqmf.hub.recent("job")
              if e["data"]["id"] == view.id and e["data"].get("progress") is not None]
    res = [s.__dict__ for s in samples() if s.job == view.id]
    return _page(request, "job.html", ident, job=job_event(view), points=points, samples=res,
                 can_run=ident.can(Permission.RUN))


def _text(r: dict, fld: str) -> str:
    return str(r.get(fld) or (r.get("model") if fld == "model_name" else "") or "").lower()


def filtered(rows: list[dict], q: dict[str, str]) -> list[dict]:
    """The matrix's filter (model, quant, method, status substrings; ``kind``) and sort."""
    for key, fld in (("model", "model_name"), ("quant", "quant_type"), ("method", "method"), ("status", "status")):
        want = (q.get(key) or "").strip().lower()
        if want:
            rows = [r for r in rows if want in _text(r, fld)]
    kind = q.get("kind") or ""
    if kind:
        rows = [r for r in rows if r.get("kind") == kind]
    sort = q.get("sort") or "created_at"
    if sort not in {c for c, _ in COLUMNS}:
        sort = "created_at"
    desc = (q.get("order") or ("desc" if sort == "created_at" else "asc")) == "desc"
    present = [r for r in rows if r.get(sort) is not None]
    missing = [r for r in rows if r.get(sort) is None]   # unmeasured figures go last either way
    present.sort(key=lambda r: (r[sort] if not isinstance(r[sort], str) else r[sort].lower()), reverse=desc)
    return present + missing


def _matrix_ctx(request: Request) -> dict:
    q = {k: v for k, v in request.query_params.items()}
    rows = filtered(request.app.state.lqmf.records.rows(), q)
    sort = q.get("sort") or "created_at"
    order = q.get("order") or ("desc" if sort == "created_at" else "asc")
    return {"rows": rows[:MATRIX_ROWS], "matched": len(rows), "q": q, "sort": sort, "order": order, "columns": COLUMNS}


@router.get("/matrix", response_class=HTMLResponse)
def matrix(request: Request, ident: Identity = READ) -> HTMLResponse:
    return _page(request, "matrix.html", ident, **_matrix_ctx(request))


@router.get("/matrix/rows", response_class=HTMLResponse)
def matrix_rows(request: Request, ident: Identity = READ) -> HTMLResponse:
    return _page(request, "matrix_rows.html", ident, **_matrix_ctx(request))


@router.get("/resources", response_class=HTMLResponse)
def resources_page(request: Request, ident: Identity = READ) -> HTMLResponse:
    from lqmf.copilot.app.resources import samples

    return _page(request, "resources.html", ident, samples=[s.__dict__ for s in samples(time.time() - 7 * 86400)])


@router.get("/timeline", response_class=HTMLResponse)
def timeline(request: Request, ident: Identity = READ) -> HTMLResponse:
    rows = request.app.state.lqmf.records.rows()[:5000]
    pts = [{"id": r["id"], "at": r.get("created_at"), "label": f"{r.get('model_name') or r.get('model')} "
            f"{r.get('quant_type') or ''}".strip(), "kind": r.get("kind"), "status": r.get("status")} for r in rows]
    return _page(request, "timeline.html", ident, points=pts, jobs=_jobs(request, 200))


@router.get("/artifact/{record_id}", response_class=HTMLResponse)
def artifact(record_id: str, request: Request, ident: Identity = READ) -> HTMLResponse:
    from lqmf.copilot.app import lineage
    from lqmf.copilot.app.types import METRICS, fmt

    story = lineage.of(request.app.state.lqmf.app, record_id)
    numbers = [(m.label, fmt(m.metric, story["record"].get(m.field))) for m in METRICS.values()
               if story["record"].get(m.field) is not None]
    return _page(request, "artifact.html", ident, story=story, numbers=numbers)


@router.get("/favicon.ico")
def favicon() -> Response:
    return Response(status_code=204)


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request) -> HTMLResponse:
    return templates.TemplateResponse(request, "login.html", {"ident": None, "error": None})


@router.post("/login", response_model=None)
async def login(request: Request) -> Response:
    form = parse_qs((await request.body()).decode("utf-8", "replace"))
    secret = (form.get("token") or [""])[0].strip()
    try:
        authenticate(secret, request.app.state.lqmf.tokens.tokens())
    except AuthError as e:
        return templates.TemplateResponse(request, "login.html", {"ident": None, "error": e.message}, status_code=401)
    resp = RedirectResponse("/", status_code=303)
    resp.set_cookie(COOKIE, secret, httponly=True, samesite="strict", max_age=30 * 86400)
    return resp
