"""Helpers that write fixture trees (real files) and a hand-driven clock."""
from __future__ import annotations

from pathlib import Path


class FakeClock:
    """A clock the test advances by hand (the only thing mocked in these tests)."""

    def __init__(self, start: float = 100.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def write_tree(root: Path, files: dict[str, str]) -> Path:
    """Create ``root/<relpath>`` with each content (a trailing newline, as sysfs prints)."""
    for rel, content in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content + "\n")
    return root
