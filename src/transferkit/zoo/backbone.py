"""The backbone contract every adapter honours (timm, torchvision), and the names that pick one.

A backbone is an ``nn.Module`` that exposes:

* ``feature_info``: one :class:`FeatureInfo` (channels, stride) per multi-scale output;
* ``forward_features(x) -> list[Tensor]``: the multi-scale maps, shallow to deep, NCHW;
* ``forward_pooled(x) -> Tensor``: the pooled embedding (N, ``num_features``);
* ``stages()``: ordered :class:`Stage` groups, stem to deepest, covering every parameter once;
* ``data_config``: the preprocessing the weights expect (never hard-coded ImageNet numbers);
* ``forward_source_head(pooled)``: logits of the pretraining head when the architecture has one;
* ``source_state_dict()``: its weights in the source library's layout, which ``create_backbone``
  loads back (how a trained backbone becomes the start of another run).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch import nn


@dataclass(frozen=True)
class BackboneName:
    """A parsed canonical name: ``<source>:<arch>[.<tag>]`` (``timm:resnet50.a1_in1k``)."""

    source: str  # the source's prefix in zoo.sources.SOURCES: "timm", "tv", ...
    arch: str  # architecture name in that library
    tag: str | None = None  # pretrained tag, for sources whose names carry one (timm)

    @property
    def canonical(self) -> str:
        return f"{self.source}:{self.model_name}"

    @property
    def model_name(self) -> str:
        """The name the source library's factory takes (timm keeps the tag)."""
        return self.arch if not self.tag else f"{self.arch}.{self.tag}"


@dataclass(frozen=True)
class FeatureInfo:
    """One multi-scale output: its name, channel count and stride relative to the input."""

    name: str
    channels: int
    stride: int


@dataclass(frozen=True)
class DataConfig:
    """Preprocessing that belongs to a set of weights."""

    mean: tuple[float, float, float]
    std: tuple[float, float, float]
    input_size: tuple[int, int, int] = (3, 224, 224)
    interpolation: str = "bilinear"
    crop_pct: float = 0.875

    def to_dict(self) -> dict:
        """Plain-JSON form (for run directories and export sidecars)."""
        return {
            "mean": list(self.mean),
            "std": list(self.std),
            "input_size": list(self.input_size),
            "interpolation": self.interpolation,
            "crop_pct": self.crop_pct,
        }

    @classmethod
    def from_dict(cls, d: dict) -> DataConfig:
        """Inverse of :meth:`to_dict`."""
        return cls(
            mean=tuple(d["mean"]),
            std=tuple(d["std"]),
            input_size=tuple(d["input_size"]),
            interpolation=d.get("interpolation", "bilinear"),
            crop_pct=float(d.get("crop_pct", 0.875)),
        )


@dataclass
class Stage:
    """An ordered group of modules trained (or frozen) together."""

    name: str
    modules: list[nn.Module] = field(default_factory=list)

    def parameters(self) -> list[nn.Parameter]:
        """Parameters of the stage, each once."""
        seen: set[int] = set()
        out = []
        for m in self.modules:
            for p in m.parameters():
                if id(p) not in seen:
                    seen.add(id(p))
                    out.append(p)
        return out

    def num_parameters(self) -> int:
        """Number of scalar parameters in the stage."""
        return sum(p.numel() for p in self.parameters())


class Backbone(nn.Module):
    """Base class of the adapters; subclasses fill in the contract described in the module doc."""

    name: str = ""
    source: str = ""  # "timm" or "tv"
    num_features: int = 0
    feature_info: list[FeatureInfo]
    data_config: DataConfig

    def forward_features(self, x: torch.Tensor) -> list[torch.Tensor]:
        raise NotImplementedError

    def forward_pooled(self, x: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def stages(self) -> list[Stage]:
        raise NotImplementedError

    def has_source_head(self) -> bool:
        """Whether the pretraining classifier is kept (LEEP and ImageNet sanity checks need it)."""
        return False

    def forward_source_head(self, pooled: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError(f"backbone {self.name!r} has no source classifier head")

    def source_state_dict(self) -> dict[str, torch.Tensor]:
        """The weights as the source library's model holds them (every adapter keeps it as
        ``self.model``), detached on the CPU: what ``create_backbone`` loads as weights."""
        return {k: v.detach().cpu() for k, v in self.model.state_dict().items()}

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.forward_pooled(x)
