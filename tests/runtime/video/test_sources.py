"""Frame sources: real generated video files and image folders; live sources with a fake
camera device injected through the capture factory (the only thing mocked)."""
from __future__ import annotations

import threading
import time
from contextlib import nullcontext as does_not_raise
from pathlib import Path

import cv2
import numpy as np
import pytest

from benchmarks.videos import make_face_video, portrait_phone_clip, truncate_file, variable_rate_clip
from runtime.errors import ConfigError, SourceError
from runtime.video.frames import SourceConfig, SourceEnd, SourceKind
from runtime.video.live import LiveSource
from runtime.video.sources import ImageFolderSource, VideoFileSource, classify_source, open_source

N_FRAMES = 20
FAST = SourceConfig(max_retries=2, backoff_s=0.01, backoff_max_s=0.02, stall_timeout_s=0.5)


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("src") / "clip.mp4"
    make_face_video(path, size_wh=(160, 96), n_frames=N_FRAMES, blur=False)
    return path


class FakeCamera:
    """A camera device: frames whose pixel value encodes their sequence number.

    ``fail_after`` frames it reports failure (unplugged); ``block`` makes ``read`` hang
    like a network stream that stopped sending.
    """

    def __init__(self, start: int = 0, fail_after: int | None = None, period_s: float = 0.002,
                 block: threading.Event | None = None) -> None:
        self.seq = start
        self.fail_after = fail_after
        self.period_s = period_s
        self.block = block
        self.reads = 0
        self.released = False

    def isOpened(self) -> bool:  # noqa: N802 - OpenCV's name
        return True

    def read(self) -> tuple[bool, np.ndarray | None]:
        if self.block is not None:
            self.block.wait(timeout=5.0)
            return False, None
        time.sleep(self.period_s)
        if self.fail_after is not None and self.reads >= self.fail_after:
            return False, None
        self.reads += 1
        frame = np.full((8, 8, 3), self.seq % 256, np.uint8)
        self.seq += 1
        return True, frame

    def get(self, prop_id: int) -> float:
        return {cv2.CAP_PROP_FRAME_WIDTH: 8.0, cv2.CAP_PROP_FRAME_HEIGHT: 8.0, cv2.CAP_PROP_FPS: 30.0}.get(prop_id, 0.0)

    def release(self) -> None:
        self.released = True


class ClosedCamera(FakeCamera):
    def isOpened(self) -> bool:  # noqa: N802
        return False


def test_video_file_yields_every_frame_in_order(clip: Path) -> None:
    with open_source(str(clip)) as source:
        frames = list(source)
        assert source.end is SourceEnd.EXHAUSTED
        info = source.info
    assert info.kind is SourceKind.FILE and not info.live and info.sequential
    assert info.size_wh == (160, 96) and info.fps == pytest.approx(30.0) and info.frame_count == N_FRAMES
    assert [f.index for f in frames] == list(range(N_FRAMES))
    assert np.all(np.diff([f.timestamp_ms for f in frames]) == pytest.approx(1000 / 30))
    assert frames[0].image_rgb.shape == (96, 160, 3) and frames[0].image_rgb.dtype == np.uint8


def test_video_file_is_rgb(tmp_path: Path) -> None:
    path = tmp_path / "red.mp4"
    from runtime.video.sinks import VideoFileSink, VideoSinkConfig
    from runtime.video.frames import Frame

    red = np.zeros((64, 64, 3), np.uint8)
    red[..., 0] = 200
    with VideoFileSink(path, VideoSinkConfig(crf=0)) as sink:
        sink.write(Frame(red, 0, 0.0))
    frame = next(iter(VideoFileSource(path)))
    assert frame.image_rgb[32, 32, 0] > 180 and frame.image_rgb[32, 32, 2] < 30


def test_a_phone_clip_turned_by_its_display_matrix_comes_upright(clip: Path, tmp_path: Path) -> None:
    phone = portrait_phone_clip(clip, tmp_path / "phone.mp4")     # stored 96x160, shown 160x96
    with open_source(str(clip)) as a, open_source(str(phone)) as b:
        upright, shown = list(a), list(b)
        assert b.info.size_wh == a.info.size_wh == (160, 96)
    assert len(shown) == len(upright) == N_FRAMES
    diff = np.abs(shown[5].image_rgb.astype(np.float32) - upright[5].image_rgb).mean()
    assert diff < 3, f"frames differ by {diff:.1f} levels: not turned upright"


