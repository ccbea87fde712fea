"""Face regions: square crops of the frame that the deblur model must see.

Each region is a square placed inside the frame: by default its side is a multiple of the
model's tile; with ``exact`` it is just what the face needs (on the model's stride grid, at
least one tile), for pipelines that cover a crop with freely overlapping tiles or run a
dynamic-shape model on it. A region holds one face, or several when their margin boxes
touch or one crop is cheaper than separate ones.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np
from numpy.typing import NDArray

from facemask.errors import FaceMaskError
from facemask.geometry import face_axes
from facemask.result import FaceResult, Index, as_index, check_image_size


@dataclass(frozen=True, slots=True)
class RegionConfig:
    """How face regions are sized.

    Example::

        regions = build_regions(faces, RegionConfig(tile=256, margin=0.3))

    Attributes:
        tile: Model input side in pixels; region sides are multiples of it.
        margin: Space added around the face's landmarks on every side, as a fraction of
            the face size (covers chin, ears and jaw line).
        hair: Extra space above the forehead, as a fraction of the face size.
        min_face_px: Faces smaller than this (pixels, along the face's axes) get no region.
        merge: Merge regions whose faces' margin boxes overlap, or whose joint crop costs
            no more pixels than the separate ones.
        align: Crop corners snap to multiples of this (the model's stride), so a crop meets
            the model's downsampling grid in the same phase as full-frame tiles do: a strided
            net's output then depends on the content, not on where the crop happened to start.
        exact: Sides are the face's need rounded up to ``align`` (at least ``tile``), not
            to a multiple of ``tile``: a 470-px face costs a 472-px crop, not a 768-px one.
    """

    tile: int = 256
    margin: float = 0.25
    hair: float = 0.3
    min_face_px: float = 24.0
    merge: bool = True
    align: int = 1
    exact: bool = False

    def __post_init__(self) -> None:
        if not isinstance(self.tile, int) or self.tile < 8:
            raise FaceMaskError(f"RegionConfig.tile={self.tile!r} must be an int >= 8 (the model's input side)")
        for name, top in (("margin", 4.0), ("hair", 4.0)):
            v = getattr(self, name)
            if not isinstance(v, (int, float)) or not 0.0 <= v <= top:
                raise FaceMaskError(f"RegionConfig.{name}={v!r} must be in [0, {top}] (a fraction of the face size)")
        if not isinstance(self.min_face_px, (int, float)) or self.min_face_px < 0:
            raise FaceMaskError(f"RegionConfig.min_face_px={self.min_face_px!r} must be >= 0 pixels")
        if not isinstance(self.align, int) or not 1 <= self.align <= self.tile:
            raise FaceMaskError(f"RegionConfig.align={self.align!r} must be an int in [1, tile]")


@dataclass(frozen=True, slots=True, eq=False)
class FaceRegions:
    """Square crops of one frame, as parallel arrays of length n.

    Example::

        for crop, box in zip(regions.crops(frame_rgb), regions.boxes_xyxy): ...
        near = regions[regions.scores > 0.8]

    Attributes:
        boxes_xyxy: (n, 4) int32 crop squares x0, y0, x1, y1 (x1, y1 exclusive) inside the
            frame; x1 - x0 == y1 - y0 == k * tile (>= tile with ``RegionConfig.exact``).
        face_boxes_xyxy: (n, 4) float32 box around the landmarks of the region's faces.
        scores: (n,) float32 best detector score among the region's faces.
        weights: (n,) float32 in [0, 1] largest fade weight among the region's faces.
        members: (n, F) bool: which of the F faces of the source FaceResult a region holds.
        clipped: (n,) bool: the face plus margin did not fit in the largest square the
            frame allows, so the crop cuts part of it (consider deblurring the whole frame).
        frame_size_wh: (width, height) of the frame.
        tile: The tile size the regions are snapped to.
    """

    boxes_xyxy: NDArray[np.int32]
    face_boxes_xyxy: NDArray[np.float32]
    scores: NDArray[np.float32]
    weights: NDArray[np.float32]
    members: NDArray[np.bool_]
    clipped: NDArray[np.bool_]
    frame_size_wh: tuple[int, int]
    tile: int

    def __post_init__(self) -> None:
        check_image_size(self.frame_size_wh)
        n = len(self.scores)
        for name, shape in (("boxes_xyxy", (n, 4)), ("face_boxes_xyxy", (n, 4)), ("weights", (n,)),
                            ("clipped", (n,))):
            if np.shape(getattr(self, name)) != shape:
                raise FaceMaskError(f"FaceRegions.{name} has shape {np.shape(getattr(self, name))}, expected {shape}")
        if np.ndim(self.members) != 2 or np.shape(self.members)[0] != n:
            raise FaceMaskError(f"FaceRegions.members has shape {np.shape(self.members)}, expected ({n}, F)")

    @classmethod
    def empty(cls, frame_size_wh: tuple[int, int], tile: int = 256, num_faces: int = 0) -> FaceRegions:
        """No regions for a frame of ``frame_size_wh``."""
        return cls(np.zeros((0, 4), np.int32), np.zeros((0, 4), np.float32), np.zeros(0, np.float32),
                   np.zeros(0, np.float32), np.zeros((0, num_faces), bool), np.zeros(0, bool),
                   frame_size_wh, tile)

    def __len__(self) -> int:
        return len(self.scores)

    def __getitem__(self, index: Index) -> FaceRegions:
        """A new object with the selected regions (boolean mask, indices or slice)."""
        i = as_index(index, len(self))
        return replace(self, boxes_xyxy=self.boxes_xyxy[i], face_boxes_xyxy=self.face_boxes_xyxy[i],
                       scores=self.scores[i], weights=self.weights[i], members=self.members[i],
                       clipped=self.clipped[i])

    @property
    def sides_px(self) -> NDArray[np.int32]:
        """(n,) int32 side of each square crop in pixels."""
        return (self.boxes_xyxy[:, 2] - self.boxes_xyxy[:, 0]).astype(np.int32)

    def crops(self, frame: NDArray[np.generic]) -> list[NDArray[np.generic]]:
        """Views of ``frame`` (H x W x ...) for each region, in region order.

        Raises:
            FaceMaskError: ``frame`` is not the size the regions were built for.
        """
        h, w = np.shape(frame)[:2]
        if (w, h) != tuple(self.frame_size_wh):
            raise FaceMaskError(
                f"frame is {w}x{h} but the regions were built for {self.frame_size_wh[0]}x"
                f"{self.frame_size_wh[1]}; rescale the faces with FaceResult.scaled_to first")
        return [frame[y0:y1, x0:x1] for x0, y0, x1, y1 in self.boxes_xyxy.tolist()]

    def coverage(self) -> float:
        """Fraction of frame pixels inside at least one region (what deblurring costs)."""
        w, h = self.frame_size_wh
        covered = np.zeros((h, w), bool)
        for x0, y0, x1, y1 in self.boxes_xyxy.tolist():
            covered[y0:y1, x0:x1] = True
        return float(covered.mean())


def _margin_boxes(faces: FaceResult, config: RegionConfig) -> tuple[NDArray[np.float32], NDArray[np.float32]]:
    """Axis-aligned boxes around each face's margin rectangle (hair side follows the face)."""
    axes = face_axes(faces.landmarks_px)
    size = axes.size[:, None]
    lo = axes.lo - config.margin * size
    hi = axes.hi + np.column_stack([config.margin * size[:, 0], (config.margin + config.hair) * size[:, 0]])
    corners = np.stack([lo, np.column_stack([hi[:, 0], lo[:, 1]]), hi, np.column_stack([lo[:, 0], hi[:, 1]])], axis=1)
    pts = axes.to_image(corners)
    return np.concatenate([pts.min(axis=1), pts.max(axis=1)], axis=1), axes.size


def _square(box: NDArray[np.float32], tile: int, frame_wh: tuple[int, int],
            align: int = 1, exact: bool = False) -> tuple[NDArray[np.int32], bool]:
    """Smallest square holding ``box`` (side a multiple of ``tile``, or of ``align`` and at
    least ``tile`` when ``exact``), shifted into the frame, corners on multiples of
    ``align`` where the frame allows."""
    w, h = frame_wh
    step = align if exact else tile
    largest = max(tile, (min(w, h) // step) * step)
    want = max(box[2] - box[0], box[3] - box[1])
    side = min(largest, max(tile, step * math.ceil(want / step - 1e-6)))
    cx, cy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
    x0 = int(np.clip(round((cx - side / 2) / align) * align, 0, w - side))
    y0 = int(np.clip(round((cy - side / 2) / align) * align, 0, h - side))
    return np.array([x0, y0, x0 + side, y0 + side], np.int32), bool(want > side + 1e-3)


def _overlap(a: NDArray[np.float32], b: NDArray[np.float32]) -> bool:
    return bool(min(a[2], b[2]) > max(a[0], b[0]) and min(a[3], b[3]) > max(a[1], b[1]))


def _union_if_merged(a: NDArray[np.float32], b: NDArray[np.float32], config: RegionConfig,
                     frame_wh: tuple[int, int]) -> NDArray[np.float32] | None:
    """The union box when faces a and b should share one crop, else None."""
    union = np.concatenate([np.minimum(a[:2], b[:2]), np.maximum(a[2:], b[2:])])
    tile, align, exact = config.tile, config.align, config.exact
    joint, clipped = _square(union, tile, frame_wh, align, exact)
    if clipped:
        return None
    cost = int(joint[2] - joint[0]) ** 2
    apart = sum(int(sq[2] - sq[0]) ** 2 for sq, _ in (_square(a, tile, frame_wh, align, exact),
                                                      _square(b, tile, frame_wh, align, exact)))
    return union if _overlap(a, b) or cost <= apart else None


def _merge(groups: list[list[int]], boxes: list[NDArray[np.float32]], config: RegionConfig,
           frame_wh: tuple[int, int]) -> None:
    """Merges groups pairwise, in place, until no pair qualifies."""
    while True:
        pair = next(((a, b, u) for a in range(len(groups)) for b in range(a + 1, len(groups))
                     if (u := _union_if_merged(boxes[a], boxes[b], config, frame_wh)) is not None), None)
        if pair is None:
            return
        a, b, union = pair
        groups[a] += groups.pop(b)
        boxes.pop(b)
        boxes[a] = union


def build_regions(faces: FaceResult, config: RegionConfig | None = None) -> FaceRegions:
    """Square, tile-snapped crops around the faces of one frame.

    Each face's landmark box is grown by ``margin`` (and ``hair`` above the forehead,
    along the face's own up direction, so rotated faces keep their hair), squared,
    rounded up to a multiple of ``tile`` and shifted to lie inside the frame. Faces
    below ``min_face_px`` or with weight 0 are dropped; overlapping faces share a region.

    Args:
        faces: Faces of the frame; their ``image_size_wh`` is the frame size. Use
            ``faces.scaled_to(...)`` first if you detected on a resized copy.
        config: Region sizing; defaults to ``RegionConfig()``.

    Returns:
        FaceRegions, empty when no face qualifies.

    Raises:
        FaceMaskError: The frame is smaller than one tile.
    """
    config = config or RegionConfig()
    frame_wh = faces.image_size_wh
    if min(frame_wh) < config.tile:
        raise FaceMaskError(
            f"frame {frame_wh[0]}x{frame_wh[1]} is smaller than one {config.tile}-px tile; "
            f"use RegionConfig(tile=...) <= {min(frame_wh)} or deblur the whole frame")
    n = len(faces)
    if n == 0:
        return FaceRegions.empty(frame_wh, config.tile, 0)
    margin_boxes, sizes = _margin_boxes(faces, config)
    groups = [[i] for i in range(n) if sizes[i] >= config.min_face_px and faces.weights[i] > 0]
    boxes = [margin_boxes[g[0]] for g in groups]
    if config.merge:
        _merge(groups, boxes, config, frame_wh)
    return _assemble(faces, groups, boxes, config)


def _assemble(faces: FaceResult, groups: list[list[int]], boxes: list[NDArray[np.float32]],
              config: RegionConfig) -> FaceRegions:
    k = len(groups)
    squares = np.zeros((k, 4), np.int32)
    clipped = np.zeros(k, bool)
    members = np.zeros((k, len(faces)), bool)
    face_boxes = np.zeros((k, 4), np.float32)
    for r, (group, box) in enumerate(zip(groups, boxes)):
        squares[r], clipped[r] = _square(box, config.tile, faces.image_size_wh, config.align, config.exact)
        members[r, group] = True
        fb = faces.boxes_xyxy[group]
        face_boxes[r] = np.concatenate([fb[:, :2].min(0), fb[:, 2:].max(0)])
    scores = np.array([faces.scores[g].max() for g in groups], np.float32).reshape(k)
    weights = np.array([faces.weights[g].max() for g in groups], np.float32).reshape(k)
    return FaceRegions(squares, face_boxes, scores, weights, members, clipped,
                       faces.image_size_wh, config.tile)
