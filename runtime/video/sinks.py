"""Frame sinks: H.264 video files (audio added by ``runtime.video.audio``) and image folders.

Every output is written under a temporary name in the target folder and renamed into place
when finalised, so a failed run never leaves a half-written file under the requested name,
and a run that stops early (source truncated, camera lost, Ctrl-C) still closes a playable
recording of the frames it processed. MP4/MOV recordings are fragmented (a self-contained
piece about every second), so even after ``kill -9`` or a power cut the temporary file
plays up to the crash; ``runtime.video.leftovers`` lets the next run point to it.

Example:
    >>> with VideoFileSink(Path("out.mp4"), VideoSinkConfig(fps=30.0)) as sink:
    ...     sink.write(frame)
"""
from __future__ import annotations

import errno
import logging
import os
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from types import TracebackType
from typing import Protocol

import cv2
import numpy as np
from numpy.typing import NDArray

from facemask.files import atomic_write, new_file_mode, publish
from runtime.errors import ConfigError, DiskFullError, ImageError, closest, write_error
from runtime.video.audio import AudioOutcome, mux_audio
from runtime.video.colour import ColourTags
from runtime.video.frames import Frame
from runtime.video.leftovers import make_partial
from runtime.video.passthrough import copy_unchanged
from runtime.video.sources import IMAGE_SUFFIXES
from runtime.video.yuv import to_i420

log = logging.getLogger(__name__)

VIDEO_SUFFIXES: tuple[str, ...] = (".mp4", ".mov", ".mkv")


@dataclass(frozen=True, slots=True)
class SinkResult:
    """What a sink produced.

    Attributes:
        path: the finished file or folder; ``None`` when nothing was written.
        frames: frames written.
        audio: the audio outcome (video sinks only).
        note: one line for the user when something was not as asked (e.g. audio dropped).
    """

    path: Path | None
    frames: int
    audio: AudioOutcome = AudioOutcome.NOT_REQUESTED
    note: str | None = None


class Sink(Protocol):
    """Consumes processed frames; ``close()`` finalises the output."""

    def write(self, frame: Frame) -> None: ...

    def close(self) -> SinkResult: ...


@dataclass(frozen=True, slots=True)
class VideoSinkConfig:
    """H.264 encoding settings.

    Attributes:
        fps: nominal frame rate (files keep it exactly; live recordings use it as a hint).
        crf: x264 constant rate factor, 0 (lossless) .. 51; 18 is visually lossless.
        preset: x264 speed/size trade-off, ``ultrafast`` .. ``veryslow``.
        threads: encoder threads; 0 lets x264 choose. One by default: on a small CPU the
            model already keeps every core busy, and x264's frame threads only contend.
        use_timestamps: take each frame's time from ``Frame.timestamp_ms`` instead of a
            constant rate: live sources drop frames, and phones record files at a variable
            rate; either way the audio stays in sync only if the gaps are kept.
        colour: the source's colour tags, written into the output so it plays with the
            source's colours (an HDR clip stays HDR).
    """

    fps: float = 30.0
    crf: int = 18
    preset: str = "veryfast"
    threads: int = 1
    use_timestamps: bool = False
    colour: ColourTags = ColourTags()

    _PRESETS = ("ultrafast", "superfast", "veryfast", "faster", "fast", "medium", "slow",
                "slower", "veryslow")

    def __post_init__(self) -> None:
        if not (np.isfinite(self.fps) and self.fps > 0):
            raise ConfigError(f"video fps={self.fps} must be a positive number")
        if not 0 <= self.crf <= 51:
            raise ConfigError(f"`crf` {self.crf} must be in 0..51 (18 is visually lossless, lower keeps more)")
        if self.preset not in self._PRESETS:
            near = closest(self.preset, self._PRESETS)
            raise ConfigError(f"`preset` {self.preset!r} unknown; {f'did you mean {near!r}? ' if near else ''}"
                              f"use one of {', '.join(self._PRESETS)}")
        if self.threads < 0:
            raise ConfigError(f"threads={self.threads} must be >= 0 (0 = automatic)")


TIMESTAMP_HZ = 90_000
"""Clock of timestamped recordings: MPEG's 90 kHz holds 24, 25, 30, 60 and their /1.001 rates exactly."""

FRAGMENT_US = 1_000_000
"""Longest stretch of an MP4/MOV recording a crash can lose: fragments are cut every second."""


