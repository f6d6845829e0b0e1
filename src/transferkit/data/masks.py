"""Masks: COCO polygons and RLE to binary masks and back, and class-index mask images.

COCO stores an object's shape as a list of polygons (``[x1, y1, x2, y2, …]`` in pixel-edge
coordinates: pixel ``(row, col)`` covers ``[col, col + 1) x [row, row + 1)``) or as run-length
encoding, either uncompressed (``counts`` a list of ints) or compressed (``counts`` a string).
Decoding goes through ``pycocotools.mask`` so that our masks are bit-identical to the ones COCO
evaluation rasterises. Mask images (index, palette or RGB-with-colour-table PNGs) are read as
class indices and written as palette PNGs, which hold indices and still look right in a viewer.
Bad shapes raise :class:`DatasetError` naming ``where`` (file and annotation
id), the value and the fix.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import contourpy
import numpy as np
import pycocotools.mask as mask_utils
from PIL import Image

from transferkit.core.errors import DatasetError
from transferkit.core.fileio import atomic_write
from transferkit.data.boxes import xyxy_to_xywh_list


def polygons_to_mask(
    polygons: Sequence[Sequence[float]], height: int, width: int, where: str = ""
) -> np.ndarray:
    """Rasterise COCO polygons (the union of them) into a ``(height, width)`` uint8 0/1 mask."""
    if not isinstance(polygons, (list, tuple)) or not polygons:
        raise DatasetError(
            f"{where}: segmentation must be a non-empty list of polygons, got {polygons!r:.80}"
        )
    clean = []
    for poly in polygons:
        if not isinstance(poly, (list, tuple)) or not all(
            isinstance(v, (int, float)) for v in poly
        ):
            raise DatasetError(
                f"{where}: a polygon must be a flat list of numbers, got {poly!r:.80}"
            )
        # pycocotools reads a 4-number list as a box, so a 2-point polygon would be silently wrong.
        if len(poly) < 6 or len(poly) % 2:
            raise DatasetError(
                f"{where}: polygon with {len(poly) / 2:g} points (needs at least 3 x,y pairs)",
                hint="drop the annotation or fix its 'segmentation' list",
            )
        clean.append([float(v) for v in poly])
    rles = mask_utils.frPyObjects(clean, int(height), int(width))
    return mask_utils.decode(mask_utils.merge(rles)).astype(np.uint8)


def rle_to_mask(rle: dict[str, Any], height: int, width: int, where: str = "") -> np.ndarray:
    """Decode a COCO RLE (compressed or uncompressed) checked against the image size."""
    size = rle.get("size") if isinstance(rle, dict) else None
    counts = rle.get("counts") if isinstance(rle, dict) else None
    if not (isinstance(size, (list, tuple)) and len(size) == 2) or counts is None:
        raise DatasetError(
            f"{where}: RLE needs 'size' [height, width] and 'counts', got {rle!r:.80}"
        )
    if [int(size[0]), int(size[1])] != [int(height), int(width)]:
        raise DatasetError(
            f"{where}: RLE size {list(size)} (height, width) disagrees with the image size "
            f"[{height}, {width}]",
            hint="the RLE was made for another image or a resized copy; re-export the annotations",
        )
    if isinstance(counts, list):
        if sum(int(c) for c in counts) != height * width:
            raise DatasetError(
                f"{where}: uncompressed RLE counts sum to {sum(counts)}, expected "
                f"height*width = {height * width}"
            )
        encoded = mask_utils.frPyObjects({"size": [height, width], "counts": counts}, height, width)
    elif isinstance(counts, (str, bytes)):
        encoded = {
            "size": [height, width],
            "counts": counts.encode() if isinstance(counts, str) else counts,
        }
    else:
        raise DatasetError(
            f"{where}: RLE counts must be a list or a string, got {type(counts).__name__}"
        )
    try:
        return mask_utils.decode(encoded).astype(np.uint8)
    except Exception as e:  # a corrupt compressed string
        raise DatasetError(f"{where}: cannot decode RLE counts ({e})") from None


def segmentation_to_mask(segmentation: Any, height: int, width: int, where: str = "") -> np.ndarray:
    """Decode a COCO ``segmentation`` value (polygon list or RLE dict) into a 0/1 mask."""
    if isinstance(segmentation, dict):
        return rle_to_mask(segmentation, height, width, where)
    return polygons_to_mask(segmentation, height, width, where)


def check_segmentation(segmentation: Any, height: int, width: int, where: str = "") -> None:
    """Raise :class:`DatasetError` for a polygon with < 3 points or an RLE that does not fit the
    image, decoding nothing when the value is valid (cheap enough for every annotation)."""
    h, w = int(height), int(width)
    if isinstance(segmentation, dict):
        size, counts = segmentation.get("size"), segmentation.get("counts")
        fits = isinstance(size, (list, tuple)) and _numbers(size) and list(size) == [h, w]
        if fits and (
            isinstance(counts, (str, bytes))
            or (isinstance(counts, list) and _numbers(counts) and sum(counts) == h * w)
        ):
            return
        if not (isinstance(size, (list, tuple)) and _numbers(size)):
            raise DatasetError(f"{where}: RLE 'size' must be [height, width], got {size!r:.40}")
        if isinstance(counts, list) and not _numbers(counts):
            raise DatasetError(f"{where}: RLE 'counts' must be numbers, got {counts!r:.40}")
        rle_to_mask(segmentation, h, w, where)  # invalid: raises with the precise reason
        return
    polygons = segmentation if isinstance(segmentation, (list, tuple)) else []
    if polygons and all(
        isinstance(p, (list, tuple)) and len(p) >= 6 and len(p) % 2 == 0 and _numbers(p)
        for p in polygons
    ):
        return
    polygons_to_mask(segmentation, h, w, where)  # invalid: raises with the precise reason


def mask_to_rle(mask: np.ndarray) -> dict[str, Any]:
    """Compressed COCO RLE of a 2-D mask, JSON-ready (``counts`` as a str)."""
    rle = mask_utils.encode(np.asfortranarray(np.asarray(mask, dtype=np.uint8)))
    return {
        "size": [int(rle["size"][0]), int(rle["size"][1])],
        "counts": rle["counts"].decode("ascii"),
    }


def mask_to_polygons(mask: np.ndarray, min_points: int = 3) -> list[list[float]]:
    """Outline a 2-D mask as COCO polygons (pixel-edge coordinates).

    Lossy by nature: contours run through pixel edges with corners cut diagonally, and a polygon
    list cannot hold holes (COCO takes the union). Use :func:`mask_to_rle` where exactness matters.
    """
    z = np.pad(np.asarray(mask, dtype=np.float32) > 0, 1).astype(np.float32)
    lines = contourpy.contour_generator(z=z, line_type=contourpy.LineType.Separate).lines(0.5)
    polygons = []
    for line in lines:
        # -1 undoes the padding, +0.5 turns pixel-centre coordinates into pixel-edge ones.
        pts = _drop_collinear(np.asarray(line, dtype=np.float64) - 0.5)
        if len(pts) >= min_points:
            polygons.append([round(float(v), 2) for v in pts.reshape(-1)])
    return polygons


def _drop_collinear(points: np.ndarray) -> np.ndarray:
    """Remove the closing duplicate and points lying on the segment between their neighbours."""
    if len(points) > 1 and np.allclose(points[0], points[-1]):
        points = points[:-1]
    if len(points) < 4:
        return points
    prev, nxt = np.roll(points, 1, axis=0), np.roll(points, -1, axis=0)
    cross = (points[:, 0] - prev[:, 0]) * (nxt[:, 1] - prev[:, 1]) - (points[:, 1] - prev[:, 1]) * (
        nxt[:, 0] - prev[:, 0]
    )
    return points[np.abs(cross) > 1e-9]


def mask_area(mask: np.ndarray) -> int:
    """Number of foreground pixels."""
    return int(np.count_nonzero(mask))


def mask_to_box(mask: np.ndarray) -> list[float] | None:
    """Tight COCO box ``[x, y, w, h]`` (pixel edges) of a mask, or None for an empty mask."""
    ys, xs = np.nonzero(mask)
    if len(xs) == 0:
        return None
    return xyxy_to_xywh_list([xs.min(), ys.min(), xs.max() + 1, ys.max() + 1])


def instances_to_class_mask(
    masks: Sequence[np.ndarray], labels: Sequence[int], height: int, width: int
) -> np.ndarray:
    """Paint instance masks into one ``(height, width)`` class-index mask (0 = background).

    Later instances overwrite earlier ones where they overlap, as COCO-to-semantic converters do.
    """
    out = np.zeros((height, width), dtype=np.int64)
    for m, label in zip(masks, labels, strict=True):
        out[np.asarray(m) > 0] = int(label)
    return out


def label_image_to_instances(labels: np.ndarray) -> list[np.ndarray]:
    """Split an instance label image (0 = background, one id per object) into binary masks."""
    ids = [int(i) for i in np.unique(labels) if i != 0]
    return [(labels == i).astype(np.uint8) for i in ids]


def voc_colormap(n: int = 256) -> np.ndarray:
    """The Pascal VOC palette, ``(n, 3)`` uint8: 0 black, 1 dark red, … as VOC tools use it."""
    cmap = np.zeros((n, 3), dtype=np.uint8)
    for i in range(n):
        c, r, g, b = i, 0, 0, 0
        for j in range(8):
            r |= ((c >> 0) & 1) << (7 - j)
            g |= ((c >> 1) & 1) << (7 - j)
            b |= ((c >> 2) & 1) << (7 - j)
            c >>= 3
        cmap[i] = (r, g, b)
    return cmap


def read_mask_image(path: str | Path, colors: Sequence[Sequence[int]] | None = None) -> np.ndarray:
    """Read a mask image as ``(H, W)`` int64 class indices.

    Palette PNGs give their indices (not their colours); single-channel images of any depth give
    their values; RGB(A) images are mapped through ``colors`` (index i has colour ``colors[i]``),
    or read as values when all three channels are equal. An RGB mask with other colours and no
    colour table, or a colour not in the table, raises :class:`DatasetError`.
    """
    path = Path(path)
    try:
        with Image.open(path) as im:
            mode = im.mode
            a = np.asarray(im)
    except FileNotFoundError:
        raise DatasetError(f"mask file not found: {path}") from None
    except (OSError, ValueError, SyntaxError) as e:
        raise DatasetError(
            f"cannot read mask {path}: {e}", hint="replace or delete the file"
        ) from None
    if a.ndim == 2:
        return a.astype(np.int64)
    if mode in ("LA", "La", "PA"):
        return a[..., 0].astype(np.int64)
    rgb = a[..., :3].astype(np.int64)
    if colors:
        return _colors_to_indices(rgb, colors, path)
    if np.array_equal(rgb[..., 0], rgb[..., 1]) and np.array_equal(rgb[..., 0], rgb[..., 2]):
        return rgb[..., 0].copy()  # grey values saved as RGB: exact, so read them as indices
    raise DatasetError(
        f"{path}: RGB mask (mode {mode}) with no palette and no class colours",
        hint="save masks as index or palette PNGs, or add a classes file with a colour per class "
        "(classes.txt lines 'name R G B', VOC labelmap.txt, or classes.json)",
    )


def _colors_to_indices(rgb: np.ndarray, colors: Sequence[Sequence[int]], path: Path) -> np.ndarray:
    keys = (rgb[..., 0] << 16) | (rgb[..., 1] << 8) | rgb[..., 2]
    table = np.array(
        [(int(r) << 16) | (int(g) << 8) | int(b) for r, g, b in colors], dtype=np.int64
    )
    order = np.argsort(table, kind="stable")
    pos = np.clip(np.searchsorted(table[order], keys), 0, len(table) - 1)
    found = table[order][pos] == keys
    if not found.all():
        bad = int(keys[~found][0])
        raise DatasetError(
            f"{path}: colour ({bad >> 16}, {(bad >> 8) & 255}, {bad & 255}) in "
            f"{int((~found).sum())} pixels is not in the classes file",
            hint="add the colour to the classes file, or repaint those pixels",
        )
    return order[pos].astype(np.int64)


def index_mask_image(
    mask: np.ndarray, colors: Sequence[Sequence[int]] | None = None
) -> Image.Image:
    """A palette PNG image of class indices: indices in the data, ``colors`` (or VOC's) to view."""
    values = np.asarray(mask)
    if values.min(initial=0) < 0 or values.max(initial=0) > 255:
        raise ValueError(f"index PNG values must be in 0..255, got {values.min()}..{values.max()}")
    im = Image.fromarray(values.astype(np.uint8), mode="P")
    palette = voc_colormap()
    if colors:
        palette[: len(colors)] = np.asarray(colors, dtype=np.uint8)
    im.putpalette(palette.reshape(-1).tolist())
    return im


def write_index_png(
    path: str | Path, mask: np.ndarray, colors: Sequence[Sequence[int]] | None = None
) -> Path:
    """Write ``mask`` as a palette PNG of class indices, atomically."""
    im = index_mask_image(mask, colors)
    return atomic_write(path, lambda p: im.save(p, format="PNG"))


def _numbers(values) -> bool:
    return all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values)
