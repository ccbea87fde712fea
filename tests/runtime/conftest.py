"""Fixtures shared by the runtime's command and photo tests."""
from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture
def user_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty user presets folder of the test's own (``$XDG_CONFIG_HOME/edgedeblur/presets``)."""
    folder = tmp_path / "config" / "edgedeblur" / "presets"
    folder.mkdir(parents=True)
    monkeypatch.delenv("EDGEDEBLUR_PRESETS", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    return folder