def _container_options(path: Path) -> dict[str, str]:
    """Muxer options: fragmented MP4/MOV (playable when cut off), flushed to the OS per packet."""
    if path.suffix.lower() == ".mkv":     # Matroska clusters already play when cut off
        return {"flush_packets": "1"}
    return {"movflags": "frag_keyframe+empty_moov+delay_moov+default_base_moof", "frag_duration": str(FRAGMENT_US),
            "flush_packets": "1"}


def _even(image: NDArray[np.uint8]) -> NDArray[np.uint8]:
    """Pad odd widths/heights by one edge pixel: 4:2:0 video needs even sizes."""
    h, w = image.shape[:2]
    if h % 2 == 0 and w % 2 == 0:
        return image
    return cv2.copyMakeBorder(image, 0, h % 2, 0, w % 2, cv2.BORDER_REPLICATE)


_FORMATS = {".mp4": "mp4", ".mov": "mov", ".mkv": "matroska"}
"""Muxer of each video suffix (the recording is written through a file object, not a name)."""


class _CheckedFile:
    """The recording's temporary file, written by PyAV through Python so that write errors
    are seen: with FFmpeg's own file output, a full disk under a fragmented MP4 raised
    nothing, and ``run`` reported success over a cut-off, unplayable file. The first error
    is kept in ``error`` for the sink to report; writes are unbuffered, so what FFmpeg
    flushes is on the disk (the crash-safety of fragments)."""

    def __init__(self, path: Path) -> None:
        self._raw = open(path, "wb", buffering=0)
        self.error: OSError | None = None

    def write(self, data: bytes) -> int:
        view = memoryview(data)
        try:
            while view:
                view = view[self._raw.write(view):]     # a blocking file: short writes only
        except OSError as e:
            self.error = self.error or e
            raise
        return len(data)

    def seek(self, offset: int, whence: int = os.SEEK_SET) -> int:
        return self._raw.seek(offset, whence)

    def tell(self) -> int:
        return self._raw.tell()

    def close(self) -> None:
        self._raw.close()


@dataclass(slots=True)
class _Encoder:
    """An open output: container, its H.264 stream, the temporary file and the frame size."""

    container: object
    stream: object
    tmp: Path
    file: _CheckedFile
    size_wh: tuple[int, int]