def test_a_variable_rate_clip_gives_each_frame_its_own_time(clip: Path, tmp_path: Path) -> None:
    times = variable_rate_clip(clip, tmp_path / "vfr.mp4", slow=range(5, 10))
    with VideoFileSource(tmp_path / "vfr.mp4") as source:
        got = [f.timestamp_ms for f in source]
    assert got == pytest.approx(times, abs=1.0)     # not index / average rate: the audio follows these
    assert got[9] - got[8] == pytest.approx(100, abs=1.0)


def test_truncated_file_ends_early_and_says_so(clip: Path, tmp_path: Path) -> None:
    cut = truncate_file(clip, tmp_path / "cut.mp4", 0.6)
    with VideoFileSource(cut) as source:
        frames = list(source)
        assert source.end is SourceEnd.TRUNCATED
    assert 0 < len(frames) < N_FRAMES


def test_damaged_packets_mid_file_are_skipped_and_the_rest_plays(tmp_path: Path,
                                                                  caplog: pytest.LogCaptureFixture) -> None:
    """Three 4 kB runs of garbage inside a 60-frame clip: OpenCV's reader stopped at frame 13."""
    path = tmp_path / "clip.mp4"
    make_face_video(path, size_wh=(320, 192), n_frames=60, n_faces=1, seed=3)
    data = bytearray(path.read_bytes())
    rng = np.random.default_rng(1)
    for at in (0.3, 0.5, 0.7):
        start = int(len(data) * at)
        data[start:start + 4000] = rng.integers(0, 256, 4000, dtype=np.uint8).tobytes()
    path.write_bytes(bytes(data))
    with VideoFileSource(path) as source:
        frames = list(source)
    assert len(frames) >= 55 and np.all(np.diff([f.timestamp_ms for f in frames]) > 0)
    assert "damaged packets skipped" in caplog.text


@pytest.mark.parametrize("content, match", [
    (None, "not found"),
    (b"this is not a video", "cannot decode"),
])
def test_bad_video_file_raises_one_line(tmp_path: Path, content: bytes | None, match: str) -> None:
    path = tmp_path / "bad.mp4"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(SourceError, match=match) as err:
        open_source(str(path))
    assert "\n" not in str(err.value)


def test_an_audio_file_is_named_as_one(tmp_path: Path) -> None:
    """A voice memo given as the source is not a broken video: re-encoding would not help."""
    import av

    path = tmp_path / "memo.m4a"
    with av.open(str(path), "w") as c:
        stream = c.add_stream("aac", rate=16000)
        for i in range(10):
            frame = av.AudioFrame.from_ndarray(np.zeros((1, 1024), np.float32), format="fltp", layout="mono")
            frame.sample_rate, frame.pts = 16000, i * 1024
            for packet in stream.encode(frame):
                c.mux(packet)
        for packet in stream.encode():
            c.mux(packet)
    with pytest.raises(SourceError, match="holds only audio, no picture"):
        open_source(str(path))


def test_folder_reads_images_in_name_order_and_skips_broken(tmp_path: Path) -> None:
    for name, value in (("b.png", 20), ("a.png", 10), ("c.jpg", 30)):
        cv2.imwrite(str(tmp_path / name), np.full((40, 50, 3), value, np.uint8))
    (tmp_path / "broken.png").write_bytes(b"nope")
    (tmp_path / "notes.txt").write_text("ignored")
    with open_source(str(tmp_path)) as source:
        frames = list(source)
        assert isinstance(source, ImageFolderSource)
        assert [p.name for p in source.skipped] == ["broken.png"]
        assert not source.info.sequential
    assert [f.name for f in frames] == ["a.png", "b.png", "c.jpg"]
    assert [f.index for f in frames] == [0, 1, 2]
    assert [int(f.image_rgb[0, 0, 0]) for f in frames[:2]] == [10, 20]


def test_single_image_file_is_a_folder_source(tmp_path: Path) -> None:
    cv2.imwrite(str(tmp_path / "one.png"), np.zeros((10, 12, 3), np.uint8))
    frames = list(open_source(str(tmp_path / "one.png")))
    assert len(frames) == 1 and frames[0].image_rgb.shape == (10, 12, 3)


def test_empty_folder_raises(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="no images"):
        open_source(str(tmp_path))


