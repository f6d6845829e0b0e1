"""Headless Chromium for report tests: load a page, report broken images, take a screenshot."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

# Flags that work in containers without a display or network (no sandbox as root, no GPU, no
# background connections that this machine's closed network would refuse).
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
]
INSTALL = "apt-get update && apt-get install -y chromium"

# Runs after the page and its images have loaded; records what it finds on <body>.
CHECK = """<script>
window.addEventListener('load', function () {
  var imgs = Array.prototype.slice.call(document.images);
  var broken = imgs.filter(function (i) { return !(i.complete && i.naturalWidth > 0); });
  document.body.setAttribute('data-check',
    'images=' + imgs.length + ' broken=' + broken.length + ' sections=' +
    document.querySelectorAll('section').length);
});
</script>"""


def chromium() -> str | None:
    """Path of the Chromium binary, or None when it is not installed."""
    return shutil.which("chromium") or shutil.which("chromium-browser")


def load_and_check(html_file: Path, profile: Path) -> tuple[dict[str, int], str]:
    """Open a copy of ``html_file`` with :data:`CHECK` added; return its counts and stderr."""
    probe = profile.parent / "checked.html"
    probe.write_text(
        html_file.read_text(encoding="utf-8").replace("</body>", CHECK + "</body>"),
        encoding="utf-8",
    )
    done = subprocess.run(
        [
            chromium(),
            *FLAGS,
            f"--user-data-dir={profile}",
            "--virtual-time-budget=10000",
            "--enable-logging=stderr",
            "--dump-dom",
            probe.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    found = re.search(r'data-check="images=(\d+) broken=(\d+) sections=(\d+)"', done.stdout)
    if not found:
        raise AssertionError(f"the check did not run; chromium said: {done.stderr[-2000:]}")
    counts = dict(zip(("images", "broken", "sections"), map(int, found.groups()), strict=True))
    return counts, done.stderr


def screenshot(html_file: Path, png: Path, profile: Path, width: int = 1100, height: int = 1500):
    """Save a screenshot of the top of ``html_file``."""
    subprocess.run(
        [
            chromium(),
            *FLAGS,
            f"--user-data-dir={profile}",
            f"--window-size={width},{height}",
            f"--screenshot={png}",
            html_file.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return png
