"""``edgedeblur serve``: preview latency on a 12 MP photo, full-resolution time, page screenshots.

Runs a real server (uvicorn on a free localhost port) and talks to it over HTTP, as the page
does. Latency: upload, first preview at screen size (deblurred once per mode), slider moves
(re-blend only), full-resolution download; for Auto, face priority and the portrait preset
(the restore chain: deblur, auto denoise, x2). Screenshots:
the photo, album and live pages at phone (390x844) and desktop (1280x800) width in Debian's
Chromium (``--screenshots``). The photo is coffee + grace_hopper's face tiled up to 4000x3000
and defocused (sigma 2 px): content matters little for time.

    .venv/bin/python -m benchmarks.serve [--model NAME] [--skip-full] [--screenshots]
"""
from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
import urllib.parse
import urllib.request
from pathlib import Path

import cv2
import numpy as np

from benchmarks.run_meta import finish, run_meta
from runtime.catalog import DEFAULT_MODEL
from runtime.lab.face_clips import Motion, make_clip, write_mp4
from runtime.lab.sample_images import load_sample
from runtime.serve.config import ServeConfig
from tests.runtime.serve.server_thread import running_server

OUT = Path(__file__).parent / "results" / "serve"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def make_photo(path: Path, size_wh: tuple[int, int] = (4000, 3000), sigma: float = 2.0) -> Path:
    """A defocused photo of ``size_wh`` with a face in it (grace_hopper over coffee)."""
    w, h = size_wh
    bg = cv2.resize(load_sample("coffee"), (w, h), interpolation=cv2.INTER_CUBIC)
    face = load_sample("grace_hopper")
    fh = h // 2
    fw = round(face.shape[1] * fh / face.shape[0])
    bg[h // 4:h // 4 + fh, w // 2 - fw // 2:w // 2 - fw // 2 + fw] = cv2.resize(face, (fw, fh), interpolation=cv2.INTER_CUBIC)
    rgb = cv2.GaussianBlur(bg, (0, 0), sigma)
    cv2.imwrite(str(path), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 92])
    return path


def _call(url: str, data: bytes | None = None, ctype: str | None = None) -> tuple[float, bytes]:
    req = urllib.request.Request(url, data=data)
    if ctype:
        req.add_header("Content-Type", ctype)
    t = time.perf_counter()
    with urllib.request.urlopen(req, timeout=3600) as r:
        body = r.read()
    return (time.perf_counter() - t) * 1e3, body


def _upload(base: str, path: Path) -> tuple[float, str]:
    boundary = "benchboundary"
    body = (f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{path.name}"\r\n\r\n'.encode()
            + path.read_bytes() + f"\r\n--{boundary}--\r\n".encode())
    ms, out = _call(base + "/api/uploads", body, f"multipart/form-data; boundary={boundary}")
    return ms, json.loads(out)["id"]


SETTINGS = {"auto": {"mode": "auto"}, "faces": {"faces": "true"}, "portrait": {"preset": "portrait"}}
"""What is timed: Auto, face priority, and the portrait preset (focus 0.8, auto denoise, x2)."""
PREVIEWS = [(1280, name, SETTINGS[name]) for name in SETTINGS] + \
    [(1170, name, SETTINGS[name]) for name in ("auto", "faces")]
"""(screen side, name, settings): desktop 1280 px, phone 1170 px (390 px x 3)."""