@pytest.mark.parametrize("spec, kind, raises", [
    ("0", SourceKind.CAMERA, does_not_raise()),
    ("/dev/video2", SourceKind.CAMERA, does_not_raise()),
    ("rtsp://127.0.0.1:8554/cam", SourceKind.STREAM, does_not_raise()),
    ("http://127.0.0.1/live.m3u8", SourceKind.STREAM, does_not_raise()),
    ("ftp://host/clip.mp4", None, pytest.raises(ConfigError, match="unsupported scheme")),
    ("photo.JPG", SourceKind.FOLDER, does_not_raise()),
    ("clip.mp4", SourceKind.FILE, does_not_raise()),
])
def test_classify_source(spec: str, kind: SourceKind | None, raises: object) -> None:
    with raises:  # type: ignore[attr-defined]
        assert classify_source(spec) is kind


@pytest.mark.parametrize("kwargs", [
    {"max_retries": -1}, {"backoff_s": -0.1}, {"backoff_s": 2.0, "backoff_max_s": 1.0},
    {"stall_timeout_s": 0}, {"size_wh": (0, 480)},
])
def test_source_config_rejects_bad_values(kwargs: dict[str, object]) -> None:
    with pytest.raises(ConfigError):
        SourceConfig(**kwargs)  # type: ignore[arg-type]


def test_live_source_keeps_only_the_latest_frame() -> None:
    camera = FakeCamera(period_s=0.002)
    source = LiveSource(lambda: camera, SourceKind.CAMERA, "fake", FAST)
    try:
        frames = []
        for _ in range(5):
            frame = source.read()
            assert frame is not None
            frames.append(frame)
            time.sleep(0.03)  # a slow consumer
        assert source.dropped_frames > 0
    finally:
        source.close()
    indices = [f.index for f in frames]
    assert all(b > a + 1 for a, b in zip(indices, indices[1:])), indices
    # the frame content is the frame it says it is (no stale buffer)
    assert all(int(f.image_rgb[0, 0, 0]) == f.index % 256 for f in frames)
    assert source.end is SourceEnd.CLOSED and camera.released


def test_live_source_reconnects_after_a_drop() -> None:
    cameras = [FakeCamera(fail_after=3), FakeCamera(start=100)]
    opened: list[FakeCamera] = []

    def factory() -> FakeCamera:
        opened.append(cameras[len(opened)])
        return opened[-1]

    source = LiveSource(factory, SourceKind.CAMERA, "fake", FAST)
    try:
        seen = []
        while len(seen) < 6:
            frame = source.read()
            assert frame is not None
            seen.append(int(frame.image_rgb[0, 0, 0]))
        assert source.end is SourceEnd.RUNNING
    finally:
        source.close()
    assert len(opened) == 2 and opened[0].released
    assert any(v >= 100 for v in seen)


def test_live_source_gives_up_cleanly_after_retries() -> None:
    calls = [0]

    def factory() -> FakeCamera:
        calls[0] += 1
        return FakeCamera(fail_after=2) if calls[0] == 1 else ClosedCamera()

    source = LiveSource(factory, SourceKind.CAMERA, "fake", FAST)
    frames = list(source)
    assert 1 <= len(frames) <= 2
    assert source.end is SourceEnd.LOST
    assert calls[0] == 1 + FAST.max_retries
    source.close()
    assert source.end is SourceEnd.LOST


def test_stream_that_never_opens_raises_after_retries() -> None:
    calls = [0]

    def factory() -> ClosedCamera:
        calls[0] += 1
        return ClosedCamera()

    with pytest.raises(SourceError, match="cannot open stream fake after 2 retries"):
        LiveSource(factory, SourceKind.STREAM, "fake", FAST)
    assert calls[0] == 3


def test_camera_that_does_not_open_fails_at_once() -> None:
    """Retries are for a camera that was there and dropped, not one that never opened."""
    calls = [0]

    def factory() -> ClosedCamera:
        calls[0] += 1
        return ClosedCamera()

    with pytest.raises(SourceError, match="cannot open camera fake; check it is connected"):
        LiveSource(factory, SourceKind.CAMERA, "fake", FAST)
    assert calls[0] == 1


def test_stalled_stream_counts_as_lost() -> None:
    hang = threading.Event()
    camera = FakeCamera(block=hang)
    source = LiveSource(lambda: camera, SourceKind.STREAM, "fake", FAST)
    try:
        assert source.read() is None
        assert source.end is SourceEnd.LOST
    finally:
        hang.set()
        source.close()


