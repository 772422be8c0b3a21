"""Draw the application icon from packaging/icons/imapdesk.svg's shapes.

Writes imapdesk.png (256 px) into webui/static for the window, and
imapdesk.ico (Windows) and imapdesk.icns (macOS) into packaging/icons, with
nothing but the standard library: the shapes are few, so they are drawn
here directly rather than by rendering the SVG.

    python packaging/make_icons.py
"""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
BLUE = (0x1D, 0x4F, 0x91)
WHITE = (0xFF, 0xFF, 0xFF)
AMBER = (0xF2, 0xA9, 0x00)
SUBSAMPLES = 3


def _in_rounded_rect(x, y, left, top, width, height, radius):
    right, bottom = left + width, top + height
    if not (left <= x <= right and top <= y <= bottom):
        return False
    cx = min(max(x, left + radius), right - radius)
    cy = min(max(y, top + radius), bottom - radius)
    return (x - cx) ** 2 + (y - cy) ** 2 <= radius**2


def _near_polyline(x, y, points, half_width):
    for (x0, y0), (x1, y1) in zip(points, points[1:], strict=False):
        dx, dy = x1 - x0, y1 - y0
        t = max(0.0, min(1.0, ((x - x0) * dx + (y - y0) * dy) / (dx * dx + dy * dy)))
        if (x - x0 - t * dx) ** 2 + (y - y0 - t * dy) ** 2 <= half_width**2:
            return True
    return False


def _colour_at(x, y):
    """The colour at (x, y) in the SVG's 100 x 100 box, or None if clear."""
    ring = (x - 74) ** 2 + (y - 70) ** 2
    if ring <= 10.5**2:
        if _near_polyline(x, y, [(68.5, 70), (72.5, 74), (79.5, 66)], 1.5):
            return BLUE
        return AMBER
    if ring <= 13.5**2:
        return BLUE
    if _in_rounded_rect(x, y, 20, 30, 60, 42, 3):
        if _near_polyline(x, y, [(22, 32), (50, 53), (78, 32)], 1.75):
            return BLUE
        return WHITE
    if _in_rounded_rect(x, y, 6, 6, 88, 88, 18):
        return BLUE
    return None


def render(size: int) -> bytes:
    """The icon as RGBA rows, anti-aliased by subsampling each pixel."""
    scale = 100 / size
    rows = bytearray()
    n = SUBSAMPLES
    for py in range(size):
        rows.append(0)  # PNG filter: none
        for px in range(size):
            r = g = b = hits = 0
            for sy in range(n):
                for sx in range(n):
                    colour = _colour_at(
                        (px + (sx + 0.5) / n) * scale, (py + (sy + 0.5) / n) * scale
                    )
                    if colour:
                        r, g, b, hits = (
                            r + colour[0],
                            g + colour[1],
                            b + colour[2],
                            hits + 1,
                        )
            if hits:
                rows += bytes((r // hits, g // hits, b // hits, 255 * hits // (n * n)))
            else:
                rows += b"\0\0\0\0"
    return bytes(rows)


def png(size: int) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", size, size, 8, 6, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(render(size), 9))
        + chunk(b"IEND", b"")
    )


def ico(images: dict[int, bytes]) -> bytes:
    """A Windows icon holding PNG images (allowed since Windows Vista)."""
    sizes = sorted(images)
    out = struct.pack("<HHH", 0, 1, len(sizes))
    offset = 6 + 16 * len(sizes)
    for size in sizes:
        data = images[size]
        out += struct.pack(
            "<BBBBHHII", size % 256, size % 256, 0, 0, 1, 32, len(data), offset
        )
        offset += len(data)
    return out + b"".join(images[size] for size in sizes)


def icns(images: dict[int, bytes]) -> bytes:
    """A macOS icon holding PNG images under their icns type codes."""
    codes = {32: b"ic11", 64: b"ic12", 128: b"ic07", 256: b"ic08", 512: b"ic09"}
    body = b"".join(
        code + struct.pack(">I", len(images[size]) + 8) + images[size]
        for size, code in codes.items()
        if size in images
    )
    return b"icns" + struct.pack(">I", len(body) + 8) + body


def main() -> None:
    images = {size: png(size) for size in (16, 32, 48, 64, 128, 256, 512)}
    (ROOT / "webui" / "static" / "imapdesk.png").write_bytes(images[256])
    (HERE / "icons" / "imapdesk.png").write_bytes(images[512])
    (HERE / "icons" / "imapdesk.ico").write_bytes(
        ico({s: images[s] for s in (16, 32, 48, 64, 128, 256)})
    )
    (HERE / "icons" / "imapdesk.icns").write_bytes(icns(images))


if __name__ == "__main__":
    main()
