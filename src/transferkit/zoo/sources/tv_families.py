"""How each torchvision family runs as a trunk of units, pools, and where its heads are.

Most torchvision classifiers are a chain of top-level children (with the blocks of ``features``,
``layers``, ``trunk_output`` or ``blocks`` as separate units), then a pool and a classifier; one
generic description covers them. The families that differ get a small subclass, chosen by the
model's class: Swin (NHWC maps, a norm before the pool), ViT (tokens, a single stride-16 map),
GoogLeNet/Inception (input transform, auxiliary heads), DenseNet (ReLU before the pool, old key
names in the published checkpoints).
"""

from __future__ import annotations

import re

import torch
import torch.nn.functional as F
from torch import nn

from transferkit.core.errors import ConfigError

# Children that end the trunk (pooling and classifier side), children that are never part of it,
# and containers whose children are units of their own.
_STOP = ("avgpool", "dropout", "fc", "classifier", "head", "heads", "norm")
_SKIP = ("aux1", "aux2", "AuxLogits")
_EXPAND = ("features", "layers", "trunk_output", "blocks")


class CnnFamily:
    """The generic layout: top-level children in order, global average pool, linear classifier."""

    aux_prefixes: tuple[str, ...] = ()

    def build_kwargs(self, weights_meta: dict, pretrained: bool) -> dict:
        """Constructor arguments torchvision's builder would use for these weights."""
        return {}

    def fix_keys(self, state_dict: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """Rename keys of torchvision's published checkpoints that the current code renamed."""
        return state_dict

    def after_load(self, model: nn.Module) -> None:
        """Settings torchvision's builder applies once pretrained weights are in."""

    def strip_aux(self, model: nn.Module) -> None:
        """Drop auxiliary training heads (never part of the backbone)."""

    def units(self, model: nn.Module) -> list[str]:
        """Module paths of the trunk, input to deepest map."""
        out = []
        for name, child in model.named_children():
            if name in _SKIP:
                continue
            if name in _STOP:
                break
            if name in _EXPAND and isinstance(child, (nn.Sequential, nn.ModuleList)):
                out += [f"{name}.{n}" for n, _ in child.named_children()]
            else:
                out.append(name)
        return out

    def unit_params(self, unit: str) -> tuple[str, ...]:
        """Parameter-name prefixes a unit owns."""
        return (unit,)

    def prepare(self, model: nn.Module, x: torch.Tensor) -> torch.Tensor:
        return x

    def run(self, model: nn.Module, unit: str, x: torch.Tensor) -> torch.Tensor:
        return model.get_submodule(unit)(x)

    def to_map(self, model: nn.Module, y: torch.Tensor, hw: tuple[int, int]) -> torch.Tensor:
        """A unit's output as an NCHW map."""
        return y

    def head(self, model: nn.Module) -> str | None:
        """Path of the linear layer that maps the pooled embedding to the pretraining classes."""
        for attr in ("fc", "head"):
            if isinstance(getattr(model, attr, None), nn.Linear):
                return attr
        cls = getattr(model, "classifier", None)
        if isinstance(cls, nn.Linear):
            return "classifier"
        if isinstance(cls, nn.Sequential) and isinstance(cls[-1], nn.Linear):
            return f"classifier.{len(cls) - 1}"
        return None  # e.g. SqueezeNet: a conv classifier before the pool

    def neck(self, model: nn.Module) -> list[str]:
        """Paths of the layers between the pool and the head (they shape the embedding)."""
        cls = getattr(model, "classifier", None)
        if not (isinstance(cls, nn.Sequential) and isinstance(cls[-1], nn.Linear)):
            return []
        names = [f"classifier.{i}" for i in range(len(cls) - 1)]
        # A trailing dropout belongs to the classifier, not to the embedding.
        while names and isinstance(model.get_submodule(names[-1]), nn.Dropout):
            names.pop()
        return names

    def unused(self, model: nn.Module) -> list[str]:
        """Modules with parameters that the backbone never runs (removed at build)."""
        cls = getattr(model, "classifier", None)
        return ["classifier"] if cls is not None and self.head(model) is None else []

    def pool(self, model: nn.Module, y: torch.Tensor, neck: list[str]) -> torch.Tensor:
        avgpool = getattr(model, "avgpool", None)
        y = avgpool(y) if isinstance(avgpool, nn.Module) else F.adaptive_avg_pool2d(y, 1)
        for path in neck:
            module = model.get_submodule(path)
            if isinstance(module, nn.Linear) and y.ndim > 2:
                y = torch.flatten(y, 1)
            y = module(y)
        return torch.flatten(y, 1)

    def group_units(self, strides: list[int]) -> list[list[int]]:
        """Stages as runs of units: each ends with the last unit at a stride."""
        groups, current = [], []
        for i, s in enumerate(strides):
            current.append(i)
            if i + 1 == len(strides) or strides[i + 1] != s:
                groups.append(current)
                current = []
        return groups


class DenseNetFamily(CnnFamily):
    """DenseNet: ReLU after the last norm, and dotted key names in the published checkpoints."""

    _OLD_KEY = re.compile(
        r"^(.*denselayer\d+\.(?:norm|relu|conv))\.((?:[12])\.(?:weight|bias|running_mean|running_var))$"
    )

    def fix_keys(self, state_dict):
        out = {}
        for key, value in state_dict.items():
            m = self._OLD_KEY.match(key)
            out[m.group(1) + m.group(2) if m else key] = value
        return out

    def pool(self, model, y, neck):
        return super().pool(model, F.relu(y), neck)


class InceptionFamily(CnnFamily):
    """GoogLeNet and Inception v3: auxiliary heads off, the input transform of their weights."""

    def __init__(self, aux_prefixes: tuple[str, ...]):
        self.aux_prefixes = aux_prefixes

    def build_kwargs(self, weights_meta, pretrained):
        # Built with the auxiliary heads so their checkpoint keys load; strip_aux drops them.
        return {"aux_logits": True, "init_weights": not pretrained, "transform_input": pretrained}

    def strip_aux(self, model):
        model.aux_logits = False
        for prefix in self.aux_prefixes:
            setattr(model, prefix.rstrip("."), None)

    def after_load(self, model):
        # The published weights expect inputs in [-1, 1]; torchvision's builder turns this on.
        model.transform_input = True

    def prepare(self, model, x):
        return model._transform_input(x)


class SwinFamily(CnnFamily):
    """Swin (v1, v2): the feature blocks return NHWC maps; a LayerNorm precedes the pool."""

    def to_map(self, model, y, hw):
        return y.permute(0, 3, 1, 2)

    def neck(self, model):
        return ["norm"]

    def pool(self, model, y, neck):
        y = model.norm(y).permute(0, 3, 1, 2)
        return torch.flatten(model.avgpool(y), 1)


class VitFamily(CnnFamily):
    """ViT: patch embedding + class token, then encoder blocks; one map at the patch stride.

    torchvision's ViT accepts only its training size; here any size that the patch size divides
    works, with the position embedding resized bicubically (as torchvision does for checkpoints).
    """

    def build_kwargs(self, weights_meta, pretrained):
        return {"image_size": weights_meta["min_size"][0]} if weights_meta else {}

    def units(self, model):
        return ["stem"] + [f"encoder.layers.{n}" for n, _ in model.encoder.layers.named_children()]

    def unit_params(self, unit):
        if unit == "stem":
            return ("conv_proj", "class_token", "encoder.pos_embedding")
        return (unit,)

    def run(self, model, unit, x):
        if unit != "stem":
            return model.get_submodule(unit)(x)
        p = model.patch_size
        if x.shape[-2] % p or x.shape[-1] % p:
            raise ConfigError(
                f"ViT input {tuple(x.shape[-2:])} is not a multiple of its patch size {p}; "
                f"resize to a multiple of {p} (e.g. {model.image_size})."
            )
        grid = (x.shape[-2] // p, x.shape[-1] // p)
        tokens = model.conv_proj(x).flatten(2).transpose(1, 2)
        cls = model.class_token.expand(tokens.shape[0], -1, -1)
        tokens = torch.cat([cls, tokens], dim=1) + self._pos_embedding(model, grid)
        return model.encoder.dropout(tokens)

    @staticmethod
    def _pos_embedding(model: nn.Module, grid: tuple[int, int]) -> torch.Tensor:
        pos = model.encoder.pos_embedding
        side = model.image_size // model.patch_size
        if grid == (side, side):
            return pos
        cls_pos, patch_pos = pos[:, :1], pos[:, 1:]
        patch_pos = patch_pos.transpose(1, 2).reshape(1, -1, side, side)
        patch_pos = F.interpolate(patch_pos, size=grid, mode="bicubic", align_corners=True)
        return torch.cat([cls_pos, patch_pos.flatten(2).transpose(1, 2)], dim=1)

    def to_map(self, model, y, hw):
        h, w = hw[0] // model.patch_size, hw[1] // model.patch_size
        return y[:, 1:].transpose(1, 2).reshape(y.shape[0], y.shape[2], h, w)

    def head(self, model):
        return "heads.head"

    def neck(self, model):
        extra = [f"heads.{n}" for n, _ in model.heads.named_children() if n != "head"]
        return ["encoder.ln", *extra]

    def pool(self, model, y, neck):
        y = model.encoder.ln(y)[:, 0]
        for path in neck[1:]:
            y = model.get_submodule(path)(y)
        return y

    def group_units(self, strides):
        return [[i] for i in range(len(strides))]  # one stage per encoder block


def family_for(model: nn.Module) -> CnnFamily:
    """The family description for a torchvision model, chosen by its class."""
    from torchvision import models

    if isinstance(model, models.VisionTransformer):
        return VitFamily()
    if isinstance(model, models.SwinTransformer):
        return SwinFamily()
    if isinstance(model, models.GoogLeNet):
        return InceptionFamily(("aux1.", "aux2."))
    if isinstance(model, models.Inception3):
        return InceptionFamily(("AuxLogits.",))
    if isinstance(model, models.DenseNet):
        return DenseNetFamily()
    return CnnFamily()