class _Server:
    """A loopback HTTP server over ``folder`` (a real FFmpeg network read); ``stall_after``
    bytes into a file it stops sending, until ``release`` is set (a camera that froze)."""

    def __init__(self, folder: Path, stall_after: int | None = None) -> None:
        import functools
        import http.server

        self.release = threading.Event()
        release = self.release

        class Handler(http.server.SimpleHTTPRequestHandler):
            def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - base signature
                pass

            def copyfile(self, source, outputfile) -> None:  # type: ignore[no-untyped-def]
                if stall_after is None:
                    return super().copyfile(source, outputfile)
                outputfile.write(source.read(stall_after))
                outputfile.flush()
                release.wait(timeout=10.0)

        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Handler, directory=str(folder)))
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def url(self, name: str) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/{name}"

    def close(self) -> None:
        self.release.set()
        self._server.shutdown()
        self._server.server_close()


def test_http_stream_is_a_live_source_whose_frames_carry_their_samples(clip: Path) -> None:
    """Streams are decoded as files are: RGB the same, and the samples for the recording."""
    import av

    server = _Server(clip.parent)
    try:
        with open_source(server.url(clip.name), FAST) as source:
            assert source.info.kind is SourceKind.STREAM and source.info.live
            frame = source.read()
    finally:
        server.close()
    assert frame is not None and frame.image_rgb.shape == (96, 160, 3) and frame.decoded is not None
    with av.open(str(clip)) as c:
        samples = [f.to_ndarray().tobytes() for f in c.decode(video=0)]
    assert frame.decoded.i420.tobytes() in samples
    with VideoFileSource(clip) as file:
        assert any(np.array_equal(f.image_rgb, frame.image_rgb) for f in file)


def test_an_mjpeg_http_camera_reads_as_opencv_read_it() -> None:
    """ESP32-CAM and most cheap IP cameras send JPEGs as multipart/x-mixed-replace over HTTP."""
    import http.server

    from skimage import data

    jpeg = cv2.imencode(".jpg", cv2.cvtColor(data.astronaut()[::2, ::2], cv2.COLOR_RGB2BGR))[1].tobytes()

    class Camera(http.server.BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - base signature
            pass

        def do_GET(self) -> None:  # noqa: N802 - the base class's name
            self.send_response(200)
            self.send_header("Content-Type", "multipart/x-mixed-replace; boundary=frame")
            self.end_headers()
            try:
                for _ in range(100):
                    self.wfile.write(b"--frame\r\nContent-Type: image/jpeg\r\nContent-Length: %d\r\n\r\n%s\r\n"
                                     % (len(jpeg), jpeg))
                    time.sleep(0.02)
            except OSError:
                pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Camera)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/stream"
    try:
        with open_source(url, FAST) as source:
            frame = source.read()
        opencv = cv2.VideoCapture(url, cv2.CAP_FFMPEG)
        ok, bgr = opencv.read()
        opencv.release()
    finally:
        server.shutdown()
        server.server_close()
    assert frame is not None and ok
    assert np.array_equal(frame.image_rgb, cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))
    assert frame.decoded is None        # full-range JPEG samples are not what the sink encodes


def test_a_stream_that_freezes_ends_lost_in_its_stall_time(clip: Path) -> None:
    server = _Server(clip.parent, stall_after=clip.stat().st_size // 2)
    config = SourceConfig(max_retries=0, stall_timeout_s=0.5)
    t0 = time.monotonic()
    try:
        with open_source(server.url(clip.name), config) as source:
            frames = iter(source.read, None)
            got = sum(1 for _ in frames)
            assert source.end is SourceEnd.LOST
    finally:
        server.close()
    assert 0 < got < N_FRAMES and time.monotonic() - t0 < 5.0


@pytest.mark.parametrize("suffix", [".webp", ".png"])
def test_an_animated_image_plays_every_frame_at_its_own_times(tmp_path: Path, suffix: str) -> None:
    """OpenCV reads only the first frame of an animated WebP or PNG; the source reads them all."""
    from PIL import Image

    path = tmp_path / f"loop{suffix}"
    values = (30, 120, 220)
    frames = [Image.fromarray(np.full((24, 32, 3), v, np.uint8)) for v in values]
    frames[0].save(path, save_all=True, append_images=frames[1:], duration=[40, 120, 40], lossless=True)
    with open_source(str(path)) as source:
        assert source.info.frame_count == 3 and source.info.size_wh == (32, 24)
        got = list(source)
        assert source.end is SourceEnd.EXHAUSTED
    assert [int(np.median(f.image_rgb)) for f in got] == list(values)
    assert [f.timestamp_ms for f in got] == [0.0, 40.0, 160.0]
    single = tmp_path / f"still{suffix}"
    frames[0].save(single)
    assert isinstance(open_source(str(single)), ImageFolderSource)
