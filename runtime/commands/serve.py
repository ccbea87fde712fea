"""``edgedeblur serve``: the photo, album and live pages (see ``runtime.serve``)."""
from __future__ import annotations

import argparse
import errno
import socket
from pathlib import Path

from runtime.catalog import DEFAULT_MODEL, SHIPPED_DIR, LIVE_VIDEO_MODEL
from runtime.errors import ConfigError

EXAMPLES = """examples:
  edgedeblur serve                                   # http://127.0.0.1:8000 on this machine only
  edgedeblur serve --host 0.0.0.0 --album-root ~/Pictures --live 0
  edgedeblur serve --live rtsp://127.0.0.1:8554/cam --model small.int8
"""


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``serve`` subcommand."""
    p = subparsers.add_parser("serve", help="photo, album and live pages in a browser", epilog=EXAMPLES,
                              formatter_class=argparse.RawDescriptionHelpFormatter,
                              description="Serve the deblur pages and JSON API from this device. Binds to "
                                          "localhost; any other --host prints a random access token.")
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1: this machine only)")
    p.add_argument("--port", type=int, default=8000, help="TCP port (default 8000)")
    p.add_argument("--model", default=DEFAULT_MODEL, metavar="NAME|PATH",
                   help=f"model for photos and albums: shipped name or file (default {DEFAULT_MODEL})")
    p.add_argument("--live-model", default=LIVE_VIDEO_MODEL, metavar="NAME|PATH",
                   help=f"model for the live page (default {LIVE_VIDEO_MODEL})")
    p.add_argument("--models-dir", type=Path, default=SHIPPED_DIR, metavar="DIR",
                   help="folder holding manifest.json (default: the shipped models)")
    p.add_argument("--threads", type=int, default=2, help="CPU threads for the model (default 2)")
    p.add_argument("--album-root", type=Path, metavar="DIR",
                   help="let the album page read folders under DIR (never outside it)")
    p.add_argument("--live", metavar="SOURCE", help="camera index, /dev/videoN, stream URL or video file")
    p.add_argument("--work-dir", type=Path, metavar="DIR", help="where uploads and results are kept "
                   "(default: a temporary folder removed on exit)")
    p.add_argument("--max-upload-mb", type=float, default=50.0, help="largest photo upload (default 50)")
    p.add_argument("--max-megapixels", type=float, default=48.0, help="largest photo (default 48 MP)")
    p.add_argument("--max-output-megapixels", type=float, default=100.0,
                   help="largest result after upscaling (default 100 MP: a 12 MP photo x2, not x4)")
    p.add_argument("--keep-minutes", type=float, default=60.0,
                   help="delete uploads and results after this long (default 60)")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Handler: build the app and serve it until Ctrl-C."""
    try:
        import uvicorn

        from runtime.serve.app import create_app
    except ImportError as e:
        raise ConfigError(f"serve needs the web extra ({e.name} is missing); install it with "
                          "pip install 'edgedeblur[serve]'") from e
    from runtime.serve.config import ServeConfig, with_token

    config = with_token(ServeConfig(
        host=args.host, port=args.port, model=args.model, live_model=args.live_model, models_dir=args.models_dir, threads=args.threads,
        album_root=args.album_root.expanduser() if args.album_root else None, live_source=args.live,
        work_dir=args.work_dir, max_upload_mb=args.max_upload_mb, max_megapixels=args.max_megapixels,
        max_output_megapixels=args.max_output_megapixels,
        keep_s=args.keep_minutes * 60))
    sock = _listen(config.host, config.port)
    shown = "localhost" if config.host in ("127.0.0.1", "::1") else config.host
    url = f"http://{shown}:{config.port}/"
    if config.token is not None:
        print(f"edgedeblur serve: reachable beyond this machine; open {url}?token={config.token}\n"
              "  (replace the host with this device's address; the token is new on every start)", flush=True)
    else:
        print(f"edgedeblur serve: open {url} (this machine only; --host 0.0.0.0 to share on the network)",
              flush=True)
    with sock:
        uvicorn.Server(uvicorn.Config(create_app(config), log_level="warning")).run(sockets=[sock])
    return 0


def _listen(host: str, port: int) -> socket.socket:
    """The server's socket, bound here: a port another program holds is one line before the
    URL is printed, not uvicorn's log line after it."""
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as e:
        sock.close()
        if isinstance(e, socket.gaierror) or e.errno == errno.EADDRNOTAVAIL:
            raise ConfigError(f"--host {host} is not an address of this machine; use 127.0.0.1 (this machine "
                              "only) or 0.0.0.0 (every network)") from e
        why = "is in use" if e.errno == errno.EADDRINUSE else f"cannot be opened ({e.strerror or e})"
        raise ConfigError(f"--port {port} on {host} {why}; stop the program holding it or choose another "
                          "--port") from e
    return sock
