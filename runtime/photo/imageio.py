"""Read and write photos without losing what the model does not touch.

Reading gives float32 HxWx3 RGB in [0, 1] plus the facts needed to write the result back
the same way: bit depth (16-bit PNG/TIFF stay 16-bit), grayscale, the alpha channel
(kept aside and re-attached), the ICC profile and the EXIF (``runtime.photo.metadata``).
EXIF orientation is applied on read, so the pixels are upright and the output's orientation
tag says 1. Pillow decodes (it
reports truncated files as errors, where OpenCV silently returns a partial image);
OpenCV decodes 16-bit colour (Pillow reduces it to 8 bits) and formats Pillow lacks.
Writes are atomic: a temp file in the destination folder, then ``os.replace``.

Example:
    >>> img = read_image(Path("photo.jpg"))
    >>> write_image(Path("photo.sharp.png"), img.rgb, alpha=img.alpha, meta=img.meta)
"""
from __future__ import annotations

import io
import logging
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import cv2
import numpy as np
from numpy.typing import NDArray
from PIL import Image, UnidentifiedImageError

from facemask.files import atomic_write
from runtime.errors import ConfigError, ImageError, write_error
from runtime.photo.heif import open_photo
from runtime.photo.metadata import encode16, exif_for_output, exif_to_keep
from runtime.photo.sniff import why_unreadable

log = logging.getLogger(__name__)

WRITE_FORMATS: dict[str, tuple[str, bool, bool]] = {
    ".png": ("PNG", True, True),
    ".tif": ("TIFF", True, True),
    ".tiff": ("TIFF", True, True),
    ".jpg": ("JPEG", False, False),
    ".jpeg": ("JPEG", False, False),
    ".webp": ("WEBP", False, True),
    ".bmp": ("BMP", False, False),
}
"""Output suffix -> (Pillow format, keeps 16 bits, keeps alpha)."""

READ_SUFFIXES: tuple[str, ...] = (".jpg", ".jpeg", ".png", ".tif", ".tiff", ".webp", ".bmp", ".gif",
                                  ".ppm", ".pgm", ".pnm", ".jp2", ".heic", ".avif", ".pfm", ".hdr")
"""Suffixes treated as images when scanning a folder."""


def photos_in(folder: Path) -> list[Path]:
    """The photos directly in ``folder`` (by ``READ_SUFFIXES``, hidden files skipped), sorted."""
    return sorted(p for p in folder.iterdir()
                  if p.suffix.lower() in READ_SUFFIXES and not p.name.startswith(".") and p.is_file())


def subfolders_with_photos(folder: Path, exclude: Path | None = None) -> list[Path]:
    """The visible subfolders of ``folder`` holding a photo at any depth, but ``exclude`` (an
    output folder inside it): a folder run takes only the photos directly in it, and says so."""
    skip = exclude.resolve() if exclude is not None else None
    return [sub for sub in sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))
            if sub.resolve() != skip
            and any(f.suffix.lower() in READ_SUFFIXES and f.is_file() for f in sub.rglob("*"))]

MAX_PIXELS = 100_000_000
"""Largest photo read (width x height): decoding and deblurring take ~40 bytes a pixel,
so 100 MP already needs ~4 GB; bigger ones are refused before decoding."""

_EXIF_ORIENTATION = 0x0112
_16BIT_MODES = ("I;16", "I;16L", "I;16B", "I;16N", "I")


@dataclass(frozen=True, slots=True)
class ImageMeta:
    """How an image was stored, so its output can be written the same way.

    ``orientation`` is the EXIF orientation that was applied on read (1 = none); ``exif``
    the EXIF to write back (see ``metadata.exif_to_keep``).
    """

    format: str
    mode: str
    bit_depth: int
    grayscale: bool
    has_alpha: bool
    orientation: int = 1
    icc_profile: bytes | None = None
    exif: bytes | None = None


@dataclass(frozen=True, slots=True)
class LoadedImage:
    """A decoded image: ``rgb`` (H, W, 3) float32 RGB [0, 1], ``alpha`` (H, W) float32
    [0, 1] or None, upright (EXIF orientation applied)."""

    rgb: NDArray[np.float32]
    alpha: NDArray[np.float32] | None
    meta: ImageMeta


