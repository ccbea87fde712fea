"""The mediapipe release that ships the face models on this machine (the Makefile pins the same).

0.10.21 on x86-64; 0.10.18 on 64-bit Arm, the last release with a Linux aarch64 wheel.
"""
from __future__ import annotations

import platform

MEDIAPIPE_VERSION = "0.10.18" if platform.machine().lower() in ("aarch64", "arm64") else "0.10.21"
