"""Drawing primitives: one palette; boxes with labels, masks, class overlays; thumbnails and PNGs.

Nothing here knows a task: callers say which colour (a palette index) each box or mask gets and
what text goes on a box. Prediction (``--draw``), the report and any task draw with these.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from transferkit.core.fileio import atomic_write

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


def colour(key: int) -> tuple[int, int, int]:
    """The palette colour of ``key`` (a class or instance index; the palette repeats)."""
    return COLOURS[key % len(COLOURS)]


def draw_boxes(
    im: Image.Image,
    boxes: Sequence[Sequence[float]],
    labels: Sequence[str],
    colour_keys: Sequence[int],
    scale: float = 1.0,
    width: int = 2,
    filled_labels: bool = True,
    min_label_width: float = 0,
) -> Image.Image:
    """A copy of ``im`` with XYXY ``boxes`` (original pixels, drawn at ``scale``) and their labels.

    ``filled_labels``: black text on a box-coloured band (readable on any image), else text in
    the box colour. Boxes narrower than ``min_label_width`` drawn pixels get no text, so that
    on small objects the text does not hide the object.
    """
    im = im.copy()
    draw = ImageDraw.Draw(im)
    font = ImageFont.load_default()
    for box, text, key in zip(boxes, labels, colour_keys, strict=True):
        c = colour(key)
        x1, y1, x2, y2 = (v * scale for v in box)
        draw.rectangle([x1, y1, max(x1, x2 - 1), max(y1, y2 - 1)], outline=c, width=width)
        if x2 - x1 < min_label_width:
            continue
        if filled_labels:
            left, top, right, bottom = draw.textbbox((x1, max(0, y1 - 11)), text, font=font)
            draw.rectangle([left - 1, top - 1, right + 1, bottom + 1], fill=c)
            draw.text((x1, max(0, y1 - 11)), text, fill=(0, 0, 0), font=font)
        else:
            draw.text((x1 + 1, max(0, y1 - 11)), text, fill=c, font=font)
    return im


def draw_masks(
    im: Image.Image, masks: Sequence[np.ndarray], colour_keys: Sequence[int], alpha: float = 0.5
) -> Image.Image:
    """``im`` with each boolean mask (H, W) tinted by its palette colour at ``alpha`` opacity;
    overlapping masks blend in order."""
    rgb = np.asarray(im.convert("RGB"), dtype=np.float32).copy()
    for mask, key in zip(masks, colour_keys, strict=True):
        m = np.asarray(mask).astype(bool)
        rgb[m] = (1 - alpha) * rgb[m] + alpha * np.array(colour(key), dtype=np.float32)
    return Image.fromarray(np.clip(rgb, 0, 255).astype(np.uint8))


def overlay_classes(
    im: Image.Image, class_mask: np.ndarray, colours: np.ndarray, alpha: float = 0.5
) -> Image.Image:
    """``im`` with each pixel of class > 0 in ``class_mask`` (H, W) tinted by ``colours[class]``
    (an (N, 3) table) at ``alpha`` opacity; class 0 is left clear."""
    rgb = np.asarray(im.convert("RGB"), dtype=np.float32)
    tinted = np.asarray(colours, dtype=np.float32)[class_mask]
    tint = (class_mask > 0)[..., None] * alpha
    return Image.fromarray(np.clip(rgb * (1 - tint) + tinted * tint, 0, 255).astype(np.uint8))


def save_png(im: Image.Image, path: Path) -> Path:
    """Write ``im`` to ``path`` as PNG, atomically (a half-written image is never left behind)."""
    atomic_write(path, lambda tmp: im.save(tmp, format="PNG"))
    return path
