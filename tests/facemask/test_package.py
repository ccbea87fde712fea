"""Package shape: public names resolve lazily, and facemask stays a leaf."""
from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import facemask

PACKAGE = Path(facemask.__file__).parent


def test_every_public_name_resolves() -> None:
    assert all(getattr(facemask, name) is not None for name in facemask.__all__)
    assert facemask.FaceMaskError.__module__ == "facemask.errors"


def test_importing_the_error_type_loads_no_heavy_libraries() -> None:
    code = "import sys, facemask.errors; print(sorted({'numpy', 'cv2', 'mediapipe'} & set(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_facemask_imports_nothing_from_runtime_or_convert() -> None:
    offenders = []
    for path in PACKAGE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else (
                [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            offenders += [f"{path.name}: {n}" for n in names if n.split(".")[0] in ("runtime", "convert")]
    assert offenders == []
