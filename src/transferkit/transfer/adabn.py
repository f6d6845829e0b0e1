"""AdaBN (Li et al., 2016): BatchNorm statistics re-estimated on the target domain's images.

A network trained on one domain normalises another domain's activations with the wrong means and
variances; re-estimating every BatchNorm layer's running statistics on unlabelled target images
(no labels, no gradient, one pass) moves the features back to where the head expects them. Only
the running statistics change: every parameter stays as it was (a test holds it to that).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence

import torch
from torch import nn
from torch.utils.data import DataLoader

from transferkit.core.errors import ConfigError
from transferkit.transfer.extract import ImageFiles

# Running statistics settle long before this many images (a mean and a variance per channel);
# a larger pool is sampled evenly, so a 100,000-image folder costs what 2,048 images cost.
MAX_IMAGES = 2048


def batchnorm_layers(module: nn.Module) -> list[nn.modules.batchnorm._BatchNorm]:
    """The BatchNorm layers of ``module`` that keep running statistics."""
    return [
        m
        for m in module.modules()
        if isinstance(m, nn.modules.batchnorm._BatchNorm) and m.track_running_stats
    ]


def check_batchnorm(module: nn.Module, name: str) -> None:
    """Raise ConfigError when ``module`` (backbone ``name``) has no BatchNorm to adapt."""
    if not batchnorm_layers(module):
        raise ConfigError(
            f"--adapt bn re-estimates BatchNorm statistics, but backbone {name!r} has no "
            "BatchNorm layer (LayerNorm / GroupNorm models have nothing to adapt)",
            hint="drop --adapt bn (self-training still uses the unlabelled images), or pick a "
            "BatchNorm backbone such as efficientnet_lite0 or resnet50",
        )


@torch.no_grad()
def adapt_batchnorm(
    backbone: nn.Module,
    files: Sequence[str],
    transform: Callable,
    *,
    batch_size: int = 64,
    num_workers: int = 0,
    device: torch.device | str = "cpu",
    max_images: int = MAX_IMAGES,
) -> int:
    """Re-estimate the running statistics of every BatchNorm layer of ``backbone`` on ``files``.

    Statistics are reset and accumulated as a plain average over all batches (``momentum=None``),
    with only the norm layers in train mode (dropout and the rest stay in eval) and no gradient.
    The backbone goes back to its device and modes afterwards; ``backbone.adaptation`` records a
    digest of the new statistics, which keys the feature cache apart from the unadapted features.
    At most ``max_images`` files are used, evenly spaced over ``files``. Returns the number of
    images seen.
    """
    if len(files) > max_images:
        step = len(files) / max_images
        files = [files[int(i * step)] for i in range(max_images)]
    layers = batchnorm_layers(backbone)
    check_batchnorm(backbone, getattr(backbone, "name", type(backbone).__name__))
    home = next(backbone.parameters()).device
    modes = {m: m.training for m in backbone.modules()}
    momenta = {m: m.momentum for m in layers}
    backbone.to(device).eval()
    for m in layers:
        m.reset_running_stats()
        m.momentum = None  # cumulative average over batches, not an exponential one
        m.train()
    # A last batch of one image has no variance to estimate: drop it when others exist.
    loader = DataLoader(
        ImageFiles(files, transform),
        batch_size=batch_size,
        num_workers=num_workers,
        drop_last=len(files) % batch_size == 1 and len(files) > batch_size,
    )
    seen = 0
    try:
        for images in loader:
            backbone.forward_pooled(images.to(device))
            seen += len(images)
    finally:
        for m, momentum in momenta.items():
            m.momentum = momentum
        for m, mode in modes.items():
            m.train(mode)
        backbone.to(home)
    backbone.adaptation = _stats_digest(layers, seen)
    return seen


def _stats_digest(layers, seen: int) -> str:
    h = hashlib.sha256(f"adabn:{seen}".encode())
    for m in layers:
        for t in (m.running_mean, m.running_var):
            h.update(t.detach().cpu().float().contiguous().numpy().tobytes())
    return h.hexdigest()[:16]
