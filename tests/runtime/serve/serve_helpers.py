"""Small real photos for the serve tests, and the calls they all make."""
from __future__ import annotations

import base64
import time
from pathlib import Path

import cv2
import numpy as np

from runtime.lab.sample_images import load_sample


def blurred_face_jpeg(path: Path, side: int = 256) -> Path:
    """The astronaut, ``side`` px, defocused a little, as a JPEG."""
    rgb = cv2.resize(load_sample("astronaut"), (side, side), interpolation=cv2.INTER_AREA)
    rgb = cv2.GaussianBlur(rgb, (0, 0), 1.6)
    cv2.imwrite(str(path), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 92])
    return path


def decode(data: bytes) -> np.ndarray:
    img = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    assert img is not None, "not an image"
    return img


def upload(client, path: Path) -> dict:  # noqa: ANN001 - a Starlette TestClient
    r = client.post("/api/uploads", files={"file": (path.name, path.read_bytes(), "image/jpeg")})
    assert r.status_code == 200, r.text
    return r.json()


def data_url_image(data_url: str) -> np.ndarray:
    """A preview's JPEG data URL as a float32 BGR image."""
    return decode(base64.b64decode(data_url.split(",", 1)[1])).astype(np.float32)


def wait_album(client, job: dict) -> dict:  # noqa: ANN001
    for _ in range(600):
        if job["state"] == "done":
            return job
        time.sleep(0.1)
        job = client.get(f"/api/albums/{job['id']}").json()
    raise AssertionError(f"album did not finish: {job}")
