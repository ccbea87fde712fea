"""A run that changed no pixel gives back the source's own stream (real PyAV/x264 files)."""
from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import av
import numpy as np
import pytest

from benchmarks.videos import make_face_video, portrait_phone_clip
from runtime.video.audio import AudioOutcome
from runtime.video.file_source import VideoFileSource
from runtime.video.sinks import SinkResult, VideoFileSink, VideoSinkConfig

N_FRAMES = 12


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("pass") / "talk.mp4"
    make_face_video(path, size_wh=(320, 192), n_frames=N_FRAMES, n_faces=1, blur=False, seed=5, audio=True)
    return path


def _packets(path: Path) -> list[bytes]:
    with av.open(str(path)) as c:
        return [bytes(p) for p in c.demux(video=0) if p.size]


def _run(source: Path, out: Path, change: int | None = None, frames: int | None = None) -> SinkResult:
    """Pass ``source``'s frames through a sink as the pipeline does, inverting a patch of frame ``change``."""
    with VideoFileSource(source) as src, VideoFileSink(out, VideoSinkConfig(crf=18), source) as sink:
        for frame in list(src)[:frames]:
            image = frame.image_rgb.copy()
            if frame.index == change:
                image[10:20, 10:20] = 255 - image[10:20, 10:20]
            sink.write(replace(frame, image_rgb=image))
    return sink.close()


def test_an_untouched_file_comes_back_packet_for_packet_with_its_audio(clip: Path, tmp_path: Path) -> None:
    out = tmp_path / "out.mp4"
    result = _run(clip, out)
    assert result.frames == N_FRAMES and result.audio is AudioOutcome.COPIED
    assert result.note is not None and "copied as it was" in result.note
    assert _packets(out) == _packets(clip)
    with av.open(str(out)) as c:
        assert c.streams.audio[0].codec_context.name == "aac"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.mp4"]       # no partial left behind


def test_one_changed_pixel_block_means_the_run_is_encoded(clip: Path, tmp_path: Path) -> None:
    out = tmp_path / "out.mp4"
    result = _run(clip, out, change=7)
    assert result.note is None and result.audio is AudioOutcome.COPIED
    assert _packets(out) != _packets(clip)
    with av.open(str(out)) as c:
        assert c.streams.video[0].frames == N_FRAMES


def test_a_run_stopped_early_is_encoded_to_its_length(clip: Path, tmp_path: Path) -> None:
    out = tmp_path / "out.mp4"
    result = _run(clip, out, frames=5)
    assert result.note is None and len(_packets(out)) == 5


def test_only_h264_is_copied_so_the_output_stays_h264(clip: Path, tmp_path: Path) -> None:
    vp9 = tmp_path / "clip.mkv"
    with av.open(str(clip)) as src, av.open(str(vp9), "w") as dst:
        stream = dst.add_stream("libvpx-vp9", rate=30, options={"lossless": "1"})
        stream.width, stream.height, stream.pix_fmt = 320, 192, "yuv420p"
        for f in src.decode(video=0):
            f.pts = None
            dst.mux(stream.encode(f))
        dst.mux(stream.encode(None))
    out = tmp_path / "out.mp4"
    assert _run(vp9, out).note is None
    with av.open(str(out)) as c:
        assert c.streams.video[0].codec_context.name == "h264"


def test_a_turned_phone_clip_is_copied_with_its_display_matrix(clip: Path, tmp_path: Path) -> None:
    phone = portrait_phone_clip(clip, tmp_path / "phone.mp4")
    out = tmp_path / "out.mp4"
    assert _run(phone, out).note is not None
    with VideoFileSource(phone) as a, VideoFileSource(out) as b:
        for before, after in zip(a, b, strict=True):
            assert after.image_rgb.shape == (192, 320, 3) and np.array_equal(before.image_rgb, after.image_rgb)
