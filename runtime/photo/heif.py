"""HEIC/HEIF photos (what iPhones save): spotting them, and decoding them where the opt-in
``heic`` extra (pillow-heif) is installed.

pillow-heif's binary wheels bundle x265 and so are GPLv2 (its source is BSD-3): it is an
extra, not a base dependency, and a HEIC photo without it gets one line saying how to get it.
"""
from __future__ import annotations

import functools
import io

from PIL import Image

HEIF_BRANDS = (b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"mif1", b"msf1")
"""Major brands of HEIF files (iPhones save HEIC); AVIF ('avif') Pillow reads itself."""
NO_HEIF = ("a HEIC photo (the iPhone format) that this install cannot decode: install the heic extra "
           "(pip install 'edgedeblur[heic]') or export the photo as JPEG")


def is_heif(data: bytes) -> bool:
    """Whether ``data`` is a HEIF/HEIC file: an ISO 'ftyp' box with a HEIF major brand."""
    return data[4:8] == b"ftyp" and data[8:12] in HEIF_BRANDS


@functools.lru_cache(maxsize=1)
def heif_decoder() -> bool:
    """Whether HEIC photos decode here: the ``heic`` extra (pillow-heif) registered with Pillow."""
    try:
        import pillow_heif
    except ImportError:
        return False
    pillow_heif.register_heif_opener()
    return True


def open_photo(data: bytes) -> Image.Image:
    """``Image.open`` on ``data``, with HEIC decoding switched on first where the file is HEIC."""
    if is_heif(data):
        heif_decoder()
    return Image.open(io.BytesIO(data))