def latency(model: str, skip_full: bool, work: Path) -> dict[str, object]:
    photo = make_photo(work / "photo12mp.jpg")
    rows: dict[str, object] = {}
    config = ServeConfig(model=model, work_dir=work / "srv", max_upload_mb=100, max_megapixels=50)
    with running_server(config) as base:
        up_ms, uid = _upload(base, photo)
        rows["upload_ms"] = round(up_ms)
        for side, name, settings in PREVIEWS:
            key = f"side{side}_{name}"
            body = {"strength": 1.0, "side": side, **settings}
            first, out = _call(f"{base}/api/uploads/{uid}/preview", json.dumps(body).encode(), "application/json")
            info = json.loads(out)
            moves = []
            for s in (0.8, 0.6, 0.4, 0.2, 0.5):
                ms, _ = _call(f"{base}/api/uploads/{uid}/preview",
                              json.dumps(body | {"strength": s}).encode(), "application/json")
                moves.append(ms)
            rows[key] = {"first_preview_ms": round(first), "slider_ms_median": round(statistics.median(moves), 1),
                         "slider_ms_max": round(max(moves), 1), "server_compute_ms": info["compute_ms"],
                         "preview_wh": [info["width"], info["height"]], "label": info["label"],
                         "faces_zoomed": len(info["faces"])}
            print(key, rows[key], flush=True)
        if not skip_full:
            for name, settings in SETTINGS.items():
                ms, data = _call(f"{base}/api/uploads/{uid}/download?{urllib.parse.urlencode(settings)}")
                size = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_REDUCED_COLOR_8).shape[1::-1]
                rows[f"full_res_{name}_s"] = round(ms / 1e3, 1)
                print("full", name, ms / 1e3, len(data), "bytes, 1/8 size", size, flush=True)
    return rows


def screenshots(model: str, work: Path) -> list[str]:
    from playwright.sync_api import sync_playwright

    albums = work / "albums" / "holiday"
    albums.mkdir(parents=True)
    for i, s in enumerate((640, 800, 960)):
        make_photo(albums / f"photo{i}.jpg", (s, s * 3 // 4), 1.5)
    clip = make_clip(Motion.CROWD, (640, 480), n_frames=60)
    video = write_mp4(work / "clip.mp4", list(clip.frames), fps=clip.fps)
    photo = make_photo(work / "portrait.jpg", (1600, 1200), 2.0)
    config = ServeConfig(model=model, work_dir=work / "srv2", album_root=work / "albums", live_source=str(video))
    shots = []
    with running_server(config) as base, sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        for label, vp in (("phone", {"width": 390, "height": 844}), ("desktop", {"width": 1280, "height": 800})):
            page = browser.new_page(viewport=vp, device_scale_factor=1)
            page.goto(base + "/")
            page.set_input_files("#file", str(photo))
            page.wait_for_function("document.getElementById('after').src.startsWith('data:')", timeout=600_000)
            page.wait_for_function("document.getElementById('preset').options.length > 1")
            page.select_option("#preset", "portrait")
            page.wait_for_function("document.getElementById('status').textContent.includes('zoom x2')", timeout=600_000)
            page.fill("#strength", "70")
            page.wait_for_timeout(1500)
            page.wait_for_function("!document.getElementById('compare').classList.contains('busy')", timeout=600_000)
            shots.append(_shot(page, f"photo_{label}.png"))
            page.goto(base + "/album")
            page.wait_for_selector("#server:not([hidden])")
            page.select_option("#folder", "holiday")
            page.click("#start")
            page.wait_for_function("!document.getElementById('zip').classList.contains('off')", timeout=600_000)
            shots.append(_shot(page, f"album_{label}.png"))
            page.goto(base + "/live")
            page.wait_for_function("document.getElementById('fps').textContent !== '–'", timeout=600_000)
            page.wait_for_timeout(4000)
            shots.append(_shot(page, f"live_{label}.png"))
            page.close()
        browser.close()
    return shots


def _shot(page, name: str) -> str:  # noqa: ANN001
    page.screenshot(path=str(OUT / name), full_page=True)
    return name


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default=DEFAULT_MODEL)
    ap.add_argument("--skip-full", action="store_true", help="skip the full-resolution downloads")
    ap.add_argument("--screenshots", action="store_true", help="only take the page screenshots")
    args = ap.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        if args.screenshots:
            print(screenshots(args.model, Path(tmp)))
            return
        meta = run_meta()
        rows = latency(args.model, args.skip_full, Path(tmp))
    doc = {**finish(meta), "model": args.model, "photo": "4000x3000 JPEG", **rows}
    (OUT / "latency.json").write_text(json.dumps(doc, indent=2) + "\n")
    print(json.dumps(doc, indent=2))


if __name__ == "__main__":
    main()
