"""The photo page in a real headless Chromium (Debian's), driven by Playwright.

Skips when /usr/bin/chromium or Playwright is missing (CI installs Chromium when apt works).
"""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from runtime.serve.config import ServeConfig
from tests.runtime.serve.serve_helpers import decode

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not Path(CHROMIUM).exists(),
                       reason="no Chromium at /usr/bin/chromium: apt-get install -y chromium (CI's .ci/run does)"),
]


def test_upload_move_slider_and_read_back_a_changed_preview(config: ServeConfig, photo: Path, tmp_path: Path) -> None:
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed (dev extra)")
    from tests.runtime.serve.server_thread import running_server

    text = tmp_path / "notes.txt"
    text.write_text("this is not a photo\n")
    with running_server(config) as url, sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 390, "height": 844})
            page.goto(url + "/")
            page.set_input_files("#file", str(text))
            page.wait_for_function("document.getElementById('error').textContent.includes('text file')")
            page.set_input_files("#file", str(photo))
            page.wait_for_function("document.getElementById('after').src.startsWith('data:image/jpeg')",
                                   timeout=60_000)
            page.wait_for_function("!document.getElementById('compare').classList.contains('busy')")
            first = page.get_attribute("#after", "src")
            assert page.text_content("#error") == ""                  # the good photo cleared the error
            page.fill("#strength", "20")                               # move the slider
            page.wait_for_function(f"document.getElementById('after').src !== {first!r}", timeout=60_000)
            assert page.text_content("#strength-out") == "20%"
            assert page.locator(".face img").count() == 2              # the face, zoomed before/after
            page.locator("#compare").scroll_into_view_if_needed()    # the slider scrolled it away on a phone
            page.mouse.click(*_point(page, "#compare", 0.25))          # drag the compare bar
            assert page.evaluate("getComputedStyle(document.getElementById('compare'))"
                                 ".getPropertyValue('--cut').trim()").startswith("2")
            with page.expect_download() as dl:
                page.click("#download")
            assert dl.value.suggested_filename == "astronaut.sharp.jpg"
            page.wait_for_function("document.getElementById('preset').options.length > 4")
            page.select_option("#preset", "portrait")                  # sets the controls it covers
            assert page.get_attribute("#upscale button.on", "data-value") == "2"
            assert page.get_attribute("#mode button.on", "data-value") == "focus"
            assert page.input_value("#denoise") == "auto" and page.text_content("#strength-out") == "80%"
            page.wait_for_function("document.getElementById('status').textContent.includes('zoom x2')",
                                   timeout=60_000)
            with page.expect_download() as dl:
                page.click("#download")
            assert decode(Path(dl.value.path()).read_bytes()).shape == (512, 512, 3)
            page.check("#faces")                                       # face priority runs alone
            assert page.evaluate("document.getElementById('chain').disabled")
            page.wait_for_function("document.getElementById('status').textContent.includes('face priority')",
                                   timeout=60_000)
            assert page.text_content("#error") == ""
        finally:
            browser.close()


def _point(page, selector: str, x_share: float) -> tuple[float, float]:
    box = page.locator(selector).bounding_box()
    return box["x"] + x_share * box["width"], box["y"] + box["height"] / 2
