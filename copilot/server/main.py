"""The FastAPI application and ``run`` (what `lqmf serve` calls)."""
from __future__ import annotations

import contextlib
from importlib import resources
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from lqmf.copilot.app.tokens import AuthError
from lqmf.copilot.server import errors
from lqmf.copilot.server.security import BodyLimit, is_loopback
from lqmf.copilot.server.state import ServerState
from lqmf.tools.errors import InvalidInput, LqmfError

BODY_LIMIT = 1 << 20     # 1 MiB: the largest request body the API accepts


def create_app(app: Any = None, *, body_limit: int = BODY_LIMIT, poll_s: float = 0.5, watch: bool = True) -> FastAPI:
    """The server for ``app`` (``App.default()`` when None). ``watch``: start the queue watcher
    (live events, webhooks, resource samples) with the server."""
    if app is None:
        from lqmf.copilot.app import App

        app = App.default()
    st = ServerState(app, body_limit=body_limit, poll_s=poll_s)

    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI):
        if watch:
            st.watcher.start()
        import threading

        # open the store now (Chroma, the embedder: seconds), not in the first page's request
        threading.Thread(target=_warm, args=(st,), name="lqmf-store-warm-up", daemon=True).start()
        try:
            yield
        finally:
            if watch:
                st.watcher.stop()

    api = FastAPI(title="LQMF Copilot", version="1", lifespan=lifespan,
                  description="Quantize, benchmark and compare local LLMs: the same capabilities as the "
                              "`lqmf` CLI and chat. Long work is queued; follow it with /api/events.")
    api.state.lqmf = st
    _handlers(api)
    from lqmf.copilot.server import api as routes
    from lqmf.copilot.server import dashboard

    api.include_router(routes.router)
    api.include_router(dashboard.router)
    api.mount("/static", StaticFiles(directory=str(resources.files("lqmf.copilot.server") / "static")), name="static")
    api.add_middleware(BodyLimit, limit=body_limit)
    return api


def _warm(st: ServerState) -> None:
    import logging

    try:
        st.records.rows()
    except Exception as e:  # noqa: BLE001 - the first request reports it as one sentence
        logging.getLogger(__name__).warning("the experiment store could not be opened: %s", e)
    # What is loaded by now (Chroma, the embedder, the modules) lives as long as the server:
    # keep it out of the collector's full passes, which otherwise walk it all, 90-350 ms each
    # (measured in bench/serve_bench.py: they were the API's p95; frozen objects are still freed
    # by reference counting when dropped)
    import gc

    gc.collect()
    gc.freeze()


def _handlers(api: FastAPI) -> None:
    @api.exception_handler(LqmfError)
    async def lqmf_error(request: Request, exc: LqmfError) -> JSONResponse:
        status = errors.status_of(exc)
        return JSONResponse(errors.body(status, str(exc), type(exc).__name__), status_code=status)

    @api.exception_handler(AuthError)
    async def auth_error(request: Request, exc: AuthError) -> Any:
        if request.url.path.startswith("/api") or exc.status == 403:
            return JSONResponse(errors.body(exc.status, exc.message, "Unauthorized" if exc.status == 401 else "Forbidden"),
                                status_code=exc.status,
                                headers={"WWW-Authenticate": "Bearer"} if exc.status == 401 else None)
        from fastapi.responses import RedirectResponse

        return RedirectResponse("/login", status_code=303)

    @api.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        errs = list(exc.errors())
        status = 400 if errs and errs[0].get("type") == "json_invalid" else 422
        return JSONResponse(errors.body(status, errors.validation_message(errs), "InvalidInput"), status_code=status)

    @api.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        message = {404: f"There is no {request.url.path} here: see /docs for the routes.",
                   405: f"{request.method} is not allowed on {request.url.path}: see /docs."}.get(
            exc.status_code, str(exc.detail))
        return JSONResponse(errors.body(exc.status_code, message, "HTTPError"), status_code=exc.status_code)


def check_bind(host: str) -> None:
    """No server off loopback unless API tokens exist (anyone on the network could run jobs)."""
    from lqmf.copilot.app.tokens import configured

    if not is_loopback(host) and not configured():
        raise InvalidInput(f"refusing to listen on {host} without API tokens (anyone who can reach it could run jobs)",
                           "add one first with `lqmf token add NAME --role admin`, or serve on 127.0.0.1")


def run(host: str = "127.0.0.1", port: int = 8765, *, app: Any = None, log_level: str = "warning") -> None:
    try:
        import uvicorn
    except ImportError:
        from lqmf.tools.errors import MissingComponent

        raise MissingComponent("`lqmf serve` needs fastapi and uvicorn, which are not installed",
                               "pip install 'lqmf[serve]'") from None
    check_bind(host)
    if not 0 < port < 65536:
        raise InvalidInput(f"--port must be between 1 and 65535, not {port}")
    server = uvicorn.Server(uvicorn.Config(create_app(app), host=host, port=port, log_level=log_level,
                                           access_log=False, timeout_graceful_shutdown=3))
    try:
        server.run()
    except SystemExit as e:  # uvicorn exits when the port is taken
        raise InvalidInput(f"cannot listen on {host}:{port} (in use, or not an address of this machine)",
                           "pick another --port") from e
