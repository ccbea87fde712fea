"""Sinks write real H.264 files (read back with OpenCV and PyAV) and real image folders."""
from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np
import pytest
from cli_process import small_disk

from benchmarks.videos import make_face_video
from runtime.errors import ConfigError, DiskFullError, ImageError
from runtime.video.audio import AudioOutcome, has_audio
from runtime.video.frames import Frame
from runtime.video.preview import PreviewWindow
from runtime.video.sinks import ImageFolderSink, VideoFileSink, VideoSinkConfig


def _frames(n: int, size_wh: tuple[int, int] = (96, 64)) -> list[Frame]:
    w, h = size_wh
    return [Frame(np.full((h, w, 3), 10 * i, np.uint8), i, i * 1000 / 30) for i in range(n)]


def _read_back(path: Path) -> list[np.ndarray]:
    cap = cv2.VideoCapture(str(path))
    frames = []
    while True:
        ok, img = cap.read()
        if not ok:
            break
        frames.append(img)
    cap.release()
    return frames


def _leftovers(folder: Path) -> list[str]:
    return [p.name for p in folder.iterdir() if ".partial" in p.name]


def test_video_sink_writes_a_playable_h264_file(tmp_path: Path) -> None:
    out = tmp_path / "out.mp4"
    with VideoFileSink(out, VideoSinkConfig(fps=25.0, crf=0)) as sink:
        for frame in _frames(20):
            sink.write(frame)
    result = sink.close()
    assert result.path == out and result.frames == 20 and result.audio is AudioOutcome.NOT_REQUESTED
    back = _read_back(out)
    assert len(back) == 20 and back[0].shape == (64, 96, 3)
    assert abs(int(back[7][5, 5, 0]) - 70) <= 2
    with av.open(str(out)) as c:
        assert c.streams.video[0].codec_context.name == "h264"
        assert float(c.streams.video[0].average_rate) == pytest.approx(25.0)
    assert _leftovers(tmp_path) == []


def test_nothing_appears_under_the_final_name_before_close(tmp_path: Path) -> None:
    out = tmp_path / "out.mp4"
    sink = VideoFileSink(out)
    for frame in _frames(3):
        sink.write(frame)
    assert not out.exists() and len(_leftovers(tmp_path)) == 1
    sink.close()
    assert out.exists() and _leftovers(tmp_path) == []


def test_odd_frame_sizes_are_padded_to_even(tmp_path: Path) -> None:
    out = tmp_path / "odd.mp4"
    with VideoFileSink(out) as sink:
        for frame in _frames(2, (97, 63)):
            sink.write(frame)
    assert _read_back(out)[0].shape == (64, 98, 3)


def test_size_change_raises_but_keeps_what_was_written(tmp_path: Path) -> None:
    out = tmp_path / "out.mp4"
    sink = VideoFileSink(out)
    for frame in _frames(4):
        sink.write(frame)
    with pytest.raises(ImageError, match="a video needs one size"):
        sink.write(_frames(1, (64, 64))[0])
    assert sink.close().frames == 4
    assert len(_read_back(out)) == 4


