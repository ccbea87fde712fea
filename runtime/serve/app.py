"""The Starlette app: the access-token gate, error pages, expiry, routes.

Every error the user can cause becomes ``{"error": "<one line>"}`` with a fitting status;
anything unexpected becomes a 500 whose body names no internals (the log has the detail).
"""
from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from pathlib import Path
from typing import AsyncIterator

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.base import BaseHTTPMiddleware, RequestResponseEndpoint
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from facemask.errors import FaceMaskError
from runtime.errors import ConfigError, EdgeDeblurError, ImageError
from runtime.serve import api
from runtime.serve.config import ServeConfig
from runtime.serve.state import ServeState, make_state
from runtime.serve.uploads import TooLarge, UnknownUpload

log = logging.getLogger(__name__)

STATIC_DIR = Path(__file__).parent / "static"
TOKEN_COOKIE = "edgedeblur_token"
OPEN_PATHS = ("/api/health",)
ALBUM_REQUEST_FILES = 50
"""An album upload may carry this many photos' worth of bytes in one request."""


class Gate(BaseHTTPMiddleware):
    """The token check (when set) and the request-size limit, before any body is read."""

    async def dispatch(self, request: Request, call_next: RequestResponseEndpoint) -> Response:
        state: ServeState = request.app.state.serve
        token = state.config.token
        from_query = request.query_params.get("token")
        if token is not None and request.url.path not in OPEN_PATHS:
            auth = request.headers.get("authorization", "")
            given = (from_query or request.headers.get("x-edgedeblur-token")
                     or (auth[7:] if auth.lower().startswith("bearer ") else None)
                     or request.cookies.get(TOKEN_COOKIE) or "")
            if not secrets.compare_digest(given.encode(), token.encode()):
                return JSONResponse({"error": "access token missing or wrong: open the address with "
                                     "?token=... that `edgedeblur serve` printed"}, status_code=401)
        limit = state.config.max_upload_bytes * (ALBUM_REQUEST_FILES if request.url.path == "/api/albums" else 1)
        length = request.headers.get("content-length")
        if length is not None and length.isdigit() and int(length) > limit + 1_000_000:
            return JSONResponse({"error": f"the upload is {int(length) / 2**20:.1f} MB; the limit is "
                                 f"{limit / 2**20:.0f} MB (start the server with a larger --max-upload-mb)"},
                                status_code=413)
        response = await call_next(request)
        if token is not None and from_query == token:
            response.set_cookie(TOKEN_COOKIE, token, httponly=True, samesite="strict")
        return response


def _error(status: int):  # noqa: ANN202 - a Starlette exception handler
    async def handle(request: Request, exc: Exception) -> JSONResponse:
        message = exc.args[0] if isinstance(exc, KeyError) and exc.args else str(exc)
        return JSONResponse({"error": message}, status_code=status)
    return handle


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    log.exception("unexpected error on %s", request.url.path)
    return JSONResponse({"error": f"internal error ({type(exc).__name__}); the server log has the details"},
                        status_code=500)


def _page(name: str):  # noqa: ANN202 - a Starlette endpoint
    async def page(request: Request) -> FileResponse:
        return FileResponse(STATIC_DIR / name, media_type="text/html")
    return page


def create_app(config: ServeConfig = ServeConfig()) -> Starlette:
    """The app for ``config``; its state is built here and closed on shutdown."""
    state = make_state(config)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        async def sweeper() -> None:
            while True:
                await asyncio.sleep(min(60.0, config.keep_s / 2))
                state.sweep()
        task = asyncio.create_task(sweeper())
        try:
            yield
        finally:
            task.cancel()
            state.close()

    routes = [
        Route("/", _page("photo.html")),
        Route("/album", _page("album.html")),
        Route("/live", _page("live.html")),
        *api.ROUTES,
        Mount("/static", StaticFiles(directory=STATIC_DIR), name="static"),
    ]
    handlers = {TooLarge: _error(413), UnknownUpload: _error(404), ImageError: _error(415),
                ConfigError: _error(400), FaceMaskError: _error(400), EdgeDeblurError: _error(500),
                Exception: _unexpected}
    app = Starlette(routes=routes, middleware=[Middleware(Gate)], exception_handlers=handlers,  # type: ignore[arg-type]
                    lifespan=lifespan)
    app.state.serve = state
    return app
