"""Calibration inputs for int8 and the held-out validation pairs for the quality gate.

Calibration images are inputs like the ones the model will see: for the deblur nets, the
user's photos (``--calib DIR``) blurred with the training pipeline's camera model (or taken
as they are with ``--calib-blurred``), else synthetic pairs from ``convert.data.PairSampler``
(dead-leaves + ``TRAIN_IMAGES``). The denoiser and the upscaler (``CalibConfig.task``), trained
on real photos only, get photos only (``TRAIN_IMAGES``, or the folder's) noised or downscaled
by their training degradations (``convert.task_data``). The gate's validation pairs
(``validation_pairs``; for the deblur nets, alternating with dead-leaves images drawn with
another seed) come from the calibration folder's photos that calibration did not use, else
from ``TRAIN_IMAGES`` (other crops and degradations than the synthetic calibration's). Never
from ``EVAL_IMAGES``: the repair loop decides on this gate, and the evaluation photos stay out
of every decision. For the deblur nets a fifth
of the calibration inputs and of the validation photos stay unblurred (``SHARP_FRACTION``):
int8 must keep sharp detail too, and only sharp inputs show its noise floor.

Example:
    >>> calib = calibration_images(CalibConfig(count=16, size_hw=(128, 128)))
    >>> val = validation_pairs(8, (128, 128))
    >>> x2 = validation_pairs(8, (128, 128), task="upscale")   # targets are 256x256
    >>> held_out = validation_pairs(8, (128, 128), photos=validation_photos(CalibConfig(Path("photos")), 8))
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from numpy.typing import NDArray

from convert.task_data import TASK_SCALE, check_task, degrade_crops
from runtime.errors import ConfigError
from runtime.lab.degradations import NoiseConfig, degrade, random_kernel
from runtime.lab.sample_images import TRAIN_IMAGES, load_sample
from runtime.photo.imageio import READ_SUFFIXES, read_image

CALIB_SEED = 1
VALIDATION_SEED = 20_240_917
"""Far from the training seeds (0..) and CALIB_SEED, so dead-leaves pools never coincide."""
MAX_EXTENT_PX = 25.0
SHARP_FRACTION = 0.2
"""Share of deblur calibration inputs and validation pairs left unblurred (camera noise only).
int8 adds a noise floor that blurry inputs hide and sharp ones show: calibrated and gated on
blurry inputs alone, small's int8 ONNX lost 0.86 dB on near-sharp camera-blur crops
(``val_realblur``) where the gate measured 0.02 dB."""


@dataclass(frozen=True, slots=True)
class CalibConfig:
    """Where calibration images come from.

    Args:
        folder: user photos (clean unless ``blurred``), or None for synthetic data.
        count: number of calibration crops.
        size_hw: crop (height, width) in pixels: the model's input size.
        blurred: the folder's photos are already degraded like the model's inputs (blurry,
            noisy or low-res): use them as they are.
        seed: crop positions and synthetic degradations.
        task: what the model restores ('deblur', 'denoise', 'upscale'): how clean photos
            are degraded into inputs.
    """

    folder: Path | None = None
    count: int = 32
    size_hw: tuple[int, int] = (256, 256)
    blurred: bool = False
    seed: int = CALIB_SEED
    task: str = "deblur"

    def __post_init__(self) -> None:
        if self.count < 1:
            raise ConfigError(f"--calib-count {self.count} must be >= 1")
        if min(self.size_hw) < 8:
            raise ConfigError(f"calibration size {self.size_hw} must be at least 8x8")
        check_task(self.task)


@dataclass(frozen=True, slots=True)
class ImagePairs:
    """Validation data: ``inputs`` (N, H, W, 3) (blurry, noisy or low-res) and ``targets``
    (N, H * s, W * s, 3) (the clean images; s = 2 for the upscaler, else 1), float32 sRGB in
    [0, 1]; ``source`` says where the clean images came from (for the report)."""

    inputs: NDArray[np.float32]
    targets: NDArray[np.float32]
    source: str = ""

    def __post_init__(self) -> None:
        a, b = self.inputs.shape, self.targets.shape
        s = b[1] // a[1] if len(a) == len(b) == 4 and a[1] else 0
        if s < 1 or b != (a[0], a[1] * s, a[2] * s, a[3]):
            raise ConfigError(f"validation targets {b} are not the inputs {a} at an integer scale")

    def __len__(self) -> int:
        return len(self.inputs)

    @property
    def scale(self) -> int:
        """Target size over input size."""
        return self.targets.shape[1] // self.inputs.shape[1]


def list_images(folder: Path) -> list[Path]:
    """Image files directly inside ``folder``, sorted.

    Raises:
        ConfigError: the folder is missing or holds no images.
    """
    if not folder.is_dir():
        raise ConfigError(f"--calib {folder}: not a folder; give a folder of photos or leave --calib "
                          "out for synthetic calibration")
    files = sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in READ_SUFFIXES)
    if not files:
        raise ConfigError(f"--calib {folder}: no images ({', '.join(READ_SUFFIXES[:5])}, ...) found; add "
                          "some photos or leave --calib out for synthetic calibration")
    return files


def _crop(img: NDArray[np.float32], size_hw: tuple[int, int], rng: np.random.Generator) -> NDArray[np.float32]:
    """A random crop, upscaling first when the image is smaller than the crop."""
    h, w = size_hw
    scale = max(h / img.shape[0], w / img.shape[1], 1.0)
    if scale > 1:
        img = cv2.resize(img, None, fx=scale, fy=scale, interpolation=cv2.INTER_CUBIC)
    y = int(rng.integers(0, img.shape[0] - h + 1))
    x = int(rng.integers(0, img.shape[1] - w + 1))
    return np.ascontiguousarray(img[y:y + h, x:x + w])


def _blurred_crop(img: NDArray[np.float32], size_hw: tuple[int, int], rng: np.random.Generator,
                  sharp: bool = False) -> tuple[NDArray[np.float32], NDArray[np.float32]]:
    """(blurry, sharp) crops of ``size_hw`` through the training camera model (``sharp``: no
    blur and a quarter of the noise: a well-exposed sharp photo, whose detail int8 must keep)."""
    from convert.data import FAMILY_WEIGHTS

    families = list(FAMILY_WEIGHTS)
    p = np.array([FAMILY_WEIGHTS[f] for f in families])
    family = families[int(rng.choice(len(families), p=p / p.sum()))]
    kernel = np.ones((1, 1), np.float32) if sharp else random_kernel(rng, family, MAX_EXTENT_PX).kernel
    pad = kernel.shape[0] // 2
    big = _crop(img, (size_hw[0] + 2 * pad, size_hw[1] + 2 * pad), rng)
    quiet = 0.25 if sharp else 1.0
    noise = NoiseConfig(rng.uniform(0, 0.01 * quiet), rng.uniform(0, 0.005 * quiet))
    blurry = degrade(big, kernel, rng, noise=noise, valid=True)
    return np.clip(blurry, 0, 1), big[pad:pad + size_hw[0], pad:pad + size_hw[1]]


def _is_sharp(i: int) -> bool:
    """Whether the ``i``-th photo input is left unblurred: ``SHARP_FRACTION`` of them, spread evenly."""
    return int((i + 1) * SHARP_FRACTION + 0.5) > int(i * SHARP_FRACTION + 0.5)


def calibration_images(config: CalibConfig) -> NDArray[np.float32]:
    """Calibration inputs (blurry, noisy or low-res by ``config.task``), (count, H, W, 3)
    float32 sRGB in [0, 1].

    Raises:
        ConfigError: the folder is missing or empty.
        ImageError: a file in the folder cannot be decoded (the message names it).
    """
    if config.task != "deblur":
        return _task_calibration(config)
    rng = np.random.default_rng(config.seed)
    if config.folder is None:
        from convert.data import DataConfig, PairSampler

        if config.size_hw[0] != config.size_hw[1] or config.size_hw[0] % 8:
            raise ConfigError(f"synthetic calibration needs a square size that is a multiple of 8, got "
                              f"{config.size_hw}; pass --calib DIR for other sizes")
        data = DataConfig(crop=config.size_hw[0], pool_dead_leaves=8, sharp_fraction=SHARP_FRACTION)
        sampler = PairSampler(data, config.seed)
        return sampler.batch(config.count)[0]
    photos = [read_image(f).rgb for f in list_images(config.folder)[:config.count]]   # only those used
    out = []
    for i in range(config.count):
        img = photos[i % len(photos)]
        out.append(_crop(img, config.size_hw, rng) if config.blurred
                   else _blurred_crop(img, config.size_hw, rng, sharp=_is_sharp(i))[0])
    return np.stack(out).astype(np.float32)


def _task_calibration(config: CalibConfig) -> NDArray[np.float32]:
    """Noisy or low-res calibration inputs for the denoiser or the upscaler."""
    s = TASK_SCALE[config.task]
    h, w = config.size_hw
    if config.folder is None:
        from convert.data import DataConfig, PairSampler

        sampler = PairSampler(DataConfig(dead_leaves_fraction=0.0, pool_dead_leaves=0), config.seed)
        clean = sampler.sharp_crops(config.count, max(h, w) * s)[:, :h * s, :w * s]
        return degrade_crops(config.task, clean, config.seed)[0]
    rng = np.random.default_rng(config.seed)
    photos = [read_image(f).rgb for f in list_images(config.folder)[:config.count]]
    size = config.size_hw if config.blurred else (h * s, w * s)
    crops = np.stack([_crop(photos[i % len(photos)], size, rng) for i in range(config.count)]).astype(np.float32)
    return crops if config.blurred else degrade_crops(config.task, crops, config.seed)[0]


@dataclass(frozen=True, slots=True)
class ValidationPhotos:
    """Clean photos for the gate's validation pairs, float32 sRGB in [0, 1], and where they came from."""

    images: list[NDArray[np.float32]]
    source: str


