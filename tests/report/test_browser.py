"""The report opened in a real browser (headless Chromium): it loads, and every image shows."""

from __future__ import annotations

import re

import pytest
from PIL import Image

from tests.report import browser

pytestmark = pytest.mark.skipif(
    browser.chromium() is None,
    reason=f"chromium is not installed (Debian: {browser.INSTALL})",
)


def test_report_loads_in_chromium_with_every_image(trained_run, tmp_path):
    run, _ = trained_run
    html = (run / "report.html").read_text(encoding="utf-8")
    counts, log = browser.load_and_check(run / "report.html", tmp_path / "profile")
    assert counts["images"] == html.count("<img ") >= 6
    assert counts["broken"] == 0
    assert counts["sections"] == html.count("<section ")
    # JavaScript errors and failed loads are logged by Chromium as console / network errors.
    assert not re.search(r"Uncaught|ERR_FILE_NOT_FOUND|Failed to load resource", log)


def test_report_screenshot_renders(trained_run, tmp_path):
    run, _ = trained_run
    png = browser.screenshot(run / "report.html", tmp_path / "shot.png", tmp_path / "profile")
    with Image.open(png) as im:
        assert im.size == (1100, 1500)
        colours = im.convert("RGB").resize((55, 75)).getcolors(maxcolors=55 * 75)
    # A rendered page has many colours (header, tables, plots); a blank or error page does not.
    assert colours is not None and len(colours) > 20


def test_the_browser_check_sees_a_broken_image(tmp_path):
    page = tmp_path / "page.html"
    page.write_text(
        '<!DOCTYPE html><html><body><section><img src="data:image/png;base64,iVBORw0KGgoAAAA">'
        "</section></body></html>",
        encoding="utf-8",
    )
    counts, _ = browser.load_and_check(page, tmp_path / "profile")
    assert counts == {"images": 1, "broken": 1, "sections": 1}
