# Two commands do all the set-up (see README): `make demo` and `make test`.
PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.edgedeblur-installed

.PHONY: demo test install clean

$(STAMP): pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "need $(PYTHON) on PATH (or run: make PYTHON=/path/to/python3.11)"; exit 1; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	# ray: `make test` runs the --ray tests (they skip, with the reason, where Ray is absent);
	# serve: the web pages' tests (a browser test skips, with the reason, without Chromium).
	$(BIN)/pip install --disable-pip-version-check -q -e ".[convert,dev,ray,serve]"
	# mediapipe's wheel depends on the GUI opencv build (needs libGL, clobbers cv2): skip its deps;
	# the ones it imports at run time are in pyproject.toml.
	$(BIN)/pip install --disable-pip-version-check -q --no-deps "mediapipe==0.10.21"
	touch $@

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/edgedeblur demo -o out/demo

test: $(STAMP)
	$(BIN)/python -m pytest -q -m "not gpu and not device"

clean:
	rm -rf $(VENV) out
