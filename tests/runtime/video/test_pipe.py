"""``--source -``: a raw H.264 stream on stdin, as ``rpicam-vid -o -`` pipes a Pi camera,
through real PyAV decoding and a real ``edgedeblur run`` process."""
from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import av
import numpy as np
import pytest

from benchmarks.videos import make_face_video, write_raw_h264
from runtime.catalog import FILE_VIDEO_MODEL, LIVE_VIDEO_MODEL
from runtime.errors import SourceError
from runtime.video.pipe import PipeSource
from runtime.video.frames import SourceEnd, SourceKind
from runtime.video.sources import classify_source, open_source

N_FRAMES = 12
SIZE_WH = (160, 96)


@pytest.fixture(scope="module")
def h264(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    folder = tmp_path_factory.mktemp("pipe")
    video = make_face_video(folder / "clip.mp4", size_wh=SIZE_WH, n_frames=N_FRAMES, blur=False)
    out = io.BytesIO()
    write_raw_h264(out, [video.sharp_frame(i) for i in range(N_FRAMES)], fps=24)
    return out.getvalue()


def test_dash_is_a_live_stream() -> None:
    assert classify_source("-") is SourceKind.STREAM


def test_pipe_yields_the_frames_and_ends_exhausted(h264: bytes) -> None:
    with PipeSource(io.BytesIO(h264)) as source:
        assert source.info.live and source.info.size_wh == SIZE_WH
        frames = []
        while (frame := source.read()) is not None:
            frames.append(frame)
        assert source.end is SourceEnd.EXHAUSTED
    # a live source keeps only the newest frame, so a fast writer may skip some; never the last
    assert 1 <= len(frames) <= N_FRAMES and frames[-1].index == N_FRAMES - 1
    assert frames[-1].image_rgb.shape == (SIZE_WH[1], SIZE_WH[0], 3)
    assert [f.index for f in frames] == sorted({f.index for f in frames})


def test_piped_frames_carry_the_samples_they_were_decoded_from(h264: bytes) -> None:
    with PipeSource(io.BytesIO(h264)) as source:
        frames = list(source)
    assert frames
    for f in frames:
        assert f.decoded is not None and f.decoded.rgb is f.image_rgb
        rgb = av.VideoFrame.from_ndarray(f.decoded.i420, format="yuv420p").reformat(
            format="rgb24", src_colorspace="ITU601").to_ndarray()
        assert np.array_equal(rgb, f.image_rgb)


def test_garbage_on_stdin_is_one_clear_error() -> None:
    with pytest.raises(SourceError, match="no video FFmpeg can decode"):
        PipeSource(io.BytesIO(b"not a video " * 500))


def test_run_reads_stdin_end_to_end(h264: bytes, tmp_path: Path) -> None:
    out, stats = tmp_path / "sharp.mp4", tmp_path / "stats.json"
    cli = Path(sys.executable).with_name("edgedeblur")
    done = subprocess.run([str(cli), "run", "--source", "-", "-o", str(out), "--no-progress",
                           "--faces", "full", "--background", "light", "--stats-json", str(stats)],
                          input=h264, capture_output=True, timeout=300)
    assert done.returncode == 0, done.stderr.decode()
    assert b"wrote" in done.stderr and b"reconnect" not in done.stderr      # a pipe that ends just ends
    with open_source(str(out)) as source:
        frames = [f.image_rgb for f in source]
    assert frames and frames[0].shape == (SIZE_WH[1], SIZE_WH[0], 3)
    assert np.ptp(frames[-1]) > 50   # a picture, not a blank frame
    doc = json.loads(stats.read_text())
    assert (doc["model"], doc["reuse_crops"]) == (LIVE_VIDEO_MODEL, True)   # a camera keeps up: the fast model, reused crops


def test_a_camera_recording_keeps_the_samples_the_run_left_alone(h264: bytes, tmp_path: Path) -> None:
    """rpicam-vid | run --source - with nothing treated, lossless: every recorded frame is one
    of the camera's, sample for sample (before, each went through RGB and back)."""
    out = tmp_path / "cam.mp4"
    cli = Path(sys.executable).with_name("edgedeblur")
    done = subprocess.run([str(cli), "run", "--source", "-", "-o", str(out), "--no-progress", "--faces", "none",
                           "--background", "none", "--crf", "0"], input=h264, capture_output=True, timeout=300)
    assert done.returncode == 0, done.stderr.decode()
    with av.open(io.BytesIO(h264), format="h264") as a, av.open(str(out)) as b:
        camera = {f.to_ndarray().tobytes() for f in a.decode(video=0)}
        recorded = [f.to_ndarray().tobytes() for f in b.decode(video=0)]
    assert recorded and all(r in camera for r in recorded)


def test_a_file_redirected_to_stdin_is_read_whole_as_a_file(tmp_path: Path) -> None:
    """``--source - < clip.mp4`` is no camera: every frame, the file's model, its audio kept."""
    clip = make_face_video(tmp_path / "talk.mp4", size_wh=SIZE_WH, n_frames=N_FRAMES, blur=False, audio=True)
    out, stats = tmp_path / "out.mp4", tmp_path / "stats.json"
    cli = Path(sys.executable).with_name("edgedeblur")
    with open(clip.path, "rb") as stdin:
        done = subprocess.run([str(cli), "run", "--source", "-", "-o", str(out), "--no-progress",
                               "--stats-json", str(stats)], stdin=stdin, capture_output=True, timeout=300)
    assert done.returncode == 0, done.stderr.decode()
    doc = json.loads(stats.read_text())
    assert (doc["model"], doc["reuse_crops"], doc["frames"]) == (FILE_VIDEO_MODEL, False, N_FRAMES)
    with av.open(str(out)) as c:
        assert [s.type for s in c.streams] == ["video", "audio"]


def test_a_stream_that_breaks_off_is_one_line_without_reconnects(tmp_path: Path) -> None:
    clip = make_face_video(tmp_path / "clip.mp4", size_wh=SIZE_WH, n_frames=N_FRAMES, blur=False).path
    cli = Path(sys.executable).with_name("edgedeblur")
    done = subprocess.run([str(cli), "run", "--source", "-", "-o", str(tmp_path / "out.mp4"), "--no-progress"],
                          input=clip.read_bytes()[:5000], capture_output=True, timeout=300)
    err = done.stderr.decode()
    assert done.returncode == 1 and "the video on stdin broke off" in err, err
    assert "reconnect" not in err and "Traceback" not in err