def orient(array: NDArray[np.generic], orientation: int) -> NDArray[np.generic]:
    """Apply an EXIF orientation (1-8) to an (H, W) or (H, W, C) array; others pass."""
    ops = {
        2: lambda a: a[:, ::-1],
        3: lambda a: a[::-1, ::-1],
        4: lambda a: a[::-1],
        5: lambda a: a.swapaxes(0, 1),
        6: lambda a: np.rot90(a, -1),
        7: lambda a: np.rot90(a, 2).swapaxes(0, 1),
        8: lambda a: np.rot90(a, 1),
    }
    op = ops.get(orientation)
    return np.ascontiguousarray(op(array)) if op else array


def _read_bytes(path: Path) -> bytes:
    if path.exists() and not path.is_file() and not path.is_dir():
        raise ImageError(f"cannot read {path}: not a regular file (a device, pipe or socket); "
                         "give an image file")
    try:
        data = path.read_bytes()
    except FileNotFoundError as e:
        raise ImageError(f"cannot read {path}: not found; check the path") from e
    except IsADirectoryError as e:
        raise ImageError(f"cannot read {path}: it is a folder; give an image file") from e
    except PermissionError as e:
        raise ImageError(f"cannot read {path}: permission denied; check the file's permissions") from e
    except OSError as e:
        raise ImageError(f"cannot read {path}: {e.strerror or e}; check the file") from e
    if not data:
        raise ImageError(f"cannot read {path}: the file is empty (0 bytes); re-copy or re-export it")
    return data


def _is_16bit_colour(data: bytes, im: Image.Image) -> bool:
    """Pillow reads 16-bit-per-channel colour as 8-bit; spot those files to decode with OpenCV."""
    if im.mode not in ("RGB", "RGBA"):
        return False
    if im.format == "PNG":
        return data[24:25] == b"\x10"          # IHDR bit depth
    if im.format == "TIFF":
        bits = getattr(im, "tag_v2", {}).get(258, (8,))
        return max(bits if isinstance(bits, tuple) else (bits,)) == 16
    return False


def _from_pil(im: Image.Image) -> tuple[NDArray[np.generic], int]:
    """Pixels as uint8/uint16 (H, W) or (H, W, C) in L, LA, RGB or RGBA order, and bit depth."""
    mode = im.mode
    if mode in _16BIT_MODES:
        return np.clip(np.asarray(im).astype(np.int64), 0, 65535).astype(np.uint16), 16
    if mode == "F":
        return (np.clip(np.asarray(im, np.float32), 0, 1) * 65535 + 0.5).astype(np.uint16), 16
    if mode in ("1", "L"):
        return np.asarray(im.convert("L")), 8
    if mode in ("LA", "La"):
        return np.asarray(im.convert("LA")), 8
    has_alpha = "A" in mode or "a" in mode or (mode == "P" and "transparency" in im.info)
    return np.asarray(im.convert("RGBA" if has_alpha else "RGB")), 8


def _from_cv2(data: bytes, path: Path, reason: str) -> tuple[NDArray[np.generic], int]:
    arr = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
    if arr is None:
        raise ImageError(f"cannot read {path}: {reason}")
    if arr.dtype == np.float32 or arr.dtype == np.float64:
        arr = (np.clip(arr, 0, 1) * 65535 + 0.5).astype(np.uint16)
    elif arr.dtype not in (np.uint8, np.uint16):
        raise ImageError(f"cannot read {path}: unsupported sample type {arr.dtype}; convert it to 8 or 16-bit")
    if arr.ndim == 3 and arr.shape[2] in (3, 4):
        arr = cv2.cvtColor(arr, cv2.COLOR_BGR2RGB if arr.shape[2] == 3 else cv2.COLOR_BGRA2RGBA)
    return arr, 16 if arr.dtype == np.uint16 else 8


def _check_pixels(path: Path, width: int, height: int) -> None:
    if width * height > MAX_PIXELS:
        raise ImageError(f"cannot read {path}: {width}x{height} is {width * height / 1e6:.0f} MP, over the "
                         f"{MAX_PIXELS // 1_000_000} MP limit; downscale or split it first")


