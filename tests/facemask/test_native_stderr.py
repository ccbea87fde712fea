"""quiet_native drops what libraries print themselves, keeps exceptions, and stands down for --debug."""
from __future__ import annotations

import logging
import os
import sys

import pytest

from facemask.native_stderr import quiet_native


def _chatter() -> None:
    os.write(2, b"native line\n")                 # what C++ code does, past Python
    print("python progress")
    print("python warning", file=sys.stderr)
    logging.getLogger("some.converter").warning("log record")


def test_native_stderr_only_by_default(capfd: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture) -> None:
    with quiet_native():
        _chatter()
    out, err = capfd.readouterr()
    assert "native line" not in err
    assert "python progress" in out and "python warning" in err and "log record" in caplog.text


def test_python_output_too(capfd: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture) -> None:
    with quiet_native(python_output=True):
        _chatter()
    out, err = capfd.readouterr()
    assert (out, err) == ("", "") and "log record" not in caplog.text
    os.write(2, b"after\n")                          # stderr is back
    assert capfd.readouterr().err == "after\n"


def test_exceptions_pass_through() -> None:
    with pytest.raises(RuntimeError, match="kept"), quiet_native(python_output=True):
        raise RuntimeError("kept")


def test_debug_logging_keeps_everything(capfd: pytest.CaptureFixture[str]) -> None:
    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.DEBUG)
    try:
        with quiet_native(python_output=True):
            os.write(2, b"native line\n")
    finally:
        root.setLevel(level)
    assert "native line" in capfd.readouterr().err
