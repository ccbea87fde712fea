"""Uploaded photos on disk: size and pixel limits on the way in, deletion after ``keep_s``.

Each upload lives in its own folder under ``<work_dir>/uploads/<id>/`` (the photo and
anything made from it), so expiring it is one ``rmtree``.
"""
from __future__ import annotations

import logging
import re
import secrets
import shutil
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, UnidentifiedImageError

from runtime.errors import ImageError
from runtime.photo.heif import NO_HEIF, is_heif, open_photo
from runtime.photo.imageio import READ_SUFFIXES

log = logging.getLogger(__name__)

_ID = re.compile(r"[0-9a-f]{16}")


class TooLarge(ImageError):
    """An upload over the byte or pixel limit (HTTP 413)."""


class UnknownUpload(KeyError):
    """No such upload, or it expired (HTTP 404)."""


@dataclass(frozen=True, slots=True)
class Upload:
    """One stored photo: ``path`` is the file, ``size_wh`` its pixel size (before EXIF turns)."""

    id: str
    name: str
    path: Path
    size_wh: tuple[int, int]
    created_s: float

    @property
    def folder(self) -> Path:
        return self.path.parent


def safe_name(name: str) -> str:
    """A file name with no folders and no odd characters (for storage and downloads)."""
    base = Path(name.replace("\\", "/")).name
    cleaned = re.sub(r"[^A-Za-z0-9._-]+", "_", base).strip("._") or "photo"
    return cleaned[:120]


def check_photo_bytes(data: bytes, name: str, max_bytes: int, max_pixels: int) -> tuple[int, int]:
    """Size of the photo in ``data`` (width, height), read from its header only.

    Raises:
        TooLarge: over ``max_bytes`` or ``max_pixels``.
        ImageError: empty or not an image Pillow can identify.
    """
    if len(data) > max_bytes:
        raise TooLarge(f"{name} is {len(data) / 2**20:.1f} MB; the limit is {max_bytes / 2**20:.0f} MB "
                       "(start the server with a larger --max-upload-mb)")
    if not data:
        raise ImageError(f"{name} is empty (0 bytes); pick the photo again")
    try:
        with open_photo(data) as im:
            w, h = im.size
    except Image.DecompressionBombError as e:     # its size in the message: "Image size (N pixels)"
        pixels = re.search(r"\((\d+) pixels\)", str(e))
        size = f"{int(pixels.group(1)) / 1e6:.0f} MP" if pixels else "too many pixels"
        raise TooLarge(f"{name} is {size}; the limit is {max_pixels / 1e6:.0f} MP (downscale it)") from e
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as e:
        if is_heif(data):
            raise ImageError(f"{name} is {NO_HEIF}") from e
        kind = "a text file" if data[:512].isascii() and b"\0" not in data[:512] else "not an image"
        raise ImageError(f"{name} is {kind}; upload a JPEG, PNG, TIFF, WebP or BMP photo") from e
    if w * h > max_pixels:
        raise TooLarge(f"{name} is {w}x{h} = {w * h / 1e6:.1f} MP; the limit is {max_pixels / 1e6:.0f} MP "
                       "(downscale it, or start the server with a larger --max-megapixels)")
    return w, h


class UploadStore:
    """Stores uploads under ``root`` and deletes those older than ``keep_s``."""

    def __init__(self, root: Path, max_bytes: int, max_pixels: int, keep_s: float) -> None:
        self.root = Path(root) / "uploads"
        self.root.mkdir(parents=True, exist_ok=True)
        self.max_bytes, self.max_pixels, self.keep_s = max_bytes, max_pixels, keep_s
        self._items: dict[str, Upload] = {}
        self._lock = threading.Lock()

    def add(self, name: str, data: bytes) -> Upload:
        """Check and store one photo.

        Raises:
            TooLarge, ImageError: see ``check_photo_bytes``.
        """
        name = safe_name(name)
        size_wh = check_photo_bytes(data, name, self.max_bytes, self.max_pixels)
        suffix = Path(name).suffix.lower()
        upload_id = secrets.token_hex(8)
        folder = self.root / upload_id
        folder.mkdir()
        path = folder / f"input{suffix if suffix in READ_SUFFIXES else '.img'}"
        path.write_bytes(data)
        upload = Upload(upload_id, name, path, size_wh, time.monotonic())
        with self._lock:
            self._items[upload_id] = upload
        return upload

    def get(self, upload_id: str) -> Upload:
        """The upload with this id.

        Raises:
            UnknownUpload: never stored, or already expired.
        """
        with self._lock:
            upload = self._items.get(upload_id) if _ID.fullmatch(upload_id) else None
        if upload is None:
            raise UnknownUpload(f"photo {upload_id} is unknown or expired (uploads are kept "
                                f"{self.keep_s / 60:.0f} min); upload it again")
        return upload

    def sweep(self, now_s: float | None = None) -> list[str]:
        """Delete uploads older than ``keep_s``; returns their ids."""
        now_s = time.monotonic() if now_s is None else now_s
        with self._lock:
            old = [u for u in self._items.values() if now_s - u.created_s > self.keep_s]
            for u in old:
                del self._items[u.id]
        for u in old:
            shutil.rmtree(u.folder, ignore_errors=True)
            log.info("deleted expired upload %s (%s)", u.id, u.name)
        return [u.id for u in old]