def test_empty_sink_writes_nothing(tmp_path: Path) -> None:
    result = VideoFileSink(tmp_path / "none.mp4").close()
    assert result.path is None and result.frames == 0
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("name, match", [("out.avi", "must end in"), ("missing/out.mp4", "does not exist")])
def test_video_sink_rejects_bad_paths(tmp_path: Path, name: str, match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        VideoFileSink(tmp_path / name)


@pytest.mark.parametrize("kwargs", [{"fps": 0}, {"crf": 60}, {"preset": "warp"}, {"threads": -1}])
def test_video_sink_config_rejects_bad_values(kwargs: dict[str, object]) -> None:
    with pytest.raises(ConfigError):
        VideoSinkConfig(**kwargs)  # type: ignore[arg-type]


def test_live_recording_keeps_real_time_gaps(tmp_path: Path) -> None:
    out = tmp_path / "live.mp4"
    stamps = [1000.0, 1033.0, 1100.0, 1300.0]
    with VideoFileSink(out, VideoSinkConfig(use_timestamps=True)) as sink:
        for i, t in enumerate(stamps):
            sink.write(Frame(np.zeros((32, 32, 3), np.uint8), i, t))
    with av.open(str(out)) as c:
        times = [round(float(f.time) * 1000) for f in c.decode(video=0)]
    assert times == [0, 33, 100, 300]


def test_audio_is_copied_from_the_source(tmp_path: Path) -> None:
    src = tmp_path / "talk.mp4"
    make_face_video(src, size_wh=(96, 64), n_frames=15, blur=False, audio=True)
    assert has_audio(src)
    out = tmp_path / "out.mp4"
    sink = VideoFileSink(out, source=src)
    for frame in _frames(10):  # stopped early: audio must be cut to the video
        sink.write(frame)
    result = sink.close()
    assert result.audio is AudioOutcome.COPIED
    with av.open(str(out)) as c:
        audio = c.streams.audio[0]
        assert audio.codec_context.name == "aac"
        assert float(audio.duration * audio.time_base) < 10 / 30 + 0.1
        assert c.streams.video[0].frames == 10
    assert _leftovers(tmp_path) == []


def _video_with_pcm(path: Path, seconds: float = 0.5) -> None:
    with av.open(str(path), "w") as c:
        v = c.add_stream("libx264", rate=30)
        v.width, v.height, v.pix_fmt = 64, 64, "yuv420p"
        a = c.add_stream("pcm_s16le", rate=8000)
        for i in range(int(seconds * 30)):
            c.mux(v.encode(av.VideoFrame.from_ndarray(np.zeros((64, 64, 3), np.uint8), format="rgb24")))
        c.mux(v.encode(None))
        wave = (3000 * np.sin(np.arange(int(seconds * 8000)) / 3)).astype(np.int16)[None]
        frame = av.AudioFrame.from_ndarray(wave, format="s16", layout="mono")
        frame.sample_rate, frame.pts, frame.time_base = 8000, 0, Fraction(1, 8000)
        c.mux(a.encode(frame))
        c.mux(a.encode(None))


def test_audio_mp4_cannot_hold_is_transcoded_to_aac(tmp_path: Path) -> None:
    src = tmp_path / "cam.mov"
    _video_with_pcm(src)
    out = tmp_path / "out.mp4"
    with VideoFileSink(out, source=src) as sink:
        for frame in _frames(10, (64, 64)):
            sink.write(frame)
    assert sink.close().path == out  # a second close returns the same result
    with av.open(str(out)) as c:
        assert c.streams.audio[0].codec_context.name == "aac"


def test_source_without_audio_gives_video_only(tmp_path: Path) -> None:
    src = tmp_path / "silent.mp4"
    make_face_video(src, size_wh=(96, 64), n_frames=5, blur=False)
    sink = VideoFileSink(tmp_path / "out.mp4", source=src)
    for frame in _frames(5):
        sink.write(frame)
    assert sink.close().audio is AudioOutcome.NO_AUDIO
    assert not has_audio(tmp_path / "out.mp4")


def test_image_folder_sink_keeps_names_and_writes_atomically(tmp_path: Path) -> None:
    out = tmp_path / "out"
    sink = ImageFolderSink(out)
    img = np.zeros((20, 30, 3), np.uint8)
    img[..., 0] = 255  # red in RGB
    sink.write(Frame(img, 0, 0.0, "holiday.jpg"))
    sink.write(Frame(img, 7, 0.0))
    result = sink.close()
    assert result.path == out and result.frames == 2
    assert sorted(p.name for p in out.iterdir()) == ["frame_000007.png", "holiday.jpg"]
    back = cv2.imread(str(out / "frame_000007.png"))
    assert back[0, 0].tolist() == [0, 0, 255]  # BGR on disk


def test_image_folder_sink_can_force_a_format(tmp_path: Path) -> None:
    sink = ImageFolderSink(tmp_path / "o", suffix=".png")
    sink.write(Frame(np.zeros((4, 4, 3), np.uint8), 0, 0.0, "a.jpg"))
    assert [p.name for p in (tmp_path / "o").iterdir()] == ["a.png"]


def test_image_folder_sink_rejects_a_file_and_bad_formats(tmp_path: Path) -> None:
    (tmp_path / "f.txt").write_text("x")
    with pytest.raises(ConfigError, match="is a file"):
        ImageFolderSink(tmp_path / "f.txt")
    with pytest.raises(ConfigError, match="unsupported"):
        ImageFolderSink(tmp_path / "o", suffix=".gif")


def test_preview_is_refused_without_a_display(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    window, reason = PreviewWindow.open()
    assert window is None and reason is not None and "preview disabled" in reason


def test_writing_after_close_raises(tmp_path: Path) -> None:
    sink = VideoFileSink(tmp_path / "out.mp4")
    sink.write(_frames(1)[0])
    sink.close()
    with pytest.raises(ImageError, match="already finalised"):
        sink.write(_frames(1)[0])
    assert _leftovers(tmp_path) == []


def _textured(n: int, size_wh: tuple[int, int] = (160, 120)) -> list[Frame]:
    """Frames whose H.264 packets are a few kB each: a moving, noisy texture."""
    w, h = size_wh
    rng = np.random.default_rng(0)
    base = rng.integers(0, 256, (h, w + n, 3), dtype=np.uint8)
    return [Frame(np.ascontiguousarray(base[:, i: i + w]), i, i * 100.0) for i in range(n)]


def _decodable(path: Path) -> int:
    """Frames a player gets out of ``path`` before the first damaged packet."""
    n = 0
    with av.open(str(path)) as c:
        for packet in c.demux(video=0):
            try:
                n += len(packet.decode())
            except av.FFmpegError:
                break
    return n


def test_a_full_disk_stops_the_recording_and_keeps_what_it_took(tmp_path: Path) -> None:
    # FFmpeg's own file output ignored ENOSPC under fragmented MP4: the run "succeeded"
    with small_disk(tmp_path / "disk", "200k") as disk:
        sink = VideoFileSink(disk / "out.mp4", VideoSinkConfig(fps=10))
        with pytest.raises(DiskFullError, match=r"after \d+ frames: the disk is full; what was recorded is kept"):
            for frame in _textured(300):
                sink.write(frame)
        result = sink.close()                       # no second error
        assert result.path is None and result.frames >= 10
        assert not (disk / "out.mp4").exists()
        [partial] = _leftovers(disk)
        assert _decodable(disk / partial) >= 10        # at least its first whole second plays


def test_a_disk_that_fills_at_the_last_flush_fails_the_close(tmp_path: Path) -> None:
    with small_disk(tmp_path / "disk", "16k") as disk:
        sink = VideoFileSink(disk / "out.mkv", VideoSinkConfig(fps=10))
        for frame in _textured(3):     # x264 looks ahead: nothing reaches the file before close
            sink.write(frame)
        with pytest.raises(DiskFullError, match="after 3 frames: the disk is full"):
            sink.close()
        assert not (disk / "out.mkv").exists() and len(_leftovers(disk)) == 1


def test_image_folder_sink_on_a_full_disk(tmp_path: Path) -> None:
    with small_disk(tmp_path / "disk", "32k") as disk:
        sink = ImageFolderSink(disk / "frames")
        with pytest.raises(DiskFullError, match="the disk is full"):
            for frame in _textured(20):
                sink.write(frame)
        assert _leftovers(disk / "frames") == []
