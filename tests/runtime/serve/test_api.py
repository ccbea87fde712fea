"""The JSON API through Starlette's test client: every endpoint, and every error a user can cause."""
from __future__ import annotations

import io
import socket
import struct
import time
import zipfile
import zlib
from pathlib import Path

import numpy as np
import pytest

from tests.runtime.serve.serve_helpers import (blurred_face_jpeg, data_url_image, decode, upload,
                                               wait_album)
from runtime.serve.config import ServeConfig, is_loopback, with_token


def test_health_models_and_pages(client) -> None:
    h = client.get("/api/health").json()
    assert h["status"] == "ok" and h["queued"] == 0 and h["model"] == "nano"
    ids = [m["id"] for m in client.get("/api/models").json()["models"]]
    assert any(i.startswith("nano") for i in ids) and any(i.startswith("small") for i in ids)
    for page in ("/", "/album", "/live"):
        r = client.get(page)
        assert r.status_code == 200 and "<html" in r.text and "/static/" in r.text
    assert "segmented" in client.get("/static/common.js").text


def test_preview_follows_the_strength_and_zooms_the_face(client, photo: Path) -> None:
    info = upload(client, photo)
    assert (info["width"], info["height"]) == (256, 256)
    full = client.post(f"/api/uploads/{info['id']}/preview", json={"mode": "focus", "strength": 1, "side": 200}).json()
    assert (full["width"], full["height"]) == (200, 200)
    before, after = data_url_image(full["before"]), data_url_image(full["after"])
    assert np.abs(after - before).mean() > 0.5                      # the model changed the photo
    half = client.post(f"/api/uploads/{info['id']}/preview", json={"mode": "focus", "strength": 0.5, "side": 200}).json()
    mid = data_url_image(half["after"])
    assert 0.2 < np.abs(mid - before).mean() / np.abs(after - before).mean() < 0.8
    assert half["blend_ms"] < half["compute_ms"] or half["compute_ms"] < 50   # cached: only re-blended
    assert len(full["faces"]) == 1                                   # the astronaut's face, zoomed
    x0, y0, x1, y1 = full["faces"][0]["box"]
    assert 0 <= x0 < x1 <= 1 and 0 <= y0 < y1 <= 1
    assert data_url_image(full["faces"][0]["after"]).shape[0] >= 64
    zero = client.post(f"/api/uploads/{info['id']}/preview", json={"strength": 0, "side": 200}).json()
    assert np.abs(data_url_image(zero["after"]) - before).max() <= 2           # strength 0 leaves it alone


def test_face_priority_preview(client, photo: Path) -> None:
    info = upload(client, photo)
    r = client.post(f"/api/uploads/{info['id']}/preview", json={"faces": True, "strength": 1, "side": 256}).json()
    assert r["label"].startswith("face priority (1 face")
    assert len(r["faces"]) == 1


def test_download_and_deblur_give_full_resolution_files(client, photo: Path) -> None:
    info = upload(client, photo)
    r = client.get(f"/api/uploads/{info['id']}/download", params={"mode": "auto", "strength": 0.8})
    assert r.status_code == 200 and r.headers["content-type"] == "image/jpeg"
    assert 'filename="astronaut.sharp.jpg"' in r.headers["content-disposition"]
    assert decode(r.content).shape == (256, 256, 3)
    r = client.post("/api/deblur", files={"file": ("p.png", photo.read_bytes())}, data={"strength": "1", "faces": "true"})
    assert r.status_code == 200 and decode(r.content).shape == (256, 256, 3)
    assert photo.read_bytes()[:2] == b"\xff\xd8"                    # the input is untouched


@pytest.mark.parametrize(("name", "data", "status", "words"), [
    ("notes.txt", b"hello, this is not a photo\n" * 10, 415, "is a text file"),
    ("x.jpg", b"\x00\x01\x02garbage" * 50, 415, "not an image"),
    ("empty.jpg", b"", 415, "is empty"),
])
def test_bad_uploads_get_one_clear_line(client, name: str, data: bytes, status: int, words: str) -> None:
    r = client.post("/api/uploads", files={"file": (name, data)})
    assert r.status_code == status and words in r.json()["error"]
    assert "Traceback" not in r.text


