"""The preview window: a sink that shows frames on screen and lets ``q`` or Esc stop the run."""
from __future__ import annotations

import os

import cv2

from runtime.video.frames import Frame
from runtime.video.sinks import SinkResult


def display_available() -> str | None:
    """``None`` when a window can be shown, else why not (one line)."""
    if os.name == "posix" and not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
        return "no display (DISPLAY/WAYLAND_DISPLAY unset)"
    gui = cv2.getBuildInformation().partition("GUI:")[2].partition("\n")[0]
    if gui.strip() == "NONE":
        return "this OpenCV build has no GUI (opencv-python-headless)"
    return None


class PreviewWindow:
    """Shows frames in an OpenCV window; ``q`` or Esc sets ``stop_requested``.

    Create it with ``PreviewWindow.open()``, which returns ``None`` (and says why) when no
    display exists, so headless runs carry on without a preview.
    """

    def __init__(self, title: str) -> None:
        self._title = title
        self.stop_requested = False
        self._frames = 0
        cv2.namedWindow(title, cv2.WINDOW_NORMAL)

    @classmethod
    def open(cls, title: str = "edgedeblur") -> tuple[PreviewWindow | None, str | None]:
        """A preview window, or ``(None, reason)`` when there is no display."""
        reason = display_available()
        if reason is not None:
            return None, f"preview disabled: {reason}"
        try:
            return cls(title), None
        except cv2.error as e:
            return None, f"preview disabled: OpenCV cannot open a window ({str(e).strip()[:80]})"

    def write(self, frame: Frame) -> None:
        """Show one frame (HxWx3 uint8 RGB) and poll the keyboard."""
        cv2.imshow(self._title, cv2.cvtColor(frame.image_rgb, cv2.COLOR_RGB2BGR))
        if cv2.waitKey(1) & 0xFF in (ord("q"), 27):
            self.stop_requested = True
        self._frames += 1

    def close(self) -> SinkResult:
        cv2.destroyWindow(self._title)
        return SinkResult(None, self._frames)
