"""JSON endpoints that the pages use and scripts can call (see ``client.ServeClient``).

    GET  /api/health                      status, version, queued jobs
    GET  /api/models                      shipped models
    GET  /api/presets                     restore presets (built-in and the server user's)
    POST /api/deblur                      multipart file (+ settings) -> image
    POST /api/uploads                     multipart file -> {id, name, width, height}
    POST /api/uploads/{id}/preview        {settings..., side} -> screen-size preview
    GET  /api/uploads/{id}/download       ?settings -> full-resolution file
    GET  /api/albums/folders              folders under --album-root
    POST /api/albums                      multipart files, or folder=... (+ settings) -> job

Settings (form, JSON or query fields, all optional): ``preset`` (a name), ``mode``,
``strength``, ``faces``, ``denoise``, ``denoise_strength``, ``upscale``, ``upscale_strength``
(``runtime.serve.settings``; fields win over the preset).
    GET  /api/albums/{id}  /zip           progress; the results as a zip
    GET  /api/live/stats  stream.mjpg  frame.jpg;  POST /api/live/settings
"""
from __future__ import annotations

import json
import mimetypes
from pathlib import Path
from typing import TYPE_CHECKING, Any

from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from runtime.catalog import package_version
from runtime.errors import ConfigError, ImageError
from runtime.photo.imageio import photos_in
from runtime.serve.album import list_folders, new_job, queue_album, resolve_under
from runtime.serve.jobs import Priority
from runtime.serve.live import BOUNDARY
from runtime.serve.settings import FIELDS, PhotoSettings
from runtime.serve.uploads import Upload, UnknownUpload, safe_name

if TYPE_CHECKING:
    from runtime.serve.album import AlbumJob
    from runtime.serve.state import ServeState

MAX_PREVIEW_SIDE = 2048


def _state(request: Request) -> ServeState:
    return request.app.state.serve  # type: ignore[no-any-return]


async def _json(request: Request) -> dict[str, Any]:
    try:
        body = await request.json()
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise ConfigError("the request body is not JSON; send {\"mode\": ..., \"strength\": ...}") from e
    if not isinstance(body, dict):
        raise ConfigError("the request body must be a JSON object")
    return body


async def _files(request: Request, field: str) -> tuple[list[tuple[str, bytes]], dict[str, str]]:
    """The uploaded files of ``field`` and the plain form fields."""
    if not request.headers.get("content-type", "").startswith("multipart/form-data"):
        raise ConfigError(f"send the photo as multipart/form-data in the field {field!r}")
    form = await request.form(max_files=10_000)
    files = [(f.filename or "photo", await f.read()) for f in form.getlist(field) if isinstance(f, UploadFile)]
    fields = {k: v for k, v in form.items() if isinstance(v, str)}
    return files, fields


def _settings(request: Request, values: dict[str, Any]) -> PhotoSettings:
    return _state(request).worker.settings(values)


async def health(request: Request) -> JSONResponse:
    state = _state(request)
    return JSONResponse({"status": "ok", "version": package_version(), "queued": state.queue.pending,
                         "model": str(state.config.model)})


async def models(request: Request) -> JSONResponse:
    from runtime.catalog import load_shipped_manifest
    from runtime.manifest import Status

    manifest = load_shipped_manifest(_state(request).config.models_dir)
    rows = [e.to_json() for e in manifest.artifacts if e.status is Status.OK]
    return JSONResponse({"default": str(_state(request).config.model), "models": rows})


async def presets(request: Request) -> JSONResponse:
    from runtime.photo.presets import available_presets

    shown, broken = available_presets()
    rows = [{"name": p.name, "description": p.description, "source": p.source,
             "settings": {k: v for k, v in p.settings.items() if k in FIELDS},
             "others": sorted(k for k in p.settings if k not in FIELDS)} for p in shown]
    return JSONResponse({"presets": rows, "broken": [f"{path.name}: {why}" for path, why in broken]})


def _file_response(data: bytes, name: str, label: str = "") -> Response:
    kind = mimetypes.guess_type(name)[0] or "application/octet-stream"
    return Response(data, media_type=kind, headers={
        "Content-Disposition": f'attachment; filename="{safe_name(name)}"', "X-Edgedeblur-Method": label})


async def deblur(request: Request) -> Response:
    state = _state(request)
    files, fields = await _files(request, "file")
    if len(files) != 1:
        raise ConfigError(f"send exactly one photo in the field 'file' (got {len(files)})")
    settings = _settings(request, fields)
    upload = state.uploads.add(*files[0])
    data, name = await state.queue.run(state.worker.render, upload, settings)
    return _file_response(data, name)


async def upload(request: Request) -> JSONResponse:
    state = _state(request)
    files, _ = await _files(request, "file")
    if len(files) != 1:
        raise ConfigError(f"send exactly one photo in the field 'file' (got {len(files)})")
    u = state.uploads.add(*files[0])
    return JSONResponse({"id": u.id, "name": u.name, "width": u.size_wh[0], "height": u.size_wh[1]})


