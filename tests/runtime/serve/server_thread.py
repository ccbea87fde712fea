"""A real uvicorn server on a free localhost port, in a thread, for client and browser tests."""
from __future__ import annotations

import contextlib
import socket
import threading
import time
from typing import Iterator

from runtime.serve.config import ServeConfig


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def running_server(config: ServeConfig) -> Iterator[str]:
    """Serve ``config`` (on a free port) until the block ends; yields the base URL."""
    from dataclasses import replace

    import uvicorn

    from runtime.serve.app import create_app

    config = replace(config, port=free_port())
    server = uvicorn.Server(uvicorn.Config(create_app(config), host="127.0.0.1", port=config.port,
                                           log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the test server did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{config.port}"
    finally:
        server.should_exit = True
        thread.join(timeout=15)