class VideoFileSink:
    """Encodes RGB frames to an H.264 ``.mp4``/``.mov``/``.mkv`` with PyAV.

    Args:
        path: the output file; written at ``close()`` by renaming a temporary file.
        config: encoder settings.
        source: the video file the frames were decoded from: its first audio track is copied
            into the output (trimmed to the video's length), and when the run changed no
            pixel of any frame, its own H.264 stream replaces the encode
            (``runtime.video.passthrough``); ``None`` records no audio.
        overwrite: replace ``path`` if it exists at ``close()``; False never replaces a
            file (one that appeared meanwhile makes the recording go to ``stem.1.mp4``).

    Raises:
        ConfigError: the suffix is not a supported container or the folder is missing.
    """

    def __init__(self, path: Path, config: VideoSinkConfig = VideoSinkConfig(),
                 source: Path | None = None, *, overwrite: bool = True) -> None:
        if path.suffix.lower() not in VIDEO_SUFFIXES:
            raise ConfigError(f"`path` {path}: video outputs must end in {', '.join(VIDEO_SUFFIXES)}")
        if not path.parent.is_dir():
            raise ConfigError(f"`path` {path}: folder {path.parent} does not exist; create it first")
        import av  # heavy; only video outputs need it

        self._av = av
        self._path = path
        self._config = config
        self._source = source
        self._overwrite = overwrite
        self._enc: _Encoder | None = None
        self._result: SinkResult | None = None
        self._frames = 0
        self._t0_ms: float | None = None
        self._last_pts = -1
        self._untouched: NDArray[np.uint8] | None = None   # frame 0's samples while no frame was changed

    def _start(self, size_wh: tuple[int, int]) -> _Encoder:
        tmp = make_partial(self._path)
        file = _CheckedFile(tmp)
        container = self._av.open(file, "w", format=_FORMATS[self._path.suffix.lower()],
                                  options=_container_options(self._path))
        rate = Fraction(self._config.fps).limit_denominator(1001)
        stream = container.add_stream("libx264", rate=rate)
        stream.width, stream.height = size_wh[0] + size_wh[0] % 2, size_wh[1] + size_wh[1] % 2
        stream.pix_fmt = "yuv420p"
        self._config.colour.apply(stream.codec_context)
        stream.options = {"crf": str(self._config.crf), "preset": self._config.preset}
        stream.thread_count = self._config.threads
        stream.codec_context.time_base = (Fraction(1, TIMESTAMP_HZ) if self._config.use_timestamps
                                          else 1 / rate)
        self._enc = _Encoder(container, stream, tmp, file, size_wh)
        return self._enc

    def write(self, frame: Frame) -> None:
        """Encode one frame (HxWx3 uint8 RGB; every frame must have the first frame's size).

        Raises:
            ImageError: the frame size changed mid-stream, the sink is closed, or the disk
                refused the recording (full): the temporary file is kept, as after a crash.
        """
        if self._result is not None:
            raise ImageError(f"{self._path} is already finalised; open a new sink to write more")
        h, w = frame.image_rgb.shape[:2]
        enc = self._enc or self._start((w, h))
        if (w, h) != enc.size_wh:
            raise ImageError(f"frame {frame.index} is {w}x{h} but {self._path} was started at "
                             f"{enc.size_wh[0]}x{enc.size_wh[1]}; a video needs one size "
                             "(write to an image folder instead)")
        i420 = to_i420(frame)      # a file's own samples where the run changed nothing
        if frame.decoded is None or i420 is not frame.decoded.i420:
            self._untouched = None
        elif self._frames == 0:
            self._untouched = i420
        vf = (self._av.VideoFrame.from_ndarray(_even(frame.image_rgb), format="rgb24") if i420 is None
              else self._av.VideoFrame.from_ndarray(i420, format="yuv420p"))
        vf.pts = self._next_pts(frame)
        vf.time_base = enc.stream.codec_context.time_base  # type: ignore[attr-defined]
        try:
            enc.container.mux(enc.stream.encode(vf))  # type: ignore[attr-defined]
        except OSError as e:         # PyAV raises what _CheckedFile raised, at a later packet
            enc.file.error = enc.file.error or e
        if enc.file.error is not None:
            raise self._cut_off(enc) from enc.file.error
        self._frames += 1

    def _cut_off(self, enc: _Encoder) -> ImageError:
        """The error of a recording its file refused to take more of (a full disk, mostly)."""
        error = enc.file.error
        full = error is not None and error.errno == errno.ENOSPC
        why = "the disk is full" if full else (error.strerror if error is not None else "the write failed")
        return (DiskFullError if full else ImageError)(
            f"cannot write {self._path} after {self._frames} frames: {why}; what was recorded is kept in "
            f"{enc.tmp} (it plays up to the last second written); free space there or record elsewhere (`path`)")

    def _next_pts(self, frame: Frame) -> int:
        if not self._config.use_timestamps:
            pts = self._frames
        else:
            if self._t0_ms is None:
                self._t0_ms = frame.timestamp_ms
            pts = max(int(round((frame.timestamp_ms - self._t0_ms) * TIMESTAMP_HZ / 1000)), self._last_pts + 1)
        self._last_pts = pts
        return pts

    def close(self) -> SinkResult:
        """Flush the encoder, add audio, and rename into place; later calls return the same result.

        Raises:
            ImageError: the encoder or muxer failed (the temporary file is removed), or the
                disk refused the last of the recording (the temporary file is kept).
        """
        if self._result is not None:
            return self._result
        enc, self._enc = self._enc, None
        if enc is None:
            self._result = SinkResult(None, 0)
            return self._result
        tmp = enc.tmp
        if enc.file.error is not None:     # write() has raised: keep the cut-off recording, as a crash would
            self._close_quietly(enc)
            self._result = SinkResult(None, self._frames)
            return self._result
        try:
            enc.container.mux(enc.stream.encode(None))  # type: ignore[attr-defined]
            enc.container.close()  # type: ignore[attr-defined]
            enc.file.close()
            if enc.file.error is not None:
                raise enc.file.error
            audio, note = AudioOutcome.NOT_REQUESTED, None
            copied = self._copy_source(tmp)
            if copied is not None:
                audio, note, tmp = copied
            elif self._source is not None:
                audio, note, tmp = self._add_audio(tmp, self._source)
            os.chmod(tmp, new_file_mode(self._path))   # the replaced file's mode, else the umask's
            final = publish(tmp, self._path, exclusive=not self._overwrite)
        except (self._av.FFmpegError, OSError) as e:
            self._close_quietly(enc)
            if enc.file.error is not None:
                raise self._cut_off(enc) from e
            tmp.unlink(missing_ok=True)
            raise ImageError(f"cannot finalise {self._path}: {e}; check free disk space") from e
        self._result = SinkResult(final, self._frames, audio, note)
        return self._result

    def _close_quietly(self, enc: _Encoder) -> None:
        """Close the container and its file after a failure, which they may repeat."""
        for close in (enc.container.close, enc.file.close):  # type: ignore[attr-defined]
            try:
                close()
            except (self._av.FFmpegError, OSError):
                pass

    def _copy_source(self, video_tmp: Path) -> tuple[AudioOutcome, str, Path] | None:
        """The source's own streams in place of the encode, when no frame was changed."""
        if self._source is None or self._untouched is None:
            return None
        copy = make_partial(self._path)
        audio = copy_unchanged(self._source, copy, self._frames, self._untouched)
        if audio is None:
            copy.unlink(missing_ok=True)
            return None
        video_tmp.unlink(missing_ok=True)
        return audio, (f"no pixel needed changing: {self._path.name} holds {self._source.name}'s own video "
                       "stream, copied as it was (not re-encoded)"), copy

    def _add_audio(self, video_tmp: Path, source: Path) -> tuple[AudioOutcome, str | None, Path]:
        muxed = make_partial(self._path)
        try:
            outcome = mux_audio(video_tmp, source, muxed)
        except self._av.FFmpegError as e:
            muxed.unlink(missing_ok=True)
            note = f"audio of {source} could not be carried over ({e}); video saved without it"
            log.warning(note)
            return AudioOutcome.DROPPED, note, video_tmp
        if outcome is AudioOutcome.NO_AUDIO:
            muxed.unlink(missing_ok=True)
            return outcome, None, video_tmp
        video_tmp.unlink(missing_ok=True)
        return outcome, None, muxed

    def __enter__(self) -> VideoFileSink:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()


