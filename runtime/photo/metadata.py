"""What a photo carries besides its pixels (EXIF, ICC profile), kept in the restored file.

Photo libraries file a photo by its EXIF date taken; without it a restored album lands on
today's date, stripped of camera, lens and place. Without its ICC profile a wide-gamut
photo (Display P3, Adobe RGB, ProPhoto in 16-bit TIFFs) is shown as sRGB: dull. Pillow
writes both into 8-bit files; ``encode16`` writes 16-bit colour, which Pillow cannot: OpenCV's
PNG with the chunks added here, or tifffile's TIFF (which keeps the profile but not EXIF).

Example:
    >>> exif = exif_to_keep(Image.open("IMG_0001.jpg"))
    >>> Image.fromarray(pixels).save("out.jpg", exif=exif_for_output(exif, (4032, 3024)))
"""
from __future__ import annotations

import io
import logging
import struct
import zlib
from pathlib import Path

import cv2
import numpy as np
from numpy.typing import NDArray
from PIL import ExifTags, Image

from runtime.errors import ImageError

log = logging.getLogger(__name__)

_ORIENTATION = 0x0112
_SOFTWARE = 0x0131
_DROPPED = (0x0100, 0x0101)
"""ImageWidth/ImageLength: the output file's own header says its size."""
_PIXEL_X, _PIXEL_Y = 0xA002, 0xA003
_EXIF_HEADER = b"Exif\x00\x00"


def exif_to_keep(im: Image.Image) -> bytes | None:
    """``im``'s EXIF to write into its output, or None when it has none.

    The orientation becomes 1: the pixels are turned upright on read, and a tag left as it
    was would turn them again. The thumbnail is not kept (it would show the unrestored photo).
    """
    exif = im.getexif()
    if not exif:
        return None
    if _ORIENTATION in exif:
        exif[_ORIENTATION] = 1
    for tag in _DROPPED:
        exif.pop(tag, None)
    return exif.tobytes()


def exif_for_output(exif: bytes, size_wh: tuple[int, int]) -> Image.Exif:
    """Kept EXIF for an output of ``size_wh`` (an upscale changes it), marked as edited here."""
    out = Image.Exif()
    out.load(exif)
    out[_SOFTWARE] = "edgedeblur"
    ifd = out.get_ifd(ExifTags.IFD.Exif)
    if _PIXEL_X in ifd or _PIXEL_Y in ifd:
        ifd[_PIXEL_X], ifd[_PIXEL_Y] = size_wh
    return out


def encode16(path: Path, fmt: str, pixels: NDArray[np.uint16], icc: bytes | None,
             exif: Image.Exif | None) -> bytes:
    """16-bit (H, W, 1-4) grey/RGB(A) pixels as a PNG or TIFF file's bytes, with the metadata.

    Raises:
        ImageError: OpenCV failed to encode.
    """
    if pixels.shape[2] == 2:                     # grey + alpha is stored as RGBA
        pixels = pixels[..., [0, 0, 0, 1]]
    if fmt == "TIFF":
        if exif is not None:
            log.info("%s: a 16-bit TIFF keeps the ICC profile but not the EXIF; write .png to keep both", path)
        return tiff16(pixels, icc)
    bgr = pixels[..., [2, 1, 0, 3][:pixels.shape[2]]] if pixels.shape[2] > 1 else pixels
    ok, buf = cv2.imencode(".png", bgr)
    if not ok:
        raise ImageError(f"cannot write {path}: OpenCV failed to encode a 16-bit PNG")
    return png_with_metadata(buf.tobytes(), icc, exif)


def png_with_metadata(png: bytes, icc: bytes | None, exif: Image.Exif | None) -> bytes:
    """``png`` (what OpenCV encodes: no metadata) with an iCCP and an eXIf chunk after IHDR."""
    chunks = b""
    if icc:
        chunks += _chunk(b"iCCP", b"ICC profile\x00\x00" + zlib.compress(icc))
    if exif is not None:
        chunks += _chunk(b"eXIf", exif.tobytes().removeprefix(_EXIF_HEADER))
    ihdr_end = 8 + 8 + 13 + 4                  # signature, IHDR length and type, IHDR data, CRC
    return png[:ihdr_end] + chunks + png[ihdr_end:]


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def tiff16(pixels: NDArray[np.uint16], icc: bytes | None) -> bytes:
    """A deflate-compressed 16-bit TIFF of (H, W, 1|3|4) grey, RGB or RGBA pixels, with ``icc``."""
    import tifffile   # with scikit-image; only 16-bit TIFF outputs need it

    channels = pixels.shape[2]
    out = io.BytesIO()
    tifffile.imwrite(out, pixels[..., 0] if channels == 1 else pixels,
                     photometric="minisblack" if channels == 1 else "rgb", compression="zlib",
                     extrasamples=["unassalpha"] if channels == 4 else None, iccprofile=icc)
    return out.getvalue()
