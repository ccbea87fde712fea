"""The restore chain in the web app: presets by name, denoise and upscale in previews,
downloads and albums, and every setting a request can get wrong."""
from __future__ import annotations

import io
import time
import zipfile
from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np
import pytest

from runtime.engines.base import EngineConfig
from runtime.photo.chain import RestoreConfig, Restorer
from runtime.photo.deblur import DeblurConfig
from runtime.photo.imageio import read_image
from runtime.serve.config import ServeConfig
from tests.runtime.serve.serve_helpers import data_url_image, decode, upload, wait_album

pytestmark = pytest.mark.usefixtures("user_dir")     # every test: its own empty user presets folder


def _preview(client, upload_id: str, **settings) -> dict:
    r = client.post(f"/api/uploads/{upload_id}/preview", json={"side": 200, **settings})
    assert r.status_code == 200, r.text
    return r.json()


def test_presets_list_builtins_and_the_server_users(client, user_dir: Path) -> None:
    (user_dir / "mine.toml").write_text('description = "mine"\nmode = "motion"\nupscale = 2\nmodel = "nano"\n')
    (user_dir / "broken.toml").write_text("strenght = 1\n")
    r = client.get("/api/presets").json()
    rows = {p["name"]: p for p in r["presets"]}
    assert {"portrait", "action", "old-scan", "low-light", "mine"} <= set(rows)
    assert rows["portrait"]["settings"]["upscale"] == 2 and rows["portrait"]["source"] == "built-in"
    assert rows["mine"]["settings"] == {"mode": "motion", "upscale": 2} and rows["mine"]["others"] == ["model"]
    assert len(r["broken"]) == 1 and "strenght" in r["broken"][0]


def test_denoise_and_upscale_in_the_preview(client, photo: Path) -> None:
    info = upload(client, photo)
    plain = _preview(client, info["id"], mode="focus", strength=1)
    denoised = _preview(client, info["id"], mode="focus", strength=1, denoise=1)
    assert np.abs(data_url_image(denoised["after"]) - data_url_image(plain["after"])).mean() > 0.3   # the denoiser ran
    assert "denoise" in denoised["label"] and (denoised["width"], denoised["height"]) == (200, 200)
    low = _preview(client, info["id"], mode="focus", strength=0, denoise=1)
    assert np.abs(data_url_image(low["after"]) - data_url_image(low["before"])).mean() > 0.3     # strength 0 still denoises
    assert low["blend_ms"] < low["compute_ms"] or low["compute_ms"] < 50       # cached: only re-blended
    big = _preview(client, info["id"], mode="focus", strength=1, upscale=2)
    assert (big["width"], big["height"]) == (200, 200) and "zoom x2" in big["label"]   # screen size kept
    zoom, zoom2 = data_url_image(plain["faces"][0]["before"]), data_url_image(big["faces"][0]["before"])
    h, w = zoom.shape[:2]
    size = (zoom2.shape[1], zoom2.shape[0])
    centre = cv2.resize(zoom[h // 4:h - h // 4, w // 4:w - w // 4], size)
    assert max(zoom2.shape[:2]) == max(zoom.shape[:2])                       # the same panel, showing
    assert np.abs(zoom2 - centre).mean() < np.abs(zoom2 - cv2.resize(zoom, size)).mean() / 2   # the centre
    assert data_url_image(big["faces"][0]["after"]).shape == zoom2.shape


def test_download_is_what_the_command_line_makes(client, photo: Path, tmp_path: Path) -> None:
    png = tmp_path / "astronaut.png"                                  # lossless both ways
    cv2.imwrite(str(png), cv2.imread(str(photo)))
    info = upload(client, png)
    r = client.get(f"/api/uploads/{info['id']}/download",
                   params={"mode": "focus", "strength": 0.7, "denoise": 0.5, "upscale": 2})
    assert r.status_code == 200 and 'filename="astronaut.sharp.png"' in r.headers["content-disposition"]
    web = decode(r.content)[..., ::-1].astype(np.float32)
    config = RestoreConfig(DeblurConfig(model="nano", mode="focus", strength=0.7, engine=EngineConfig(threads=1)),
                           denoise=0.5, upscale=2)
    with Restorer(config) as restorer:
        cli = np.round(restorer.restore_image(read_image(png).rgb).image * 255)
    assert web.shape == cli.shape == (512, 512, 3)
    assert np.abs(web - cli).max() <= 1                                   # equal up to 8-bit rounding


def test_a_preset_by_name_and_fields_over_it(client, photo: Path) -> None:
    info = upload(client, photo)
    url = f"/api/uploads/{info['id']}/download"
    assert decode(client.get(url, params={"preset": "portrait"}).content).shape == (512, 512, 3)
    assert decode(client.get(url, params={"preset": "portrait", "upscale": "1"}).content).shape == (256, 256, 3)
    r = client.post("/api/deblur", files={"file": ("p.png", photo.read_bytes())},
                    data={"preset": "old-scan", "denoise": "auto"})
    assert r.status_code == 200 and decode(r.content).shape == (512, 512, 3)


@pytest.mark.parametrize(("settings", "words"), [
    ({"preset": "portrat"}, "did you mean 'portrait'?"),
    ({"preset": "../presets/portrait.toml"}, "give a preset name"),
    ({"preset": "/etc/passwd"}, "give a preset name"),
    ({"upscale": 3}, "upscale 3 must be 1, 2 or 4"),
    ({"upscale": "two"}, "upscale 'two' is not a number"),
    ({"denoise": "lots"}, "denoise 'lots' must be off, auto or a strength"),
    ({"denoise": 0.5, "denoise_strength": 0.3}, "denoise_strength applies to denoise auto"),
    ({"faces": True, "upscale": 2}, "face priority runs alone"),
    ({"faces": True, "preset": "portrait"}, "face priority runs alone"),
])
def test_bad_settings_get_one_line(client, photo: Path, settings: dict, words: str) -> None:
    info = upload(client, photo)
    r = client.post(f"/api/uploads/{info['id']}/preview", json=settings)
    assert r.status_code == 400 and words in r.json()["error"], r.text
    assert "`" not in r.json()["error"] and "\n" not in r.json()["error"]


def test_album_with_a_preset(client) -> None:
    job = wait_album(client, client.post("/api/albums", json={"folder": "trip", "preset": "portrait"}).json())
    assert job["total"] == 2 and not job["errors"]
    z = zipfile.ZipFile(io.BytesIO(client.get(job["zip"]).content))
    assert decode(z.read("a.sharp.jpg")).shape == (320, 320, 3) and decode(z.read("b.sharp.png")).shape == (256, 256, 3)


def test_results_over_the_output_limit_are_refused(config: ServeConfig, photo: Path) -> None:
    from starlette.testclient import TestClient

    from runtime.serve.app import create_app

    with TestClient(create_app(replace(config, max_output_megapixels=0.2))) as client:
        info = upload(client, photo)                                  # 256 x 256 = 0.07 MP
        url = f"/api/uploads/{info['id']}/download"
        assert client.get(url, params={"upscale": 1}).status_code == 200
        r = client.get(url, params={"upscale": 2})
        assert r.status_code == 400 and "x2 would be 512x512 = 0.262 MP, over this server's 0.2 MP" in r.text
        assert "--max-output-megapixels" in r.json()["error"]
        job = wait_album(client, client.post("/api/albums", json={"folder": "trip", "upscale": 4}).json())
        assert job["done"] == 2 and len(job["errors"]) == 2 and "would be" in job["errors"][0]
