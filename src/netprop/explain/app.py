"""The live lecture's web app: Starlette routes over api.py, the static front-end, the host check.

Every answer to a bad request is a 4xx with {"error": "one line"}; the page shows that line.
"""

from __future__ import annotations

import json
from pathlib import Path

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from . import api

STATIC = Path(__file__).parent / "static"
MAX_BODY = 1 << 20            # a full 8-unit, 4-layer state is ~10 kB of JSON; anything near 1 MB is not one
# The page may load and ask only its own server; styles set from script (SVG highlights) stay allowed.
CSP = ("default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; "
       "connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'self'; form-action 'self'")


class HostCheck:
    """Refuse any request whose Host header is not an address this server serves (DNS rebinding).

    A page on another site that re-points its own name at 127.0.0.1 still sends its own name as
    Host, so only the exact host:port we print (and its localhost alias) gets through.
    """

    def __init__(self, app, allowed_hosts):
        self.app = app
        self.allowed = {h.lower() for h in allowed_hosts}

    async def __call__(self, scope, receive, send):
        if scope["type"] in ("http", "websocket"):
            host = dict(scope["headers"]).get(b"host", b"").decode("latin-1").lower()
            if host not in self.allowed:
                response = JSONResponse(
                    {"error": f"this server answers only to {', '.join(sorted(self.allowed))}, "
                              f"not to Host {host or '(none)'!r}"}, status_code=421)
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)


async def _json_body(request):
    if int(request.headers.get("content-length") or 0) > MAX_BODY:
        raise api.ApiError(f"request body too large (at most {MAX_BODY} bytes)")
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_BODY:
            raise api.ApiError(f"request body too large (at most {MAX_BODY} bytes)")
    try:
        return json.loads(body or b"{}")
    except (ValueError, UnicodeDecodeError):
        raise api.ApiError("the request body is not valid JSON") from None


async def _state(request):
    """The State of a request: the JSON body of a POST ({"state": …} or the state itself), else the query."""
    if request.method == "POST":
        body = await _json_body(request)
        if not isinstance(body, dict):
            raise api.ApiError("the request must be a JSON object describing the lecture's state")
        return api.parse_state(body.get("state", body)), body
    return api.parse_state(api.state_from_query(request.url.query)), dict(request.query_params)


async def widget_module(request):
    """The notebook widget's front-end, byte for byte (bundle.py): tests load it in a browser."""
    from .bundle import widget_bundle
    return Response(widget_bundle(), media_type="text/javascript; charset=utf-8",
                    headers={"Cache-Control": "no-cache"})


async def widget_style(request):
    """The notebook widget's style sheet, byte for byte (bundle.py)."""
    from .bundle import widget_css
    return Response(widget_css(), media_type="text/css; charset=utf-8", headers={"Cache-Control": "no-cache"})


async def index(request):
    return FileResponse(STATIC / "index.html", headers={"Content-Security-Policy": CSP,
                                                        "Cache-Control": "no-cache"})


def info_route(run_available):
    async def info(request):
        from .._version import __version__
        return JSONResponse({"run": run_available, "version": __version__})
    return info


async def lecture(request):
    state, _ = await _state(request)
    return JSONResponse(api.lecture(state))


async def sgd(request):
    state, body = await _state(request)
    new, summary = api.sgd_step(state, body.get("lr", 0.1))
    return JSONResponse({**api.lecture(new), "sgd": summary})


async def export(request):
    state, body = await _state(request)
    fmt = body.get("format", "text")
    text, media, ext = api.export(state, fmt)
    return Response(text, media_type=f"{media}; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="netprop-derivation.{ext}"'})


async def _api_error(request, exc):
    # ApiError, and netprop's own ValueErrors: both name what was wrong with the input
    return JSONResponse({"error": str(exc).splitlines()[0]}, status_code=400)


async def _http_error(request, exc):
    messages = {404: f"no such page or API: {request.url.path}",
                405: f"{request.method} is not allowed on {request.url.path}"}
    return JSONResponse({"error": messages.get(exc.status_code, exc.detail)}, status_code=exc.status_code,
                        headers=getattr(exc, "headers", None))


async def _server_error(request, exc):
    # Validation should leave nothing to reach here; if something does, the page still gets one line.
    first = str(exc).splitlines()[0] if str(exc) else ""
    return JSONResponse({"error": f"internal error: {type(exc).__name__}: {first}"}, status_code=500)


def create_app(run_dir=None, allowed_hosts=None, stopping=None):
    """The Starlette app of ``netprop explain``.

    run_dir: a training run to show in the Run view (its routes come from runs.py), or None.
    allowed_hosts: the exact Host headers to answer ("127.0.0.1:8765", …); None answers any (tests).
    stopping: a threading.Event set when the server shuts down (ends the run view's event streams).
    """
    from .runs import run_routes

    run = run_routes(run_dir, stopping=stopping) if run_dir is not None else None
    routes = [
        Route("/", index),
        Route("/widget.js", widget_module),
        Route("/widget.css", widget_style),
        Route("/api/info", info_route(run is not None)),
        Route("/api/lecture", lecture, methods=["GET", "POST"]),
        Route("/api/sgd", sgd, methods=["POST"]),
        Route("/api/export", export, methods=["GET", "POST"]),
        *(run or []),
        Mount("/static", StaticFiles(directory=STATIC), name="static"),
    ]
    middleware = [Middleware(HostCheck, allowed_hosts=allowed_hosts)] if allowed_hosts is not None else []
    return Starlette(routes=routes, middleware=middleware,
                     exception_handlers={ValueError: _api_error, HTTPException: _http_error,
                                         Exception: _server_error})