def test_an_iphone_heic_uploads_and_previews(client, tmp_path: Path) -> None:
    pytest.importorskip("pillow_heif", reason="the heic extra is not installed")
    from PIL import Image

    from runtime.photo.heif import heif_decoder

    assert heif_decoder()
    Image.open(blurred_face_jpeg(tmp_path / "a.jpg")).save(tmp_path / "IMG_0001.HEIC", format="HEIF", quality=90)
    info = client.post("/api/uploads", files={"file": ("IMG_0001.HEIC", (tmp_path / "IMG_0001.HEIC").read_bytes())})
    assert info.status_code == 200 and (info.json()["width"], info.json()["height"]) == (256, 256)
    r = client.get(f"/api/uploads/{info.json()['id']}/download", params={"strength": 1})
    assert r.status_code == 200 and 'filename="IMG_0001.sharp.png"' in r.headers["content-disposition"]


def test_corrupt_photo_fails_at_decode_with_a_message(client, photo: Path) -> None:
    data = photo.read_bytes()
    truncated = data[: len(data) // 3]
    info = client.post("/api/uploads", files={"file": ("cut.jpg", truncated)}).json()
    r = client.post(f"/api/uploads/{info['id']}/preview", json={})
    assert r.status_code == 415 and "truncated or corrupt" in r.json()["error"]


def test_limits(client, tmp_path: Path) -> None:
    big = blurred_face_jpeg(tmp_path / "big.jpg", 1100)             # 1.2 MP > the 1 MP limit
    r = client.post("/api/uploads", files={"file": ("big.jpg", big.read_bytes())})
    assert r.status_code == 413 and "MP" in r.json()["error"]
    r = client.post("/api/uploads", files={"file": ("huge.bmp", b"\0" * (3 * 2**20))})
    assert r.status_code == 413 and "MB" in r.json()["error"]
    # a 20000 x 20000 PNG in 1 kB (a decompression bomb): Pillow refuses to open it at all
    r = client.post("/api/uploads", files={"file": ("bomb.png", _png_header_only(20000, 20000))})
    assert r.status_code == 413 and "400 MP" in r.json()["error"], r.json()


def _png_header_only(w: int, h: int) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(b"\0" * (3 * w + 1))) + chunk(b"IEND", b""))


def test_bad_settings_and_requests(client, photo: Path) -> None:
    info = upload(client, photo)
    url = f"/api/uploads/{info['id']}/preview"
    r = client.post(url, json={"mode": "moton"})
    assert r.status_code == 400 and "did you mean 'motion'" in r.json()["error"]
    assert client.post(url, json={"strength": 2}).status_code == 400
    assert "not a number" in client.post(url, json={"strength": "lots"}).json()["error"]
    r = client.post(url, json={"strenght": 0.3})              # a typo is not silently ignored
    assert r.status_code == 400 and "did you mean 'strength'" in r.json()["error"]
    assert "must be on or off" in client.post(url, json={"faces": "maybe"}).json()["error"]
    assert client.post(url, json={"faces": False, "side": 128}).status_code == 200
    assert "not JSON" in client.post(url, content=b"{").json()["error"]
    r = client.post("/api/uploads/0123456789abcdef/preview", json={})
    assert r.status_code == 404 and "upload it again" in r.json()["error"]
    assert client.get("/api/uploads/..%2f..%2fetc/download").status_code == 404
    r = client.post("/api/deblur", content=b"raw bytes")
    assert r.status_code == 400 and "multipart" in r.json()["error"]


def test_uploads_expire(client, photo: Path) -> None:
    state = client.app.state.serve
    info = upload(client, photo)
    folder = state.uploads.get(info["id"]).folder
    assert state.uploads.sweep(time.monotonic() + state.config.keep_s + 1) == [info["id"]]
    assert not folder.exists()
    assert client.post(f"/api/uploads/{info['id']}/preview", json={}).status_code == 404


def test_album_from_uploads_with_a_bad_photo(client, photo: Path) -> None:
    files = [("files", ("one.jpg", photo.read_bytes())), ("files", ("two.jpg", photo.read_bytes())),
             ("files", ("bad.jpg", photo.read_bytes()[:200]))]
    r = client.post("/api/albums", files=files, data={"mode": "motion", "strength": "0.7"})
    assert r.status_code == 200, r.text
    job = wait_album(client, r.json())
    assert job["done"] == job["total"] == 2 and len(job["errors"]) == 1 and "bad.jpg is not an image" in job["errors"][0]
    z = zipfile.ZipFile(io.BytesIO(client.get(job["zip"]).content))
    assert sorted(z.namelist()) == ["one.sharp.jpg", "two.sharp.jpg"]
    assert decode(z.read("one.sharp.jpg")).shape == (256, 256, 3)


