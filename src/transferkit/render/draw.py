"""Image helpers of the report: thumbnails, ground truth beside prediction, boxes, PNG bytes."""

from __future__ import annotations

import io
from collections.abc import Sequence

from PIL import Image, ImageDraw, ImageFont

PANEL = 320  # longest side of each panel of a ground-truth / prediction pair, in pixels
THUMB = 160
COLOURS = [
    (230, 25, 75),
    (60, 180, 75),
    (255, 225, 25),
    (0, 130, 200),
    (245, 130, 48),
    (145, 30, 180),
    (70, 240, 240),
    (240, 50, 230),
    (210, 245, 60),
    (250, 190, 212),
]


def png_bytes(im: Image.Image) -> bytes:
    """``im`` encoded as PNG."""
    buf = io.BytesIO()
    im.save(buf, format="PNG", optimize=True)
    return buf.getvalue()


def fit_within(im: Image.Image, side: int) -> Image.Image:
    """A copy scaled so the longest side is ``side`` (small images are enlarged, pixelated)."""
    scale = side / max(im.size)
    size = (max(1, round(im.width * scale)), max(1, round(im.height * scale)))
    resample = Image.Resampling.NEAREST if scale > 1 else Image.Resampling.BILINEAR
    return im.convert("RGB").resize(size, resample)


def side_by_side(left: Image.Image, right: Image.Image, titles=("ground truth", "prediction")):
    """Two images of the same size next to each other, each under a title bar."""
    font = ImageFont.load_default()
    bar, gap = 14, 6
    out = Image.new(
        "RGB",
        (left.width + right.width + gap, max(left.height, right.height) + bar),
        (255, 255, 255),
    )
    draw = ImageDraw.Draw(out)
    for x, im, title in ((0, left, titles[0]), (left.width + gap, right, titles[1])):
        out.paste(im, (x, bar))
        draw.text((x + 2, 1), title, fill=(40, 40, 40), font=font)
    return out


def draw_boxes(
    im: Image.Image,
    boxes: Sequence[Sequence[float]],
    labels: Sequence[str],
    colour_keys: Sequence[int],
    scale: float = 1.0,
) -> Image.Image:
    """``im`` with XYXY ``boxes`` (original pixels, drawn at ``scale``) and their labels."""
    im = im.copy()
    draw = ImageDraw.Draw(im)
    font = ImageFont.load_default()
    for box, text, key in zip(boxes, labels, colour_keys, strict=True):
        colour = COLOURS[key % len(COLOURS)]
        x1, y1, x2, y2 = (v * scale for v in box)
        draw.rectangle([x1, y1, max(x1, x2 - 1), max(y1, y2 - 1)], outline=colour, width=2)
        left, top, right, bottom = draw.textbbox((x1, max(0, y1 - 11)), text, font=font)
        draw.rectangle([left - 1, top - 1, right + 1, bottom + 1], fill=colour)
        draw.text((x1, max(0, y1 - 11)), text, fill=(0, 0, 0), font=font)
    return im
