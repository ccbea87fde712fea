"""A video's colour tags (matrix, primaries, transfer), carried from the source to the output.

File sources decode YUV to RGB with BT.601 coefficients whatever the tags say (as OpenCV
does), and the sink converts RGB back with the same, so the output's samples mean what the
source's meant (pixels the run left alone keep the source's samples outright), but only if the output
carries the source's tags. Without them a player reads an iPhone's HDR clip (HLG, BT.2020)
as SDR BT.709: washed out and desaturated. The tags are FFmpeg's numeric codes (ITU-T
H.273), read with PyAV; 2 means "unspecified", what an untagged file has.

Example:
    >>> tags = read_colour_tags(Path("IMG_0001.MOV"))
    >>> tags.hdr
    'HLG'
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

UNSPECIFIED = 2
_IDENTITY, _BT601 = 0, 6
"""Matrix codes: an RGB-coded source (PNG or lossless RGB video) has the identity matrix, which
H.264 allows only for 4:4:4; its frames reach the sink as RGB and are encoded with BT.601."""
_HDR_TRANSFERS = {16: "PQ", 18: "HLG"}
"""H.273 transfer characteristics of HDR video: SMPTE ST 2084 (PQ) and ARIB STD-B67 (HLG)."""


@dataclass(frozen=True, slots=True)
class ColourTags:
    """How a video's samples are meant to be shown (H.273 codes; 2 = unspecified)."""

    primaries: int = UNSPECIFIED
    transfer: int = UNSPECIFIED
    matrix: int = UNSPECIFIED

    @property
    def hdr(self) -> str | None:
        """"PQ" or "HLG" for HDR video, else None."""
        return _HDR_TRANSFERS.get(self.transfer)

    def apply(self, codec_context: object) -> None:
        """Tag an encoder's output (a PyAV video codec context) with these values."""
        codec_context.color_primaries = self.primaries  # type: ignore[attr-defined]
        codec_context.color_trc = self.transfer  # type: ignore[attr-defined]
        codec_context.colorspace = self.matrix  # type: ignore[attr-defined]


def read_colour_tags(path: Path) -> ColourTags:
    """The first video stream's tags, as the output should carry them; unspecified when the
    file has none or PyAV cannot read them.
    An RGB source's identity matrix becomes the BT.601 the sink encodes with."""
    import av  # heavy; only video outputs need it

    try:
        with av.open(str(path)) as container:
            if not container.streams.video:
                return ColourTags()
            cc = container.streams.video[0].codec_context
            matrix = int(cc.colorspace)
            return ColourTags(int(cc.color_primaries), int(cc.color_trc), _BT601 if matrix == _IDENTITY else matrix)
    except (av.FFmpegError, OSError, ValueError):
        return ColourTags()
