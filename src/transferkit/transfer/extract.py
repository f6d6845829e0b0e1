"""Pooled features of image files: the backbone in eval mode over a folder of images, once.

:func:`extract_pooled` is the one forward pass the feature cache, the probe and the ranking share;
it puts the backbone back on its device and in its mode afterwards.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import contextmanager

import torch
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from torch.utils.data import DataLoader, Dataset

from transferkit.data.images import load_image_rgb
from transferkit.zoo.backbone import Backbone


class ImageFiles(Dataset):
    """Image files as tensors under ``transform`` (RGB, as training reads them)."""

    def __init__(self, files: Sequence[str], transform: Callable):
        self.files, self.transform = files, transform

    def __len__(self) -> int:
        return len(self.files)

    def __getitem__(self, i: int) -> torch.Tensor:
        return self.transform(load_image_rgb(self.files[i]))


@contextmanager
def extract_pooled(
    backbone: Backbone,
    transform: Callable,
    *,
    batch_size: int = 64,
    num_workers: int = 0,
    device=None,
    total: int = 0,
    progress: bool = True,
    description: str = "features",
):
    """Yield ``run(files) -> (N, D) float32 CPU tensor``: the backbone's pooled features.

    The backbone runs in eval mode under ``no_grad`` on ``device`` (CUDA when available) and is
    put back on its device and in its mode afterwards; a rich bar counts ``total`` images.
    """
    device = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
    home = next(backbone.parameters()).device
    was_training = backbone.training
    backbone.to(device).eval()
    bar = None
    if progress and total and Console(stderr=True).is_terminal:
        bar = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
            console=Console(stderr=True),
            transient=True,
        )
        task_id = bar.add_task(description, total=total)
        bar.start()

    @torch.no_grad()
    def run(files: Sequence[str]) -> torch.Tensor:
        loader = DataLoader(
            ImageFiles(files, transform), batch_size=batch_size, num_workers=num_workers
        )
        out = []
        for images in loader:
            out.append(backbone.forward_pooled(images.to(device)).float().cpu())
            if bar is not None:
                bar.update(task_id, advance=len(images))
        return torch.cat(out)

    try:
        yield run
    finally:
        if bar is not None:
            bar.stop()
        backbone.to(home).train(was_training)
