"""The live pipeline: a looping video file through face priority, shared by every viewer."""
from __future__ import annotations

import asyncio
import time
from dataclasses import replace
from pathlib import Path

import pytest

from tests.runtime.serve.serve_helpers import decode
from runtime.lab.face_clips import Motion, make_clip, write_mp4
from runtime.serve.config import ServeConfig
from runtime.serve.live import LiveHub


@pytest.fixture
def clip(tmp_path: Path) -> Path:
    c = make_clip(Motion.STILL, (160, 120), n_frames=6, fps=30.0)
    return write_mp4(tmp_path / "clip.mp4", list(c.frames), fps=30.0)


def test_no_source_says_how_to_add_one(client) -> None:
    assert client.get("/api/live/stats").json()["source"] is None
    r = client.get("/api/live/frame.jpg")
    assert r.status_code == 400 and "--live" in r.json()["error"]
    assert client.get("/api/live/stream.mjpg").status_code == 400


def test_frames_settings_and_stats(config: ServeConfig, clip: Path) -> None:
    from starlette.testclient import TestClient

    from runtime.serve.app import create_app

    with TestClient(create_app(replace(config, live_source=str(clip)))) as c:
        r = c.get("/api/live/frame.jpg")
        assert r.status_code == 200 and decode(r.content).shape == (120, 160, 3)
        deadline = time.monotonic() + 60                  # the file loops: more frames keep coming
        while c.get("/api/live/stats").json()["frames"] < 2 and time.monotonic() < deadline:
            c.get("/api/live/frame.jpg")
            time.sleep(0.05)
        s = c.get("/api/live/stats").json()
        assert s["running"] and s["frames"] >= 2 and s["fps"] > 0 and s["error"] is None
        assert {"decode", "faces", "model", "blend", "encode"} <= set(s["stages_ms"])
        assert s["energy_mj"] > 0 and s["energy_note"].startswith("estimate")
        s = c.post("/api/live/settings", json={"enabled": False, "strength": 0.4, "boxes": False}).json()
        assert s["settings"] == {"enabled": False, "strength": 0.4, "boxes": False}
        assert c.post("/api/live/settings", json={"strength": 3}).status_code == 400


def test_viewers_share_one_pipeline(clip: Path) -> None:
    hub = LiveHub(str(clip), "nano", 1)

    async def watch(n: int) -> list[bytes]:
        parts, gen = [], hub.mjpeg()
        async for part in gen:
            assert part.startswith(b"--edgedeblurframe\r\nContent-Type: image/jpeg")
            parts.append(part)
            if len(parts) == n:
                break
        await gen.aclose()
        return parts

    async def both() -> list[list[bytes]]:
        return await asyncio.gather(watch(4), watch(4), watch(4))

    try:
        seen = asyncio.run(both())
    finally:
        hub.close()
    processed = hub.stats()["frames"]
    assert processed < 3 * 4                              # three viewers did not triple the work
    assert set(seen[0]) & set(seen[1]) & set(seen[2])     # they were sent the very same frames


def test_a_source_that_cannot_open_reports_it(tmp_path: Path) -> None:
    bad = tmp_path / "broken.mp4"
    bad.write_bytes(b"not a video")
    hub = LiveHub(str(bad), "nano", 1)
    try:
        assert hub.latest(timeout_s=20) is None
        assert "broken.mp4" in str(hub.stats()["error"])
    finally:
        hub.close()