def validation_photos(config: CalibConfig, count: int) -> ValidationPhotos:
    """Up to ``count`` photos of ``config.folder`` that calibration did not use (those after
    its first ``config.count``): real photos like the user's, never seen by calibration. The
    package's ``TRAIN_IMAGES`` when there is no folder, it holds no more photos, or its
    photos are already degraded (``blurred``: no clean targets).

    Raises:
        ConfigError: the folder is missing or empty.
        ImageError: a held-out file cannot be decoded (the message names it).
    """
    if config.folder is not None and not config.blurred:
        rest = list_images(config.folder)[config.count:config.count + count]
        if rest:
            return ValidationPhotos([read_image(f).rgb for f in rest],
                                    f"{len(rest)} photos of {config.folder} held out from calibration")
    return ValidationPhotos([load_sample(n).astype(np.float32) / 255 for n in TRAIN_IMAGES],
                            "package training photos (never the evaluation photos)")


def _dead_leaves_pool(rng: np.random.Generator, n: int) -> list[NDArray[np.float32]]:
    from convert.data import dead_leaves

    return [dead_leaves(rng, size=320, n_discs=800) for _ in range(n)]


def validation_pairs(count: int, size_hw: tuple[int, int], seed: int = VALIDATION_SEED,
                     task: str = "deblur", photos: ValidationPhotos | None = None) -> ImagePairs:
    """Held-out (input, target) pairs: ``photos`` and fresh dead-leaves images, alternating
    (photos only for 'denoise' and 'upscale': those nets never saw dead leaves).

    Args:
        count: number of pairs (>= 1).
        size_hw: (height, width) of each input in pixels (targets are 2x for 'upscale').
        seed: crops, degradations and dead-leaves images.
        task: 'deblur' (blur kernels), 'denoise' or 'upscale' (``convert.task_data``).
        photos: the clean photos (``validation_photos``; default: the package's training photos).

    Raises:
        ConfigError: ``count`` < 1 or an unknown task.
    """
    if count < 1:
        raise ConfigError(f"--val-count {count} must be >= 1")
    check_task(task)
    rng = np.random.default_rng(seed)
    chosen = photos or validation_photos(CalibConfig(), count)
    images = chosen.images
    if task != "deblur":
        s = TASK_SCALE[task]
        target_hw = (size_hw[0] * s, size_hw[1] * s)
        crops = np.stack([_crop(images[i % len(images)], target_hw, rng) for i in range(count)]).astype(np.float32)
        return ImagePairs(*degrade_crops(task, crops, seed), source=chosen.source)
    leaves = _dead_leaves_pool(rng, max(1, count // 2))
    pool = [img for pair in zip(images * (count // len(images) + 1), leaves * count) for img in pair]
    # photos sit at even indices: a fifth of them stay sharp, dead leaves are always blurred
    pairs = [_blurred_crop(pool[i], size_hw, rng, sharp=i % 2 == 0 and _is_sharp(i // 2)) for i in range(count)]
    return ImagePairs(np.stack([p[0] for p in pairs]), np.stack([p[1] for p in pairs]),
                      source=chosen.source + " + dead-leaves images")
