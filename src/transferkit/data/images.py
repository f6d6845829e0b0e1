"""Reading images: every mode PIL opens becomes 8-bit RGB, and bad files name their path.

Rules of :func:`load_image_rgb`, applied in this order:

* EXIF orientation is applied first (``ImageOps.exif_transpose``), so a phone photo stored sideways
  reaches the model upright, the way every viewer shows it.
* Transparency (RGBA, LA, PA, and palette or grayscale images with a transparent colour) is
  composited on **white**. Dropping the alpha channel instead would expose whatever colour the
  encoder left under transparent pixels (often black or noise), which differs from file to file.
* High bit depth is scaled, never clipped: 16-bit samples (``I;16*``, and ``I`` images whose values
  fit 0..65535) map 0..65535 onto 0..255; ``I`` images with wider values are stretched from their
  own min to max; float (``F``) images in 0..1 are multiplied by 255, others stretched min to max.
  ``I`` images whose values all fit 0..255 are taken as 8-bit data.
* Everything else (L, 1, P, CMYK, YCbCr, LAB, HSV …) goes through PIL's own ``convert("RGB")``.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from transferkit.core.errors import DatasetError

# Extensions treated as images when scanning folders (lower case). Anything else is ignored and
# counted; a file with one of these extensions that does not decode is a bad image.
IMAGE_EXTENSIONS = (
    ".jpg",
    ".jpeg",
    ".jpe",
    ".jfif",
    ".png",
    ".bmp",
    ".gif",
    ".tif",
    ".tiff",
    ".webp",
    ".ppm",
    ".pgm",
    ".pbm",
    ".pnm",
)

# Decoding errors PIL raises for corrupt, truncated or unsupported files.
_DECODE_ERRORS = (
    UnidentifiedImageError,
    OSError,
    ValueError,
    SyntaxError,
    EOFError,
    Image.DecompressionBombError,  # over twice PIL's MAX_IMAGE_PIXELS (about 179 megapixels)
)

_WHITE = (255, 255, 255)
_EXIF_ORIENTATION = 0x0112
# Where PIL finds an orientation (Image.getexif): EXIF blocks, TIFF tags, XMP packets.
_ORIENTATION_SOURCES = ("exif", "Raw profile type exif", "XML:com.adobe.xmp", "xmp")
_SWAPS_AXES = {5, 6, 7, 8}  # EXIF orientations that rotate by 90 degrees


def is_image_file(path: str | Path) -> bool:
    """Whether ``path`` has an image extension (case-insensitive)."""
    return Path(path).suffix.lower() in IMAGE_EXTENSIONS


def load_image_rgb(path: str | Path, min_size: int | None = None) -> Image.Image:
    """Open ``path`` and return an 8-bit RGB image, upright, alpha composited on white.

    With ``min_size``, a JPEG larger than needed is decoded at reduced scale (libjpeg's 1/2, 1/4
    or 1/8 through ``Image.draft``), the smallest that keeps both sides at least ``min_size``:
    a 4000 x 3000 photo for a 224-px model decodes many times faster, and the transform that
    resizes it next sees as many pixels as it uses. Other formats decode at full size.
    Raises :class:`DatasetError` naming the path for missing, zero-byte, corrupt or truncated
    files. See the module documentation for the conversion rules.
    """
    with _decoding(path), open(path, "rb") as f:
        # Opening the file ourselves closes it even for multi-frame formats PIL keeps open.
        im = Image.open(f)
        if min_size and im.format == "JPEG" and min(im.size) >= 2 * min_size:
            im.draft("RGB", (min_size, min_size))
        im.load()
        if _orientation(im) != 1:
            ImageOps.exif_transpose(im, in_place=True)
        return to_rgb(im)


def inspect_image(path: str | Path) -> tuple[int, int]:
    """Decode ``path`` fully once and return its upright ``(width, height)``.

    ``Image.verify`` is not enough: it does not notice a truncated JPEG. A full decode does, and
    JPEGs decode at reduced scale (``draft``) which still reads every byte of the entropy-coded
    data, so truncation is caught at a fraction of the cost of a full-size decode.
    Raises :class:`DatasetError` naming the path, like :func:`load_image_rgb`.
    """
    with _decoding(path), open(path, "rb") as f:
        im = Image.open(f)
        w, h = im.size  # before draft, which shrinks the size to the reduced decode
        im.draft(None, (max(w // 8, 1), max(h // 8, 1)))
        im.load()
        return (h, w) if _orientation(im) in _SWAPS_AXES else (w, h)


def to_rgb(im: Image.Image) -> Image.Image:
    """Convert an opened image of any mode to 8-bit RGB (rules in the module documentation)."""
    mode = im.mode
    if mode.startswith("I") or mode == "F":
        return _high_depth_to_rgb(im)
    if mode in ("RGBA", "LA", "La", "PA", "RGBa") or "transparency" in im.info:
        # PIL turns a palette or colour-key transparency into alpha (and undoes premultiplied
        # alpha) on the way to RGBA; composite that on white.
        rgba = im.convert("RGBA")
        background = Image.new("RGBA", rgba.size, _WHITE + (255,))
        return Image.alpha_composite(background, rgba).convert("RGB")
    return im if mode == "RGB" else im.convert("RGB")


def oriented_size(im: Image.Image) -> tuple[int, int]:
    """``(width, height)`` after EXIF orientation, read from the header without decoding."""
    w, h = im.size
    # No shortcut here: before decoding, a PNG's eXIf chunk may not be read yet, and PIL's
    # getexif decodes the PNG to find it.
    return (h, w) if _orientation(im, shortcut=False) in _SWAPS_AXES else (w, h)


def _orientation(im: Image.Image, shortcut: bool = True) -> int:
    """EXIF orientation (1 to 8) of an opened image; 1 when absent or unreadable.

    With ``shortcut`` (for loaded images, whose ``info`` is complete) files with no block an
    orientation could live in skip EXIF parsing, which costs as much as decoding a small PNG.
    A broken EXIF block leaves the pixels as stored, as image viewers do: the pixels are fine.
    """
    if shortcut and not (
        hasattr(im, "tag_v2") or any(key in im.info for key in _ORIENTATION_SOURCES)
    ):
        return 1
    try:
        return int(im.getexif().get(_EXIF_ORIENTATION, 1))
    except Exception:
        return 1


def _high_depth_to_rgb(im: Image.Image) -> Image.Image:
    a = np.asarray(im)
    if a.ndim == 3:  # multi-channel high-depth data: keep the first channel as intensity
        a = a[..., 0]
    a = a.astype(np.float64)
    if im.mode.startswith("I;16"):
        scaled = a / 257.0
    elif im.mode == "F":
        finite = a[np.isfinite(a)]
        lo, hi = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 0.0)
        a = np.nan_to_num(a, nan=lo, posinf=hi, neginf=lo)
        scaled = a * 255.0 if lo >= 0.0 and hi <= 1.0 else _stretch(a, lo, hi)
    else:  # "I": 32-bit integers; decide by the value range actually present
        lo, hi = (float(a.min()), float(a.max())) if a.size else (0.0, 0.0)
        if lo >= 0 and hi <= 255:
            scaled = a
        elif lo >= 0 and hi <= 65535:
            scaled = a / 257.0
        else:
            scaled = _stretch(a, lo, hi)
    gray = np.clip(np.rint(scaled), 0, 255).astype(np.uint8)
    return Image.fromarray(gray).convert("RGB")


@contextmanager
def _decoding(path: str | Path) -> Iterator[None]:
    """Turn PIL's decoding failures into one :class:`DatasetError` that names ``path``."""
    try:
        yield
    except FileNotFoundError as e:
        raise DatasetError(
            f"image file not found: {path}", hint="check the path, or re-scan the data set"
        ) from e
    except _DECODE_ERRORS as e:
        raise DatasetError(
            f"cannot read image {path}: {_describe(Path(path), e)}",
            hint="replace or delete the file, or pass --on-bad-image skip",
        ) from e


def _stretch(a: np.ndarray, lo: float, hi: float) -> np.ndarray:
    if hi <= lo:
        return np.zeros_like(a)
    return (a - lo) * (255.0 / (hi - lo))


def _describe(path: Path, error: BaseException) -> str:
    try:
        if path.stat().st_size == 0:
            return "the file is empty (0 bytes)"
    except OSError:
        pass
    text = str(error).strip() or type(error).__name__
    return text.replace(str(path), "").strip(" :'\"") or type(error).__name__
