# Two commands do all the set-up (see README): `make demo` and `make test`.
PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.edgedeblur-installed
# 64-bit Arm (Raspberry Pi OS, Debian arm64): mediapipe 0.10.18 is the last release with a
# Linux aarch64 wheel, and the default install is the runtime only (no torch/conversion);
# `make EXTRAS=convert,dev,ray ...` installs everything there too.
ARM64     := $(filter aarch64 arm64,$(shell uname -m))
MEDIAPIPE := $(if $(ARM64),0.10.18,0.10.21)
FULL      := convert,dev,ray,serve,heic
EXTRAS    ?= $(if $(ARM64),dev,$(FULL))
# Without the convert extra, its tests cannot run: test the runtime and the face package.
TESTS     := $(if $(findstring convert,$(EXTRAS)),,tests/runtime tests/facemask)

.PHONY: demo test install clean

$(STAMP): pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "need $(PYTHON) on PATH (or run: make PYTHON=/path/to/python3.11)"; exit 1; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	# ray: `make test` runs the --ray tests (they skip, with the reason, where Ray is absent);
	# serve: the web pages' tests (a browser test skips, with the reason, without Chromium).
	$(BIN)/pip install --disable-pip-version-check -q -e ".[$(EXTRAS)]"
	# mediapipe's wheel depends on the GUI opencv build (needs libGL, clobbers cv2): skip its deps;
	# the ones it imports at run time are in pyproject.toml.
	$(BIN)/pip install --disable-pip-version-check -q --no-deps "mediapipe==$(MEDIAPIPE)"
	# onnx2torch (ONNX -> PyTorch for LiteRT, part of the convert tooling) declares torchvision, whose
	# PyPI wheels are CUDA builds that pull another torch; it needs it only for detection ops.
	$(BIN)/pip install --disable-pip-version-check -q --no-deps "onnx2torch==1.5.15"
	touch $@

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/edgedeblur demo -o out/demo

test: $(STAMP)
	$(BIN)/python -m pytest -q -m "not gpu and not device" $(TESTS)

clean:
	rm -rf $(VENV) out