def read_image(path: Path) -> LoadedImage:
    """Decode any still image to float32 RGB [0, 1], upright, with its storage facts.

    Args:
        path: an image file (JPEG, PNG, TIFF, WebP, BMP, GIF first frame, PNM, ...).

    Returns:
        The image, its alpha (if any) and an ``ImageMeta`` for writing the result back.

    Raises:
        ImageError: missing, empty, truncated/corrupt, not an image, or unsupported.
    """
    path = Path(path)
    data = _read_bytes(path)
    icc: bytes | None = None
    exif: bytes | None = None
    orientation = 1
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)  # MAX_PIXELS decides
            im = open_photo(data)
        with im:
            _check_pixels(path, *im.size)
            im.load()
            fmt, mode = im.format or "unknown", im.mode
            orientation = int(im.getexif().get(_EXIF_ORIENTATION, 1) or 1)
            icc = im.info.get("icc_profile") or None
            exif = exif_to_keep(im)
            if _is_16bit_colour(data, im):
                arr, depth = _from_cv2(data, path, "unreadable 16-bit image; check the file or remove it")
            else:
                arr, depth = _from_pil(im)
    except UnidentifiedImageError:
        arr, depth = _from_cv2(data, path, why_unreadable(data))
        fmt, mode = path.suffix.lstrip(".").upper() or "unknown", "cv2"
    except MemoryError as e:
        raise ImageError(f"cannot read {path}: out of memory decoding it; downscale it or free memory") from e
    except Image.DecompressionBombError as e:
        raise ImageError(f"cannot read {path}: too many pixels ({e}); downscale it first") from e
    except (OSError, SyntaxError, ValueError, EOFError) as e:
        raise ImageError(f"cannot read {path}: the file is truncated or corrupt ({e}); "
                         "re-copy or re-export it") from e
    arr = orient(arr, orientation)
    if arr.ndim == 2:
        arr = arr[..., None]
    scale = np.float32(65535.0 if depth == 16 else 255.0)
    channels = arr.shape[2]
    grey = channels in (1, 2)
    colour = arr[..., :1] if grey else arr[..., :3]
    rgb = np.repeat(colour, 3, axis=2) if grey else colour
    alpha = arr[..., -1].astype(np.float32) / scale if channels in (2, 4) else None
    meta = ImageMeta(format=fmt, mode=mode, bit_depth=depth, grayscale=grey, has_alpha=alpha is not None,
                     orientation=orientation, icc_profile=icc, exif=exif)
    return LoadedImage(np.ascontiguousarray(rgb.astype(np.float32) / scale), alpha, meta)


def output_format(path: Path, has_alpha: bool = False) -> tuple[str, bool]:
    """The Pillow format for an output path and whether it keeps 16 bits.

    Raises:
        ImageError: unknown suffix, or alpha that the format would drop.
    """
    suffix = Path(path).suffix.lower()
    if suffix not in WRITE_FORMATS:
        raise ImageError(f"cannot write {path}: unsupported output format {suffix or '(no suffix)'!r}; "
                         f"use one of {', '.join(WRITE_FORMATS)}")
    fmt, deep, keeps_alpha = WRITE_FORMATS[suffix]
    if has_alpha and not keeps_alpha:
        raise ImageError(f"cannot write {path}: the image has transparency that {fmt} cannot store; "
                         "write .png, .tif or .webp instead")
    return fmt, deep


def check_image(image: NDArray[np.floating], *, clip: bool = False) -> NDArray[np.float32]:
    """The one check of an in-memory photo: HxWx3 float RGB, finite; returned as float32.

    Args:
        clip: also clip to [0, 1] (a copy) for code that needs the range exact.

    Raises:
        ImageError: wrong rank, channels or dtype, or NaN/Inf values.
    """
    if image.ndim != 3 or image.shape[2] != 3 or not np.issubdtype(image.dtype, np.floating):
        raise ImageError(f"deblurring needs an HxWx3 float RGB image in [0, 1], got {image.dtype} {image.shape}; "
                         "convert grey images to RGB and divide uint8 images by 255")
    if not np.isfinite(image).all():
        raise ImageError("image contains NaN or Inf values; clean the input first")
    return np.clip(image, 0.0, 1.0).astype(np.float32, copy=False) if clip else image.astype(np.float32, copy=False)


