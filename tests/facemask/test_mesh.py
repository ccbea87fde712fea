"""facemask's landmark indices match MediaPipe's face-mesh topology."""
from __future__ import annotations

import pytest

from facemask import mesh

connections = pytest.importorskip("mediapipe.python.solutions.face_mesh_connections")


def _vertices(edges: frozenset[tuple[int, int]]) -> set[int]:
    return {i for edge in edges for i in edge}


@pytest.mark.parametrize(("ours", "theirs"), [
    ("FACE_OVAL", "FACEMESH_FACE_OVAL"),
    ("LEFT_EYE", "FACEMESH_LEFT_EYE"),
    ("RIGHT_EYE", "FACEMESH_RIGHT_EYE"),
    ("LEFT_EYEBROW", "FACEMESH_LEFT_EYEBROW"),
    ("RIGHT_EYEBROW", "FACEMESH_RIGHT_EYEBROW"),
    ("LIPS", "FACEMESH_LIPS"),
])
def test_index_sets_match_mediapipe(ours: str, theirs: str) -> None:
    assert set(getattr(mesh, ours)) == _vertices(getattr(connections, theirs))


def test_face_oval_is_an_ordered_contour() -> None:
    edges = {frozenset(e) for e in connections.FACEMESH_FACE_OVAL}
    ring = mesh.FACE_OVAL + mesh.FACE_OVAL[:1]
    assert all(frozenset(pair) in edges for pair in zip(ring, ring[1:]))


def test_key_points_lie_on_the_right_parts() -> None:
    assert mesh.FOREHEAD_TOP in mesh.FACE_OVAL and mesh.CHIN in mesh.FACE_OVAL
    assert mesh.RIGHT_EYE_OUTER in mesh.RIGHT_EYE and mesh.LEFT_EYE_OUTER in mesh.LEFT_EYE