class ImageFolderSink:
    """Writes each frame as an image in a folder, atomically, named after its source file.

    Frames without a name (video sources) become ``frame_000000.png`` and so on.

    Args:
        folder: created at the first write if missing.
        suffix: force an image format (``.png``, ``.jpg``...); ``None`` keeps each source
            file's format (PNG for unnamed frames).
        jpeg_quality: quality for JPEG output.
    """

    def __init__(self, folder: Path, suffix: str | None = None, jpeg_quality: int = 95) -> None:
        if suffix is not None and suffix.lower() not in IMAGE_SUFFIXES:
            raise ConfigError(f"image format {suffix} unsupported; use one of {', '.join(IMAGE_SUFFIXES)}")
        if folder.exists() and not folder.is_dir():
            raise ConfigError(f"`folder` {folder} is a file; give a folder for image outputs")
        self._folder = folder
        self._suffix = suffix
        self._params = [cv2.IMWRITE_JPEG_QUALITY, jpeg_quality]
        self._frames = 0

    def write(self, frame: Frame) -> None:
        """Encode and atomically write one frame (HxWx3 uint8 RGB).

        Raises:
            ImageError: OpenCV cannot encode the frame in the chosen format, or the image
                cannot be written (DiskFullError when the disk is full).
        """
        stem, src_suffix = (Path(frame.name).stem, Path(frame.name).suffix) if frame.name else (
            f"frame_{frame.index:06d}", ".png")
        suffix = self._suffix or src_suffix or ".png"
        target = self._folder / f"{stem}{suffix}"
        ok, buf = cv2.imencode(suffix, cv2.cvtColor(frame.image_rgb, cv2.COLOR_RGB2BGR), self._params)
        if not ok:
            raise ImageError(f"cannot encode {target}: OpenCV rejected the {suffix} format; "
                             "choose another output format")
        try:
            self._folder.mkdir(parents=True, exist_ok=True)
            atomic_write(target, buf.tobytes())
        except OSError as e:
            raise write_error(target, e) from e
        self._frames += 1

    def close(self) -> SinkResult:
        """Nothing to flush: every image is already in place."""
        return SinkResult(self._folder if self._frames else None, self._frames)