def atomic_write_bytes(path: Path, data: bytes, *, exclusive: bool = False, field: str = "path") -> Path:
    """Write ``data`` to ``path`` atomically with normal permissions (see ``facemask.files``).

    Args:
        exclusive: never replace an existing file (see ``facemask.files.publish``).
        field: the option that chose ``path``, named in errors (``runtime.errors.write_error``).

    Returns:
        The path written (another name only with ``exclusive``, when ``path`` was taken).

    Raises:
        ImageError: the folder is missing or not writable; DiskFullError (an ImageError)
            when the disk is full. No temp file is left behind.
    """
    path = Path(path)
    try:
        return atomic_write(path, data, exclusive=exclusive)
    except OSError as e:
        raise write_error(path, e, field=field) from e


def encode_image(path: Path, rgb: NDArray[np.float32], alpha: NDArray[np.float32] | None = None,
                 meta: ImageMeta | None = None, *, quality: int = 95) -> bytes:
    """Encode like ``write_image`` but return the file bytes (format chosen by ``path``)."""
    fmt, deep = output_format(path, alpha is not None)
    grey = meta is not None and meta.grayscale
    depth = 16 if deep and meta is not None and meta.bit_depth == 16 else 8
    if meta is not None and meta.bit_depth == 16 and depth == 8:
        log.info("%s: %s stores 8 bits; the 16-bit input is reduced", path, fmt)
    pixels = _quantise(rgb, alpha, grey, depth)
    icc = meta.icc_profile if meta is not None else None
    exif = exif_for_output(meta.exif, (rgb.shape[1], rgb.shape[0])) if meta is not None and meta.exif else None
    if depth == 16:
        return encode16(path, fmt, pixels, icc, exif)
    image = Image.fromarray(pixels[..., 0] if pixels.shape[2] == 1 else pixels)
    options: dict[str, object] = {}
    if fmt in ("JPEG", "WEBP"):
        options["quality"] = int(quality)
    if fmt in ("JPEG", "PNG", "TIFF", "WEBP"):
        options.update({k: v for k, v in (("icc_profile", icc), ("exif", exif)) if v})
    out = io.BytesIO()
    image.save(out, format=fmt, **options)
    return out.getvalue()


