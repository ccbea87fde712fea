"""Fixtures for the serve tests: small real photos and a configured app behind the test client."""
from __future__ import annotations

from pathlib import Path
from typing import Iterator

import pytest

pytest.importorskip("starlette", reason="the serve extra is not installed: pip install -e '.[serve]'")

from runtime.serve.config import ServeConfig  # noqa: E402
from tests.runtime.serve.serve_helpers import blurred_face_jpeg  # noqa: E402


@pytest.fixture
def photo(tmp_path: Path) -> Path:
    return blurred_face_jpeg(tmp_path / "astronaut.jpg")


@pytest.fixture
def album_root(tmp_path: Path) -> Path:
    root = tmp_path / "albums"
    (root / "trip").mkdir(parents=True)
    blurred_face_jpeg(root / "trip" / "a.jpg", 160)
    blurred_face_jpeg(root / "trip" / "b.png", 128)
    (root / "trip" / "notes.txt").write_text("not a photo")
    (tmp_path / "outside").mkdir()
    blurred_face_jpeg(tmp_path / "outside" / "secret.jpg", 96)
    return root


@pytest.fixture
def config(tmp_path: Path, album_root: Path) -> ServeConfig:
    return ServeConfig(model="nano", live_model="nano", work_dir=tmp_path / "work", album_root=album_root,
                       max_upload_mb=1, max_megapixels=1, threads=1)


@pytest.fixture
def client(config: ServeConfig) -> Iterator[object]:
    from starlette.testclient import TestClient

    from runtime.serve.app import create_app

    with TestClient(create_app(config)) as c:
        yield c
