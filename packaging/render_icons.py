"""Render the application icon's PNG sizes from ``resources/closeout.svg``.

Desktops pick an icon by size from the hicolor theme; a PNG drawn at each size is sharper than
one scaled by the desktop. Run after editing the SVG, and commit the PNGs it writes:
``QT_QPA_PLATFORM=offscreen PYTHONPATH=. .venv/bin/python packaging/render_icons.py``.
"""

from __future__ import annotations

import sys
from pathlib import Path

from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QGuiApplication, QImage, QPainter
from PySide6.QtSvg import QSvgRenderer

from gui.resource_files import ICON_SIZES, RESOURCES, icon_png

__all__ = ["render"]


def render(svg: Path, size: int) -> QImage:
    renderer = QSvgRenderer(str(svg))
    if not renderer.isValid():
        raise SystemExit(f"{svg}: not a valid SVG")
    image = QImage(size, size, QImage.Format.Format_ARGB32_Premultiplied)
    image.fill(Qt.GlobalColor.transparent)
    painter = QPainter(image)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    renderer.render(painter, QRectF(0, 0, size, size))
    painter.end()
    return image


def main() -> int:
    QGuiApplication(sys.argv[:1])
    svg = RESOURCES / "closeout.svg"
    for size in ICON_SIZES:
        path = icon_png(RESOURCES, size)
        path.parent.mkdir(parents=True, exist_ok=True)
        if not render(svg, size).save(str(path), "PNG"):
            raise SystemExit(f"could not write {path}")
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
