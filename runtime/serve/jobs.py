"""The one work queue: every deblur (preview, download, album photo) runs on a single worker
thread, so a second upload waits instead of running two models at once on a 2-core device.

Jobs run by priority, then in order: a preview (someone is moving a slider) goes ahead of
the photos of an album already queued, which run one job per photo.
"""
from __future__ import annotations

import asyncio
import enum
import heapq
import itertools
import threading
from concurrent.futures import Future
from typing import Any, Callable, TypeVar

T = TypeVar("T")


class Priority(enum.IntEnum):
    """Lower runs first."""

    INTERACTIVE = 0
    DOWNLOAD = 1
    ALBUM = 2


class JobQueue:
    """A single worker thread taking the most urgent job first."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._heap: list[tuple[int, int, Callable[..., Any], tuple[object, ...], Future[Any]]] = []
        self._seq = itertools.count()
        self._running = 0
        self._closed = False
        self._thread = threading.Thread(target=self._work, name="deblur", daemon=True)
        self._thread.start()

    @property
    def pending(self) -> int:
        """Jobs queued or running now."""
        with self._cond:
            return len(self._heap) + self._running

    def submit(self, fn: Callable[..., T], *args: object, priority: Priority = Priority.DOWNLOAD) -> Future[T]:
        """Queue ``fn(*args)`` behind every earlier job of the same or a more urgent priority."""
        future: Future[T] = Future()
        with self._cond:
            if self._closed:
                raise RuntimeError("the job queue is closed")
            heapq.heappush(self._heap, (int(priority), next(self._seq), fn, args, future))
            self._cond.notify()
        return future

    async def run(self, fn: Callable[..., T], *args: object, priority: Priority = Priority.DOWNLOAD) -> T:
        """``submit`` and wait without blocking the event loop."""
        return await asyncio.wrap_future(self.submit(fn, *args, priority=priority))

    def _work(self) -> None:
        while True:
            with self._cond:
                self._cond.wait_for(lambda: self._heap or self._closed)
                if not self._heap:
                    return
                _, _, fn, args, future = heapq.heappop(self._heap)
                self._running = 1
            if future.set_running_or_notify_cancel():
                try:
                    future.set_result(fn(*args))
                except BaseException as e:  # noqa: BLE001 - handed to whoever waits on the future
                    future.set_exception(e)
            with self._cond:
                self._running = 0

    def close(self) -> None:
        """Cancel what is queued, wait for the running job, stop the worker."""
        with self._cond:
            self._closed = True
            for *_, future in self._heap:
                future.cancel()
            self._heap.clear()
            self._cond.notify()
        self._thread.join()
