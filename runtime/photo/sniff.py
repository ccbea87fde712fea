"""Why a file that should be a photo is not one: text, a video, a HEIC without its decoder.

Album folders hold phone videos next to the photos, and a video given to ``deblur`` by
mistake should be pointed to ``edgedeblur run`` rather than called "not an image".

Example:
    >>> why_unreadable(Path("clip.mp4").read_bytes())
    'a video (MP4/MOV), not a photo; deblur videos with: edgedeblur run --source VIDEO -o OUT.mp4'
"""
from __future__ import annotations

from pathlib import Path

from runtime.photo.heif import NO_HEIF, heif_decoder, is_heif

VIDEO_SUFFIXES: tuple[str, ...] = (".mp4", ".mov", ".m4v", ".3gp", ".mkv", ".webm", ".avi", ".mts", ".m2ts")
"""What phones and cameras save video as: left out of photo folders, and counted."""
RUN_HINT = "deblur videos with: edgedeblur run --source VIDEO -o OUT.mp4"
_MP4_BOXES = (b"ftyp", b"moov", b"mdat", b"wide", b"free", b"skip")
_STILL_BRANDS = (b"avif", b"avis", b"heic", b"heix", b"mif1", b"msf1")
"""ISO-BMFF brands of still images (AVIF, HEIF), which share the MP4 layout."""


def video_kind(data: bytes) -> str | None:
    """The container of a video file by its first bytes ("MP4/MOV", "Matroska/WebM", "AVI",
    "MPEG-TS"), or None. Call it after ``is_heif``: HEIC photos are MP4-style files too."""
    if data[4:8] in _MP4_BOXES:
        return None if data[4:8] == b"ftyp" and data[8:12] in _STILL_BRANDS else "MP4/MOV"
    if data[:4] == b"\x1a\x45\xdf\xa3":
        return "Matroska/WebM"
    if data[:4] == b"RIFF" and data[8:12] == b"AVI ":
        return "AVI"
    if len(data) >= 377 and data[0] == data[188] == data[376] == 0x47:
        return "MPEG-TS"
    return None


def why_unreadable(data: bytes) -> str:
    """What a file no image decoder could read is, and what to do about it."""
    if is_heif(data):
        return ("a HEIC file the HEIC decoder cannot read (truncated or corrupt?); check the file or remove it"
                if heif_decoder() else NO_HEIF)
    if (kind := video_kind(data)) is not None:
        return f"a video ({kind}), not a photo; {RUN_HINT}"
    head = data[:4096]
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError:
        text = ""
    if text and sum(c.isprintable() or c.isspace() for c in text) > 0.95 * len(text):
        return "not an image (the file contains text); check the file or remove it"
    return "not an image in a supported format (JPEG, PNG, TIFF, WebP, BMP, GIF, PNM); check the file or remove it"


def videos_in(folder: Path) -> list[Path]:
    """The videos directly in ``folder`` (by suffix, hidden files skipped), sorted."""
    return sorted(p for p in folder.iterdir()
                  if p.suffix.lower() in VIDEO_SUFFIXES and not p.name.startswith(".") and p.is_file())
