"""facemask runs on a headless machine: no system OpenGL/X11/GTK libraries needed.

A child process runs both backends with EGL vendor discovery pointed at an empty folder
(what a server without Mesa looks like to MediaPipe's bundled libEGL) and then lists
the shared libraries it has mapped: none may come from the system's GL, X11 or GTK.
"""
from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import cv2

CHILD = """
import numpy as np
from facemask.detector import FaceDetector
from facemask.options import FaceDetectorOptions
from runtime.lab.sample_images import load_sample
counts = []
for backend in ("litert", "mediapipe"):
    with FaceDetector.create_from_options(FaceDetectorOptions(backend=backend)) as det:
        counts.append(len(det.process(load_sample("astronaut"))))
print("FACES", *counts)
for line in open("/proc/self/maps"):
    parts = line.split()
    if len(parts) == 6 and ".so" in parts[5]:
        print("LIB", parts[5])
"""
SYSTEM_GUI_LIBS = re.compile(r"/lib(GL|GLX|EGL_mesa|X11|xcb|gtk|gdk|glib-2\.0)[^/]*\.so")


def test_opencv_is_the_headless_build() -> None:
    assert re.search(r"GUI:\s+NONE", cv2.getBuildInformation())


def test_detection_needs_no_system_gl(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    env["__EGL_VENDOR_LIBRARY_DIRS"] = str(tmp_path)
    env["GLOG_minloglevel"] = "2"
    proc = subprocess.run([sys.executable, "-c", CHILD], capture_output=True, text=True, env=env,
                          timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr[-2000:]
    lines = proc.stdout.splitlines()
    assert "FACES 1 1" in lines
    venv = str(Path(sys.prefix).resolve())
    system_gui = {line.split()[1] for line in lines if line.startswith("LIB ")
                  and SYSTEM_GUI_LIBS.search(line) and not line.split()[1].startswith(venv)}
    assert system_gui == set()