def test_album_from_a_server_folder_never_outside_the_root(client) -> None:
    assert client.get("/api/albums/folders").json() == {"root": True, "folders": ["trip"]}
    job = wait_album(client, client.post("/api/albums", json={"folder": "trip", "strength": 0.5}).json())
    assert job["total"] == 2 and not job["errors"]
    assert sorted(zipfile.ZipFile(io.BytesIO(client.get(job["zip"]).content)).namelist()) == ["a.sharp.jpg", "b.sharp.png"]
    for escape in ("../outside", "/../outside", "trip/../../outside"):
        r = client.post("/api/albums", json={"folder": escape})
        assert r.status_code == 400 and "outside the album root" in r.json()["error"]
    assert "does not exist" in client.post("/api/albums", json={"folder": "nope"}).json()["error"]
    assert client.get("/api/albums/0123456789abcdef").status_code == 404


def test_token_needed_beyond_localhost(config: ServeConfig) -> None:
    from dataclasses import replace

    from starlette.testclient import TestClient

    from runtime.serve.app import create_app

    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("localhost")
    assert with_token(config).token is None
    shared = with_token(replace(config, host="0.0.0.0"))
    assert shared.token and len(shared.token) >= 20
    with TestClient(create_app(shared)) as c:
        assert c.get("/api/health").status_code == 200               # open: says only "ok"
        r = c.get("/api/models")
        assert r.status_code == 401 and "token" in r.json()["error"]
        assert c.get("/", params={"token": "wrong"}).status_code == 401
        assert c.get("/", params={"token": shared.token}).status_code == 200
        assert c.get("/api/models").status_code == 200               # the cookie set above
        c.cookies.clear()
        assert c.get("/api/models", headers={"Authorization": f"Bearer {shared.token}"}).status_code == 200


def test_python_client_against_a_real_server(config: ServeConfig, photo: Path, tmp_path: Path) -> None:
    from runtime.serve.client import ServeClient, ServeError
    from tests.runtime.serve.server_thread import running_server

    with running_server(config) as url:
        client = ServeClient(url)
        assert client.health()["status"] == "ok"
        out = client.deblur_file(photo, tmp_path / "out.jpg", mode="focus", strength=0.9)
        assert decode(out.read_bytes()).shape == (256, 256, 3)
        out = client.deblur_file(photo, tmp_path / "print.jpg", preset="portrait", strength=0.5)
        assert decode(out.read_bytes()).shape == (512, 512, 3)
        with pytest.raises(ServeError, match="text file"):
            client.deblur_bytes(b"just text", "t.txt")
    with pytest.raises(ServeError, match="cannot reach"):
        ServeClient(url, timeout_s=2).health()


def test_one_job_at_a_time_and_previews_first() -> None:
    import threading

    from runtime.serve.jobs import JobQueue, Priority

    queue, log, active, gate = JobQueue(), [], [], threading.Event()

    def job(name: str) -> str:
        active.append(name)
        assert len(active) == 1, f"two jobs ran at once: {active}"
        if name == "first":
            gate.wait(5)
        log.append(name)
        active.remove(name)
        return name

    futures = [queue.submit(job, "first", priority=Priority.ALBUM)]
    time.sleep(0.1)                                       # "first" is running
    futures += [queue.submit(job, f"album{i}", priority=Priority.ALBUM) for i in range(3)]
    futures.append(queue.submit(job, "preview", priority=Priority.INTERACTIVE))
    assert queue.pending == 5
    gate.set()
    assert [f.result(10) for f in futures][-1] == "preview"
    assert log == ["first", "preview", "album0", "album1", "album2"]
    with pytest.raises(ValueError):
        queue.submit(lambda: (_ for _ in ()).throw(ValueError("boom"))).result(5)
    queue.close()


def test_cli_refuses_bad_options_with_one_line(tmp_path: Path, capsys) -> None:
    from runtime.cli import main

    assert main(["serve", "--album-root", str(tmp_path / "missing")]) == 1
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "--album-root" in err and "not a folder" in err
    assert main(["serve", "--port", "70000"]) == 1
    assert "not a TCP port" in capsys.readouterr().err
    with socket.socket() as taken:             # another server on the port: one line, no URL printed
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert main(["serve", "--port", str(port)]) == 1
        out, err = capsys.readouterr()
        assert f"--port {port} on 127.0.0.1 is in use" in err and err.count("\n") == 1 and out == ""
    assert main(["serve", "--host", "192.0.2.1"]) == 1             # TEST-NET-1: no machine has it
    assert "--host 192.0.2.1 is not an address of this machine" in capsys.readouterr().err
    assert main(["serve", "--keep-minutes", "0"]) == 1