def _quantise(rgb: NDArray[np.float32], alpha: NDArray[np.float32] | None, grey: bool,
              depth: int) -> NDArray[np.integer[Any]]:
    """Integer pixels (H, W, 1-4) from float planes, in row blocks: a 48 MP upscale needs its
    integer copy and a block of float work, not three float copies of itself."""
    top = np.float32(65535.0 if depth == 16 else 255.0)
    channels = (1 if grey else 3) + (alpha is not None)
    out = np.empty((*rgb.shape[:2], channels), np.uint16 if depth == 16 else np.uint8)
    step = max(1, (1 << 22) // max(1, rgb.shape[1] * 3))
    for y in range(0, rgb.shape[0], step):
        colour = np.clip(rgb[y:y + step], 0, 1)
        colour = colour.mean(axis=2, keepdims=True) if grey else colour
        if alpha is not None:
            colour = np.concatenate([colour, np.clip(alpha[y:y + step], 0, 1)[..., None]], axis=2)
        out[y:y + step] = colour * top + np.float32(0.5)
    return out


def read_for(src: Path, dst: Path, *, overwrite: bool = False) -> LoadedImage:
    """Read ``src`` to be written as ``dst``: the checks before decoding (``dst`` is not ``src``
    unless ``overwrite``; its suffix is writable) and after (it can hold the alpha).

    Raises:
        ConfigError: ``dst`` is ``src`` and ``overwrite`` is False.
        ImageError: unreadable input, unsupported output.
    """
    src, dst = Path(src), Path(dst)
    if not overwrite and dst.exists() and src.exists() and dst.samefile(src):
        raise ConfigError(f"refusing to overwrite the input {src}; pass `overwrite` or choose "
                          "another output with `dst`")
    output_format(dst)
    loaded = read_image(src)
    output_format(dst, loaded.alpha is not None)
    return loaded


def write_like(dst: Path, rgb: NDArray[np.float32], source: LoadedImage, *, exclusive: bool = False) -> Path:
    """Write ``rgb`` stored as ``source`` was (bit depth, grey, ICC, alpha); an alpha of another
    size (the result was upscaled) is resized to it with Lanczos. See ``write_image``."""
    return write_image(dst, rgb, alpha=alpha_for(rgb, source.alpha), meta=source.meta, exclusive=exclusive)


def alpha_for(rgb: NDArray[np.float32], alpha: NDArray[np.float32] | None) -> NDArray[np.float32] | None:
    """``alpha`` at ``rgb``'s size (an upscaled photo keeps its transparency), or None."""
    if alpha is None or alpha.shape == rgb.shape[:2]:
        return alpha
    return np.clip(cv2.resize(alpha, (rgb.shape[1], rgb.shape[0]), interpolation=cv2.INTER_LANCZOS4), 0, 1)


def write_image(path: Path, rgb: NDArray[np.float32], alpha: NDArray[np.float32] | None = None,
                meta: ImageMeta | None = None, *, quality: int = 95, exclusive: bool = False,
                field: str = "path") -> Path:
    """Write an image atomically, matching the input's storage where the format allows.

    Args:
        path: destination; the suffix picks the format (see ``WRITE_FORMATS``).
        rgb: (H, W, 3) float32 RGB [0, 1].
        alpha: (H, W) float32 [0, 1] to re-attach, or None.
        meta: the input's ``ImageMeta``: 16-bit stays 16-bit (PNG/TIFF), grayscale stays
            grayscale, the ICC profile is kept. None writes 8-bit RGB.
        quality: JPEG/WebP quality (1-100).
        exclusive: never replace an existing file (concurrent runs cannot clobber; see
            ``publish``).
        field: the option that chose ``path``, named in errors.

    Returns:
        The path written.

    Raises:
        ImageError: unsupported suffix, alpha the format cannot hold, unwritable path.
    """
    return atomic_write_bytes(Path(path), encode_image(path, rgb, alpha, meta, quality=quality), exclusive=exclusive,
                              field=field)


def _label_scale(label: str, size_wh: tuple[int, int]) -> float:
    """Font scale of a caption: by the panel's height, shrunk until the caption fits its
    width (a long model name such as an ensemble's would run off the panel)."""
    scale = max(0.4, size_wh[1] / 600)
    (width, _), _ = cv2.getTextSize(label, cv2.FONT_HERSHEY_SIMPLEX, scale, max(1, int(4 * scale)))
    room = size_wh[0] - 2 * (int(8 * scale) + 2)
    return scale if width <= room else max(0.2, scale * room / max(width, 1))


def side_by_side(images: Sequence[NDArray[np.float32]], labels: Sequence[str],
                 max_height_px: int = 1024, gap_px: int = 8) -> NDArray[np.float32]:
    """Images of equal size next to each other with a label on each: a before/after strip.

    Args:
        images: (H, W, 3) float32 RGB [0, 1], all the same shape.
        labels: one caption per image, drawn top-left.
        max_height_px: larger images are scaled down to this height.
        gap_px: white gap between panels.

    Returns:
        (H', N * W' + gaps, 3) float32 RGB [0, 1].
    """
    h, w = images[0].shape[:2]
    s = min(1.0, max_height_px / h)
    size = (max(1, round(w * s)), max(1, round(h * s)))
    panels: list[NDArray[np.float32]] = [
        np.asarray(cv2.resize(np.asarray(im, np.float32), size, interpolation=cv2.INTER_AREA), np.float32)
        if s < 1 else np.array(im, np.float32) for im in images]
    for panel, label in zip(panels, labels):
        scale = _label_scale(label, size)
        org = (int(8 * scale) + 2, int(28 * scale) + 2)
        cv2.putText(panel, label, org, cv2.FONT_HERSHEY_SIMPLEX, scale, (0, 0, 0), max(1, int(4 * scale)),
                    cv2.LINE_AA)
        cv2.putText(panel, label, org, cv2.FONT_HERSHEY_SIMPLEX, scale, (1, 1, 1), max(1, int(1.5 * scale)),
                    cv2.LINE_AA)
    gap = np.ones((size[1], gap_px, 3), np.float32)
    parts: list[NDArray[np.float32]] = []
    for i, panel in enumerate(panels):
        parts.extend([gap] if i else [])
        parts.append(panel)
    return np.clip(np.concatenate(parts, axis=1), 0, 1)