def _upload(request: Request) -> Upload:
    return _state(request).uploads.get(request.path_params["upload_id"])


async def preview(request: Request) -> JSONResponse:
    state = _state(request)
    u = _upload(request)
    body = await _json(request)
    settings = _settings(request, body)
    try:
        side = int(body.get("side", state.config.preview_side_px))
    except (TypeError, ValueError) as e:
        raise ConfigError("side must be a whole number of pixels") from e
    side = min(max(side, 64), MAX_PREVIEW_SIDE)
    result = await state.queue.run(state.worker.preview, u, settings, side, priority=Priority.INTERACTIVE)
    return JSONResponse(result.to_json())


async def download(request: Request) -> Response:
    state = _state(request)
    u = _upload(request)
    data, name = await state.queue.run(state.worker.render, u, _settings(request, dict(request.query_params)))
    return _file_response(data, name)


async def album_folders(request: Request) -> JSONResponse:
    root = _state(request).config.album_root
    return JSONResponse({"root": root is not None, "folders": list_folders(root) if root is not None else []})


async def album_start(request: Request) -> JSONResponse:
    state = _state(request)
    ctype = request.headers.get("content-type", "")
    if ctype.startswith("application/json"):
        body = await _json(request)
        if state.config.album_root is None:
            raise ConfigError("no server folders: start the server with --album-root DIR, or upload the photos")
        folder = resolve_under(state.config.album_root, str(body.get("folder", "")))
        sources = photos_in(folder)
        names = [p.name for p in sources]
        settings = _settings(request, body)
        rejected: list[str] = []
    else:
        files, fields = await _files(request, "files")
        settings = _settings(request, fields)
        stored, rejected = [], []
        for name, data in files:              # a bad photo is reported; the others go ahead
            try:
                stored.append(state.uploads.add(name, data))
            except ImageError as e:
                rejected.append(str(e))
        sources, names = [u.path for u in stored], [u.name for u in stored]
        if not sources and rejected:
            raise ImageError(rejected[0])
    job = new_job(settings, sources, names, state.work_dir)
    job.errors.extend(rejected)
    state.albums[job.id] = job
    queue_album(job, state.worker, state.queue)
    return JSONResponse(job.to_json())


def _album(request: Request) -> AlbumJob:
    job = _state(request).albums.get(request.path_params["job_id"])
    if job is None:
        raise UnknownUpload(f"album {request.path_params['job_id']} is unknown or expired; start it again")
    return job


async def album_status(request: Request) -> JSONResponse:
    return JSONResponse(_album(request).to_json())


async def album_zip(request: Request) -> FileResponse:
    job = _album(request)
    if job.state != "done":
        raise ConfigError(f"album {job.id} is not finished yet ({job.done} of {len(job.sources)} photos)")
    return FileResponse(job.zip_path, filename="album.sharp.zip", media_type="application/zip")


async def live_stats(request: Request) -> JSONResponse:
    return JSONResponse(_state(request).live.stats())


async def live_settings(request: Request) -> JSONResponse:
    hub = _state(request).live
    body = await _json(request)
    hub.settings.update(body.get("enabled"), body.get("strength"), body.get("boxes"))
    return JSONResponse(hub.stats())


async def live_stream(request: Request) -> StreamingResponse:
    hub = _state(request).live
    hub.latest(timeout_s=0)             # raises ConfigError now when no source is configured
    return StreamingResponse(hub.mjpeg(), media_type=f"multipart/x-mixed-replace; boundary={BOUNDARY}",
                             headers={"Cache-Control": "no-store"})


async def live_frame(request: Request) -> Response:
    import asyncio

    hub = _state(request).live
    got = await asyncio.to_thread(hub.latest, 0, 30.0)
    if got is None:
        error = hub.stats().get("error") or "no frame arrived in 30 s"
        raise ConfigError(f"live source: {error}")
    return Response(got[1], media_type="image/jpeg", headers={"Cache-Control": "no-store"})


ROUTES = [
    Route("/api/health", health),
    Route("/api/models", models),
    Route("/api/presets", presets),
    Route("/api/deblur", deblur, methods=["POST"]),
    Route("/api/uploads", upload, methods=["POST"]),
    Route("/api/uploads/{upload_id}/preview", preview, methods=["POST"]),
    Route("/api/uploads/{upload_id}/download", download),
    Route("/api/albums/folders", album_folders),
    Route("/api/albums", album_start, methods=["POST"]),
    Route("/api/albums/{job_id}", album_status),
    Route("/api/albums/{job_id}/zip", album_zip),
    Route("/api/live/stats", live_stats),
    Route("/api/live/settings", live_settings, methods=["POST"]),
    Route("/api/live/stream.mjpg", live_stream),
    Route("/api/live/frame.jpg", live_frame),
]
