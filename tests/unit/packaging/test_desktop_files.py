"""The desktop entry, the AppStream metainfo and the icons: valid by their own validators, named
alike, at every size, with the package's version as the newest release, and all shipped in the
wheel."""

from __future__ import annotations

import shutil
import struct
import subprocess
import tomllib
import xml.etree.ElementTree as ET
from importlib import metadata

import pytest

from gui.resource_files import APP_ID, DESKTOP_ID, ICON_SIZES, RESOURCES, icon_png

REPO = RESOURCES.parent
ENTRY = RESOURCES / f"{DESKTOP_ID}.desktop"
METAINFO = RESOURCES / f"{APP_ID}.metainfo.xml"


def _run(tool: str, *args: str) -> subprocess.CompletedProcess[str]:
    found = shutil.which(tool)
    assert found, f"{tool} is missing: install desktop-file-utils and appstream"
    return subprocess.run([found, *args], capture_output=True, text=True, timeout=120,
                          check=False)


def test_the_desktop_entry_passes_its_validator_without_a_hint() -> None:
    done = _run("desktop-file-validate", str(ENTRY))
    assert done.returncode == 0 and not done.stdout.strip(), done.stdout + done.stderr


def test_the_metainfo_passes_appstream_strictly() -> None:
    done = _run("appstreamcli", "validate", "--no-net", "--strict", str(METAINFO))
    assert done.returncode == 0, done.stdout + done.stderr


def test_entry_metainfo_icon_and_window_use_one_name() -> None:
    keys = dict(line.split("=", 1) for line in ENTRY.read_text().splitlines() if "=" in line)
    assert keys["Icon"] == DESKTOP_ID
    assert keys["StartupWMClass"] == DESKTOP_ID
    root = ET.parse(METAINFO).getroot()
    assert root.findtext("id") == APP_ID
    assert root.findtext("launchable") == ENTRY.name
    assert root.findtext("icon") == DESKTOP_ID


def test_the_newest_release_is_the_package_version() -> None:
    releases = ET.parse(METAINFO).getroot().findall("releases/release")
    assert releases, "the metainfo lists no release"
    assert releases[0].get("version") == metadata.version("closeout")
    assert releases[0].find("description") is not None


def test_every_metainfo_screenshot_is_a_file_in_docs() -> None:
    images = [e.text or "" for e in ET.parse(METAINFO).getroot().iter("image")]
    assert images
    for url in images:
        assert url.startswith("https://"), url
        assert (REPO / "docs" / url.rsplit("/docs/", 1)[1]).is_file(), url


@pytest.mark.parametrize("size", ICON_SIZES)
def test_each_icon_size_is_a_square_rgba_png_of_that_size(size: int) -> None:
    data = icon_png(RESOURCES, size).read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height, depth, colour = struct.unpack(">IIBB", data[16:26])
    assert (width, height, depth, colour) == (size, size, 8, 6)  # 6: RGBA


def test_the_wheel_ships_every_resource() -> None:
    config = tomllib.loads((REPO / "pyproject.toml").read_text())
    patterns = config["tool"]["setuptools"]["package-data"]["gui.resources"]
    shipped = {p for pattern in patterns for p in RESOURCES.glob(pattern)}  # as setuptools does
    unshipped = [p for p in RESOURCES.rglob("*") if p.is_file() and p not in shipped]
    assert not unshipped
