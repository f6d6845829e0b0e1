"""Semantic segmentation predictions: index PNGs out, colour overlays, and scoring any tool's PNGs.

Predicted masks are written as palette PNGs: the pixel values are class indices (what evaluation
and other tools read) and the palette (VOC colours) makes them viewable. Overlays blend each
class colour over the image at half opacity; class 0 is left uncoloured.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image
from torchvision.transforms.v2 import functional as TF

from transferkit.core.errors import ConfigError, DatasetError
from transferkit.data.datasets.segmentation import check_pairs, read_class_mask
from transferkit.data.formats.mask_folder import list_semantic
from transferkit.data.images import is_image_file, load_image_rgb
from transferkit.data.masks import read_mask_image, voc_colormap, write_index_png
from transferkit.data.transforms.segment import segmentation_eval_transform
from transferkit.render.draw import overlay_classes, save_png
from transferkit.tasks.common.images import collect_images
from transferkit.tasks.common.predict import ModelInfo, Runner, torch_runner
from transferkit.tasks.segment.metrics import SemanticMetrics

_SHOWN = 5


def predict_paths(run, paths: list[str | Path], options: dict[str, Any]) -> list[dict[str, Any]]:
    """Class-index masks (at each image's own size) of a loaded run for image files or folders.

    Each prediction is ``{"path", "mask" (H, W uint8/uint16), "pixels_per_class"}``;
    ``options["draw_dir"]`` also writes colour overlays there.
    """
    return predict_with(model_runner(run.model), ModelInfo.from_run(run), paths, options)


def model_runner(model: torch.nn.Module) -> Runner:
    """The runner of a trained segmenter: images (N, 3, H, W) of any size to ``logits``."""
    return torch_runner(model, lambda m, x: m(x))


def predict_with(
    runner: Runner, info: ModelInfo, paths: list[str | Path], options: dict[str, Any]
) -> list[dict[str, Any]]:
    """The prediction loop of :func:`predict_paths` for any model behind ``runner``."""
    names = info.class_names
    transform = segmentation_eval_transform(info.data_config)
    draw_dir = Path(options["draw_dir"]) if options.get("draw_dir") else None
    dtype = np.uint8 if len(names) <= 256 else np.uint16
    out = []
    for f in collect_images(paths):
        pil = load_image_rgb(f)
        image = transform(TF.pil_to_tensor(pil)).unsqueeze(0)  # each image at its own size
        mask = runner(image)["logits"][0].argmax(dim=0).numpy().astype(dtype)
        counts = np.bincount(mask.reshape(-1), minlength=len(names))
        out.append(
            {
                "path": str(f),
                "mask": mask,
                "pixels_per_class": {n: int(c) for n, c in zip(names, counts, strict=False)},
            }
        )
        if draw_dir is not None:
            save_png(draw_overlay(pil, mask), draw_dir / f"{f.stem}.png")
    return out


def draw_overlay(image: Image.Image, mask: np.ndarray, alpha: float = 0.5) -> Image.Image:
    """``image`` with each class > 0 tinted by its VOC colour (the index PNGs' palette)."""
    return overlay_classes(image, mask, voc_colormap(max(256, int(mask.max()) + 1)), alpha)


def write_predictions(predictions: list[dict[str, Any]], out: str | Path) -> Path:
    """Write one index PNG per prediction into the folder ``out`` (``<stem>.png``)."""
    out = Path(out)
    if out.suffix.lower() in (".json", ".csv"):
        raise ConfigError(
            f"segmentation predictions are index PNGs, one per image; {out} is a file name",
            hint="pass a folder to --out, e.g. --out predictions/",
        )
    taken: set[str] = set()
    for p in predictions:
        stem, n = Path(p["path"]).stem, 1
        name = stem
        while name in taken:  # same stem in two input folders
            n += 1
            name = f"{stem}_{n}"
        taken.add(name)
        write_index_png(out / f"{name}.png", p["mask"])
    return out


def evaluate_predictions(
    data_path: Path, predictions: Path, options: dict[str, Any]
) -> dict[str, Any]:
    """Score a folder of index / palette PNG masks (any tool's) against a semantic data set.

    Predictions are matched to ground-truth images by file stem; each must have the image's size
    and values below the class count. Ground-truth images without a prediction are counted
    (``images_without_prediction``), not scored.
    """
    ignore = int(options.get("ignore_index", 255))
    listing = list_semantic(data_path, options.get("format", "auto"))
    good, bad, num_classes, _ = check_pairs(listing, ignore)
    if bad:
        shown = "; ".join(f"{s.image}: {why}" for s, why in bad[:_SHOWN])
        raise DatasetError(f"{len(bad)} bad ground-truth pair(s) in {data_path}: {shown}")
    names = listing.classes.names if listing.classes else [f"class_{i}" for i in range(num_classes)]
    colors = listing.classes.colors if listing.classes else None
    preds = _prediction_files(predictions)
    by_stem = _match_stems(good, preds, data_path, predictions)
    metrics = SemanticMetrics(names, ignore)
    for stem, path in sorted(preds.items()):
        sample = by_stem[stem]
        target = read_class_mask(sample, listing.classes)
        pred = read_mask_image(path, colors)
        if listing.classes:  # predictions stored like the ground truth (e.g. binary 0 / 255)
            pred = listing.classes.to_classes(pred)
        if pred.shape != target.shape:
            raise DatasetError(
                f"{path}: prediction is {pred.shape[1]}x{pred.shape[0]}, ground truth "
                f"{sample.image.name} is {target.shape[1]}x{target.shape[0]}",
                hint="write predictions at the original image size",
            )
        if pred.size and (pred.min() < 0 or pred.max() >= len(names)):
            raise DatasetError(
                f"{path}: predicted value {int(pred.max())} is not one of the {len(names)} "
                "classes (0.." + str(len(names) - 1) + ")",
                hint="predictions must be class indices of the data set's classes",
            )
        metrics.update_indices(torch.from_numpy(pred), torch.from_numpy(target))
    return {
        **metrics.compute(),
        "images": len(preds),
        "images_without_prediction": len(by_stem) - len(preds),
    }


def _match_stems(good: list, preds: dict[str, Path], data_path: Path, predictions: Path) -> dict:
    """Ground-truth samples by file stem; every prediction must name exactly one of them."""
    by_stem: dict[str, Any] = {}
    for s in good:
        if s.stem in by_stem and s.stem in preds:
            raise DatasetError(
                f"{data_path}: two ground-truth images are named {s.stem!r}; a prediction "
                "cannot tell them apart",
                hint="evaluate against one split folder at a time",
            )
        by_stem[s.stem] = s
    orphans = sorted(set(preds) - set(by_stem))
    if orphans:
        raise DatasetError(
            f"{len(orphans)} prediction(s) in {predictions} match no ground-truth image: "
            f"{', '.join(orphans[:_SHOWN])}",
            hint="name each predicted mask after its image (same file stem)",
        )
    return by_stem


def _prediction_files(folder: Path) -> dict[str, Path]:
    if not folder.is_dir():
        raise DatasetError(
            f"predictions folder not found: {folder}",
            hint="pass the folder of index PNG masks (e.g. from `transferkit predict --out DIR`)",
        )
    files = _images(folder.iterdir())
    if not files:
        raise DatasetError(f"{folder} holds no mask images", hint="expected one PNG per image")
    return {p.stem: p for p in files}


def _images(paths: Iterable[Path]) -> list[Path]:
    return sorted(
        p for p in paths if p.is_file() and not p.name.startswith(".") and is_image_file(p)
    )
