"""A small Python client for a running ``edgedeblur serve`` (standard library only).

Example:
    >>> client = ServeClient("http://127.0.0.1:8000")
    >>> client.health()["status"]
    'ok'
    >>> client.deblur_file(Path("photo.jpg"), Path("photo.sharp.jpg"), mode="focus", strength=0.7)
"""
from __future__ import annotations

import json
import secrets
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from runtime.errors import EdgeDeblurError
from facemask.files import atomic_write


class ServeError(EdgeDeblurError):
    """The server refused a request or could not be reached; the message is the server's."""


@dataclass(frozen=True, slots=True)
class ServeClient:
    """Calls the JSON API of ``base_url``; ``token`` is the one the server printed (if any)."""

    base_url: str = "http://127.0.0.1:8000"
    token: str | None = None
    timeout_s: float = 600.0

    def _call(self, path: str, data: bytes | None = None, content_type: str | None = None) -> tuple[bytes, Any]:
        req = urllib.request.Request(self.base_url.rstrip("/") + path, data=data)
        if content_type:
            req.add_header("Content-Type", content_type)
        if self.token:
            req.add_header("Authorization", f"Bearer {self.token}")
        try:
            with urllib.request.urlopen(req, timeout=self.timeout_s) as res:
                return res.read(), res.headers
        except urllib.error.HTTPError as e:
            try:
                message = json.loads(e.read()).get("error", e.reason)
            except ValueError:
                message = e.reason
            raise ServeError(f"{path}: {message}") from e
        except urllib.error.URLError as e:
            raise ServeError(f"cannot reach {self.base_url}: {e.reason}; is `edgedeblur serve` running?") from e

    def health(self) -> dict[str, Any]:
        return json.loads(self._call("/api/health")[0])

    def models(self) -> dict[str, Any]:
        return json.loads(self._call("/api/models")[0])

    def deblur_bytes(self, data: bytes, name: str, *, preset: str | None = None, mode: str | None = None,
                     strength: float | None = None, faces: bool = False, denoise: str | float | None = None,
                     upscale: int | None = None) -> bytes:
        """The full-resolution result of one photo's file bytes, in the same format. Settings
        left out come from ``preset`` (a name), else the server's defaults."""
        boundary = secrets.token_hex(12)
        fields = {"preset": preset, "mode": mode, "strength": strength, "faces": str(faces).lower(),
                  "denoise": denoise, "upscale": upscale}
        parts = [f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode()
                 for k, v in fields.items() if v is not None]
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{name}"\r\n'
                     "Content-Type: application/octet-stream\r\n\r\n".encode() + data + b"\r\n")
        body = b"".join(parts) + f"--{boundary}--\r\n".encode()
        return self._call("/api/deblur", body, f"multipart/form-data; boundary={boundary}")[0]

    def deblur_file(self, src: Path, dst: Path, **settings: Any) -> Path:
        """Deblur ``src`` on the server (``settings`` as ``deblur_bytes``) and write the result
        to ``dst`` atomically."""
        src = Path(src)
        atomic_write(Path(dst), self.deblur_bytes(src.read_bytes(), src.name, **settings))
        return Path(dst)
