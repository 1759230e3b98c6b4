"""A project report rendered by a real browser: headless Chromium (Debian package `chromium`)
opens the file with networking off and takes a screenshot, which must be a full-size PNG
with real content (not a blank or error page)."""

from __future__ import annotations

import shutil
import struct
import subprocess
from pathlib import Path

import pytest

from cinefeat import FeatureStore
from cinefeat.quality import project_report
from tests.quality.test_report import build_report_repo

BROWSER = next(
    (found for name in ("chromium", "chromium-browser") if (found := shutil.which(name))), None
)
WIDTH, HEIGHT = 1280, 2000


@pytest.mark.skipif(
    BROWSER is None, reason="needs headless Chromium: apt-get install -y chromium (Debian)"
)
def test_chromium_renders_the_project_report(tmp_path: Path) -> None:
    build_report_repo(tmp_path / "repo", models=False)
    with FeatureStore(tmp_path / "repo") as store:
        document = project_report(store)
    page = tmp_path / "report.html"
    page.write_text(document, encoding="utf-8")
    screenshot = tmp_path / "report.png"
    assert BROWSER is not None
    result = subprocess.run(
        [
            BROWSER, "--headless", "--no-sandbox", "--disable-gpu",
            "--disable-background-networking", "--disable-component-update", "--disable-sync",
            "--no-first-run", f"--user-data-dir={tmp_path / 'profile'}",
            f"--screenshot={screenshot}", f"--window-size={WIDTH},{HEIGHT}", page.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    data = screenshot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])  # the IHDR chunk comes first
    assert (width, height) == (WIDTH, HEIGHT)
    from PIL import Image  # matplotlib's own dependency

    with Image.open(screenshot) as image:
        colours = image.convert("RGB").getcolors(maxcolors=1 << 20) or []
    # The page's dark header, cards, text and charts: far more than a blank page's few colours.
    assert len(colours) > 500, f"only {len(colours)} colours: a blank or broken page?"
    # The dark header band is at the top, the light page background below it.
    with Image.open(screenshot) as image:
        rgb = image.convert("RGB")
        assert rgb.getpixel((4, 4)) == (0x1D, 0x2B, 0x3A)
        assert rgb.getpixel((4, 400)) == (0xF3, 0xF5, 0xF8)
