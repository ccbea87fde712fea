"""A run that changed no pixel of a video file gives back the file's own video stream.

Re-encoding an untouched clip can only lose: a sharp 720p face that the run leaves alone keeps
42.0 dB against its decoded input at crf 18 (``benchmarks/results/runtime/real``), and the file
grows or shrinks with a crf the user never chose. When every frame leaves the run exactly as it
was decoded (a sharp clip, faces the blur gate found sharp), the sink writes the source's
H.264 packets and its audio instead of its own encode: every sample, the timing and the size
stay the source's. Only H.264 is copied, so the output is H.264 whatever the run did.

The copy is checked before it replaces the encode: one packet per frame the run wrote (a run
stopped early, or a file with damaged packets, writes fewer) and a first frame that decodes to
the samples the run saw.

Example:
    >>> audio = copy_unchanged(Path("clip.mp4"), Path("out.mp4"), frames=300, first=i420)
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from runtime.errors import SourceError
from runtime.video.audio import AudioOutcome, copy_streams
from runtime.video.file_source import VideoFileSource

_COPIED_CODECS = frozenset({"h264"})
"""What the sink itself writes: the output stays H.264 (what players, phones and editors take)."""


def copy_unchanged(source: Path, out: Path, frames: int, first: NDArray[np.uint8]) -> AudioOutcome | None:
    """Write ``source``'s video stream and audio to ``out`` when they are what the run would
    have written: H.264 with exactly ``frames`` frames, the first decoding to ``first``
    (upright I420). Returns the audio's outcome, or ``None`` when the copy does not qualify
    or fails: the caller removes ``out`` and keeps its encode."""
    import av  # heavy; only video outputs need it

    try:
        with av.open(str(source)) as c:
            if not c.streams.video or c.streams.video[0].codec_context.name not in _COPIED_CODECS:
                return None
        audio, packets = copy_streams(source, out, source)
        if packets != frames:
            return None
        with VideoFileSource(out) as copied:
            again = next(iter(copied), None)
    except (av.FFmpegError, OSError, SourceError):
        return None
    if again is None or again.decoded is None or not np.array_equal(again.decoded.i420, first):
        return None
    return audio
