"""Fixtures for the energy tests; fixture trees are real files in tmp_path (see trees.py)."""
from __future__ import annotations

import pytest

from tests.runtime.energy.trees import FakeClock


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()
