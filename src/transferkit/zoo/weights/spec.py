"""Weights as values: :class:`WeightsSpec`, safe state-dict loading and the architecture check.

A checkpoint must never run code, so files are read with safetensors or with
``torch.load(weights_only=True)``; nothing else is unpickled.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from transferkit.core.errors import WeightsMismatchError, WeightsUnavailableError
from transferkit.zoo.backbone import DataConfig

SUFFIXES = (".safetensors", ".pth", ".pt", ".bin", ".ckpt")
# Containers that training scripts commonly wrap a state dict in.
_WRAPPER_KEYS = ("state_dict", "model_state_dict", "model", "state_dict_ema")


@dataclass(frozen=True)
class WeightsSpec:
    """Where a set of weights comes from and what it expects."""

    name: str  # canonical backbone name the weights fit
    file: Path | None
    sha256: str | None
    source: str  # "built-in", "store", "file", "torch hub cache", "hf cache", "download"
    licence: str
    pretraining_data: str
    preprocessing: DataConfig | None = None

    def to_info(self) -> dict:
        """The plain dict a backbone carries as ``weights_info``."""
        return {
            "name": self.name,
            "file": str(self.file) if self.file else None,
            "sha256": self.sha256,
            "source": self.source,
            "licence": self.licence,
            "pretraining_data": self.pretraining_data,
            "preprocessing": self.preprocessing.to_dict() if self.preprocessing else None,
        }


@dataclass
class ResolvedWeights:
    """What to load and where it came from.

    Exactly one of: ``state_dict`` (read here, loaded with our strict check), ``framework_file``
    (a cache file the source library loads itself), ``download`` (the library fetches it).
    """

    spec: WeightsSpec
    state_dict: dict[str, torch.Tensor] | None = None
    framework_file: Path | None = None
    download: bool = False


@dataclass
class Architecture:
    """A model built on the meta device, with the state-dict prefixes a checkpoint may omit."""

    model: nn.Module
    head: tuple[str, ...]  # the pretraining classifier
    optional: tuple[str, ...]  # head plus auxiliary heads
    unused: tuple[str, ...] = ()  # parts the backbone never runs (SqueezeNet's conv classifier)

    def backbone_parameters(self) -> int:
        """Scalars of the backbone as ``create_backbone`` builds it (no classifier, no aux)."""
        drop = self.optional + self.unused
        return sum(
            p.numel() for n, p in self.model.named_parameters() if not (drop and n.startswith(drop))
        )


def load_state_dict_file(path: str | Path) -> dict[str, torch.Tensor]:
    """Read a ``.safetensors`` / ``.pth`` / ``.pt`` state dict without running code from it."""
    path = Path(path)
    if not path.is_file():
        raise WeightsUnavailableError(
            f"weights file {str(path)!r} does not exist.",
            "give the path of a .safetensors, .pth or .pt state dict",
        )
    if path.suffix == ".safetensors":
        from safetensors.torch import load_file

        try:
            return load_file(str(path), device="cpu")
        except Exception as e:  # safetensors raises its own error types for corrupt headers
            raise WeightsMismatchError(f"{path} is not a readable safetensors file: {e}") from e
    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:
        raise WeightsMismatchError(
            f"{path} cannot be read as a plain state dict ({type(e).__name__}: {e}).",
            "save the weights with torch.save(model.state_dict(), FILE) or as .safetensors; "
            "files that need arbitrary code to unpickle are refused",
        ) from e
    return _unwrap(obj, path)


def _unwrap(obj: object, path: Path) -> dict[str, torch.Tensor]:
    """The tensor dict inside a checkpoint (plain, or under one of the usual wrapper keys)."""
    if isinstance(obj, dict):
        for key in _WRAPPER_KEYS:
            if isinstance(obj.get(key), dict):
                obj = obj[key]
                break
    if not isinstance(obj, dict) or not obj:
        raise WeightsMismatchError(
            f"{path} holds a {type(obj).__name__}, not a state dict of tensors.",
            "save the weights with torch.save(model.state_dict(), FILE)",
        )
    tensors = {k: v for k, v in obj.items() if isinstance(v, torch.Tensor)}
    if not tensors:
        raise WeightsMismatchError(f"{path} holds no tensors.")
    if all(k.startswith("module.") for k in tensors):  # saved from DataParallel / DDP
        tensors = {k[len("module.") :]: v for k, v in tensors.items()}
    return tensors


def check_state_dict(
    state_dict: dict[str, torch.Tensor],
    expected: dict[str, torch.Size],
    optional_prefixes: tuple[str, ...],
    what: str,
    file: str | Path | None = None,
) -> None:
    """Raise :class:`WeightsMismatchError` unless ``state_dict`` fits ``expected`` shapes.

    Keys under ``optional_prefixes`` (the pretraining classifier, auxiliary heads) may be
    absent; everything else must be present with the same shape, and nothing may be extra.
    """
    # BatchNorm fills a missing ``num_batches_tracked`` itself, and older checkpoints lack it.
    required = {
        k
        for k in expected
        if not k.startswith(optional_prefixes) and not k.endswith("num_batches_tracked")
    }
    missing = sorted(required - state_dict.keys())
    unexpected = sorted(state_dict.keys() - expected.keys())
    shapes = sorted(
        f"{k} {tuple(state_dict[k].shape)} vs {tuple(expected[k])}"
        for k in state_dict.keys() & expected.keys()
        if tuple(state_dict[k].shape) != tuple(expected[k])
    )
    if not (missing or unexpected or shapes):
        return
    parts = []
    for label, items in (("missing", missing), ("unexpected", unexpected), ("shape", shapes)):
        if items:
            more = f" (+{len(items) - 4} more)" if len(items) > 4 else ""
            parts.append(f"{len(items)} {label}: {', '.join(items[:4])}{more}")
    origin = f"weights file {file}" if file else "the weights"
    raise WeightsMismatchError(
        f"{origin} does not fit {what}: " + "; ".join(parts) + ".",
        "check that the file was saved from the same architecture (and not a whole model "
        "object), or pick the matching backbone name",
    )


def build_on_meta(build: Callable[[], nn.Module]) -> nn.Module:
    """``build()`` on the meta device: shapes without memory or initialisation cost.

    A few constructors compute with tensor values while initialising (torchvision's RegNet),
    which the meta device cannot do; those are built on the CPU and moved.
    """
    try:
        with torch.device("meta"):
            return build()
    except (NotImplementedError, RuntimeError):
        return build().to("meta")


def expected_shapes(model: nn.Module) -> dict[str, torch.Size]:
    """Key -> shape of everything ``model.state_dict()`` holds (works on the meta device)."""
    return {k: v.shape for k, v in model.state_dict().items()}


def load_checked(
    model: nn.Module,
    state_dict: dict[str, torch.Tensor],
    optional_prefixes: tuple[str, ...],
    what: str,
    file: str | Path | None = None,
) -> None:
    """Check ``state_dict`` against ``model`` and load it (optional parts may be absent)."""
    check_state_dict(state_dict, expected_shapes(model), optional_prefixes, what, file)
    model.load_state_dict(state_dict, strict=False)
