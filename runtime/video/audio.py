"""Stream copying: a source's audio track into a processed video, or a whole source's tracks.

The video sink finalises its recording first, then ``mux_audio`` adds the audio next to
its video track, trimmed to the video's length so a recording that stopped early stays in
sync; ``copy_streams`` is the same copy with any video file's track (``runtime.video.passthrough``
copies the source's own). PyAV is imported on use: only video outputs need it.

Example:
    >>> if has_audio(Path("clip.mp4")):
    ...     outcome = mux_audio(Path("video_only.mp4"), Path("clip.mp4"), Path("out.mp4"))
"""
from __future__ import annotations

import enum
import heapq
from contextlib import ExitStack
from pathlib import Path
from typing import Iterator


class AudioOutcome(str, enum.Enum):
    """What happened to the source's audio track."""

    NOT_REQUESTED = "not_requested"
    NO_AUDIO = "no_audio"
    COPIED = "copied"
    TRANSCODED = "transcoded"
    DROPPED = "dropped"


def mux_audio(video: Path, audio_source: Path, out: Path) -> AudioOutcome:
    """Write ``video``'s video track plus ``audio_source``'s first audio track into ``out``
    (``copy_streams``). Nothing is written when the source has no audio (returns ``NO_AUDIO``).

    Raises:
        av.FFmpegError: a file cannot be read or written.
    """
    import av

    with av.open(str(audio_source)) as src:
        if not src.streams.audio:
            return AudioOutcome.NO_AUDIO
    return copy_streams(video, out, audio_source)[0]


def copy_streams(video: Path, out: Path, audio_source: Path | None = None) -> tuple[AudioOutcome, int]:
    """Copy ``video``'s first video track into ``out`` packet for packet, with ``audio_source``'s
    first audio track when it has one; returns what became of the audio and how many video
    packets were copied.

    Audio packets are copied without re-encoding when the output container accepts the codec,
    else the audio is re-encoded to AAC. Audio past the end of the video is cut, so a
    recording that stopped early stays in sync.

    Raises:
        av.FFmpegError: a file cannot be read or written.
    """
    import av

    with ExitStack() as files:
        vid = files.enter_context(av.open(str(video)))
        src = files.enter_context(av.open(str(audio_source))) if audio_source is not None else None
        a_in = src.streams.audio[0] if src is not None and src.streams.audio else None
        dst = files.enter_context(av.open(str(out), "w", options={"movflags": "+faststart"}))
        v_in = vid.streams.video[0]
        v_out = dst.add_stream_from_template(v_in)
        end_s = _duration_s(v_in)
        copy = a_in is not None and a_in.codec_context.name in _copyable_audio(out.suffix)
        a_out = (None if a_in is None else dst.add_stream_from_template(a_in) if copy
                 else dst.add_stream("aac", rate=a_in.codec_context.sample_rate))
        packets = 0
        demuxers = [vid.demux(v_in)] + ([src.demux(a_in)] if src is not None and a_in is not None else [])
        for packet in _merge_by_time(*demuxers):
            if packet.stream is v_in:
                packet.stream = v_out
                dst.mux(packet)
                packets += 1
                continue
            if packet.pts is not None and float(packet.pts * packet.time_base) >= end_s:
                break
            if copy:
                packet.stream = a_out
                dst.mux(packet)
            else:
                for fr in packet.decode():
                    fr.pts = None
                    dst.mux(a_out.encode(fr))
        if a_out is not None and not copy:
            dst.mux(a_out.encode(None))
    if audio_source is None:
        return AudioOutcome.NOT_REQUESTED, packets
    if a_in is None:
        return AudioOutcome.NO_AUDIO, packets
    return (AudioOutcome.COPIED if copy else AudioOutcome.TRANSCODED), packets


def has_audio(path: Path) -> bool:
    """Whether a media file has an audio track (False when it cannot be read)."""
    import av

    try:
        with av.open(str(path)) as src:
            return bool(src.streams.audio)
    except av.FFmpegError:
        return False


def _copyable_audio(suffix: str) -> frozenset[str]:
    common = {"aac", "mp3", "ac3", "eac3", "alac", "opus", "flac"}
    if suffix.lower() in (".mov", ".mkv"):
        common |= {"pcm_s16le", "pcm_s24le", "pcm_f32le"}
    if suffix.lower() == ".mkv":
        common |= {"vorbis"}
    return frozenset(common)


def _duration_s(stream: object) -> float:
    duration, tb = getattr(stream, "duration", None), getattr(stream, "time_base", None)
    if duration is None or tb is None:
        return float("inf")
    return float(duration * tb)


def _merge_by_time(*demuxers: Iterator[object]) -> Iterator[object]:
    """Interleave packets of several demuxers by decode time; flush packets are skipped."""
    def timed(it: Iterator[object]) -> Iterator[tuple[float, object]]:
        for p in it:
            dts = getattr(p, "dts", None)
            if dts is None:
                continue
            yield float(dts * p.time_base), p  # type: ignore[attr-defined]
    for _, packet in heapq.merge(*(timed(d) for d in demuxers), key=lambda t: t[0]):
        yield packet
