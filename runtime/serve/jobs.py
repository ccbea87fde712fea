"""The one work queue: every deblur (preview, download, album photo) runs on a single worker
thread, so a second upload waits instead of running two models at once on a 2-core device."""
from __future__ import annotations

import asyncio
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Callable, TypeVar

T = TypeVar("T")


class JobQueue:
    """A single worker thread plus a count of jobs waiting or running."""

    def __init__(self) -> None:
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="deblur")
        self._lock = threading.Lock()
        self._pending = 0

    @property
    def pending(self) -> int:
        """Jobs queued or running now."""
        with self._lock:
            return self._pending

    def submit(self, fn: Callable[..., T], *args: object) -> Future[T]:
        """Queue ``fn(*args)`` behind every earlier job."""
        with self._lock:
            self._pending += 1

        def run() -> T:
            try:
                return fn(*args)
            finally:
                with self._lock:
                    self._pending -= 1
        return self._pool.submit(run)

    async def run(self, fn: Callable[..., T], *args: object) -> T:
        """``submit`` and wait without blocking the event loop."""
        return await asyncio.wrap_future(self.submit(fn, *args))

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)
