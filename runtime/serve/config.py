"""Server options and the access token that guards every route off localhost."""
from __future__ import annotations

import ipaddress
import secrets
from dataclasses import dataclass, field
from pathlib import Path

from runtime.catalog import DEFAULT_MODEL, SHIPPED_DIR, LIVE_VIDEO_MODEL
from runtime.errors import ConfigError

LOOPBACK_NAMES = ("localhost",)


def is_loopback(host: str) -> bool:
    """Whether binding to ``host`` keeps the server reachable from this machine only."""
    if host in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True, slots=True)
class ServeConfig:
    """What ``edgedeblur serve`` runs with.

    Attributes:
        host, port: where to listen; a non-loopback host gets a random ``token``.
        model: shipped model name or file for photos and albums.
        live_model: the same for the live page (the video default: fast enough per frame).
        models_dir: folder holding the models' manifest.
        threads: CPU threads for the model.
        album_root: server-side folders the album page may read (None: upload only).
        live_source: camera index, stream URL or video file for the live page (None: off).
        work_dir: where uploads and results live until they expire (None: a temp folder).
        max_upload_mb: largest accepted upload (one request).
        max_megapixels: largest accepted photo.
        max_output_megapixels: largest result, after upscaling.
        keep_s: seconds an upload and its results are kept.
        preview_side_px: default long side of previews (the page asks for its screen's).
        token: required by every request when set; None on loopback.
    """

    host: str = "127.0.0.1"
    port: int = 8000
    model: str | Path = DEFAULT_MODEL
    live_model: str | Path = LIVE_VIDEO_MODEL
    models_dir: Path = SHIPPED_DIR
    threads: int = 2
    album_root: Path | None = None
    live_source: str | None = None
    work_dir: Path | None = None
    max_upload_mb: float = 50.0
    max_megapixels: float = 48.0
    max_output_megapixels: float = 100.0
    keep_s: float = 3600.0
    preview_side_px: int = 1280
    token: str | None = field(default=None)

    def __post_init__(self) -> None:
        if not 0 < self.port < 65536:
            raise ConfigError(f"--port {self.port} is not a TCP port; use 1-65535, e.g. --port 8000")
        for name in ("max_upload_mb", "max_megapixels", "max_output_megapixels", "keep_s"):
            if not getattr(self, name) > 0:
                raise ConfigError(f"--{name.replace('_', '-')} must be > 0")
        if self.album_root is not None and not Path(self.album_root).is_dir():
            raise ConfigError(f"--album-root {self.album_root} is not a folder; give an existing folder")

    @property
    def max_upload_bytes(self) -> int:
        return int(self.max_upload_mb * 1024 * 1024)

    @property
    def max_pixels(self) -> int:
        return int(self.max_megapixels * 1e6)

    @property
    def max_output_pixels(self) -> int:
        return int(self.max_output_megapixels * 1e6)


def with_token(config: ServeConfig) -> ServeConfig:
    """``config`` with a fresh random token when it binds beyond loopback (and has none)."""
    from dataclasses import replace

    if config.token is None and not is_loopback(config.host):
        return replace(config, token=secrets.token_urlsafe(18))
    return config
