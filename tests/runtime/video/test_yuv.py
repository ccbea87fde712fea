"""A file's decoded samples go back to the encoder wherever the run changed nothing (real PyAV/x264)."""
from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import av
import numpy as np
import pytest

from benchmarks.videos import make_face_video, portrait_phone_clip
from runtime.video.file_source import VideoFileSource
from runtime.video.frames import Frame
from runtime.video.sinks import VideoFileSink, VideoSinkConfig
from runtime.video.yuv import planes, rgb_to_i420, to_i420


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("yuv") / "clip.mp4"
    make_face_video(path, size_wh=(320, 192), n_frames=6, n_faces=1, seed=3)
    return path


def _samples(path: Path) -> list[np.ndarray]:
    with av.open(str(path)) as c:
        return [f.to_ndarray(format="yuv420p") for f in c.decode(video=0)]


def _rgb601(i420: np.ndarray) -> np.ndarray:
    frame = av.VideoFrame.from_ndarray(i420, format="yuv420p")
    return frame.reformat(format="rgb24", src_colorspace="ITU601").to_ndarray()


def test_an_unchanged_file_reencoded_losslessly_keeps_every_sample(clip: Path, tmp_path: Path) -> None:
    """Through RGB, 4:2:0 chroma and rounding change samples even at crf 0; carried, none."""
    out = tmp_path / "out.mp4"
    with VideoFileSource(clip) as source, VideoFileSink(out, VideoSinkConfig(crf=0)) as sink:
        for frame in source:
            assert frame.decoded is not None
            sink.write(replace(frame, image_rgb=frame.image_rgb.copy()))   # what the pipeline hands over
    for before, after in zip(_samples(clip), _samples(out), strict=True):
        assert np.array_equal(before, after)


def test_only_changed_pixels_are_converted(clip: Path) -> None:
    with VideoFileSource(clip) as source:
        frame = next(iter(source))
    assert frame.decoded is not None
    out = frame.image_rgb.copy()
    out[40:80, 100:150] = 255 - out[40:80, 100:150]
    (y, u, v), (y0, u0, v0) = planes(to_i420(replace(frame, image_rgb=out))), planes(frame.decoded.i420)
    cy, cu, _ = planes(rgb_to_i420(out))
    assert np.array_equal(y[40:80, 100:150], cy[40:80, 100:150])
    assert np.array_equal(u[20:40, 50:75], cu[20:40, 50:75])
    kept = np.ones(y.shape, bool)
    kept[40:80, 100:150] = False
    assert np.array_equal(y[kept], y0[kept]), "unchanged pixels were converted again"
    assert np.array_equal(u[:18], u0[:18]) and np.array_equal(v[42:], v0[42:])


def test_frames_of_other_sizes_or_sources_or_all_changed_are_encoded_from_rgb(clip: Path) -> None:
    with VideoFileSource(clip) as source:
        frame = next(iter(source))
    assert to_i420(replace(frame, image_rgb=np.zeros((64, 64, 3), np.uint8))) is None     # upscaled, cropped...
    assert to_i420(Frame(frame.image_rgb, 0, 0.0)) is None                              # a camera's frame
    assert to_i420(replace(frame, image_rgb=255 - frame.image_rgb)) is None               # all of it changed


def test_a_turned_phone_clip_carries_its_samples_turned_too(clip: Path, tmp_path: Path) -> None:
    phone = portrait_phone_clip(clip, tmp_path / "phone.mp4")
    with VideoFileSource(phone) as source:
        frames = list(source)
    assert frames[0].image_rgb.shape == (192, 320, 3)
    for f in frames:
        assert f.decoded is not None and np.array_equal(_rgb601(f.decoded.i420), f.image_rgb)
