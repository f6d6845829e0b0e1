"""Turn a parameter-name -> stage assignment into :class:`Stage` objects, and stride helpers.

Both adapters decide stages by parameter name (timm through its ``group_matcher``, torchvision
through the modules each trunk unit owns). A :class:`Stage` holds modules, so each group becomes
the largest sub-modules whose parameters all belong to it; parameters owned directly by a module
that spans several stages (ViT's ``cls_token``, ``pos_embed``) go into a small holder module that
shares them without re-registering them in the backbone.
"""

from __future__ import annotations

import math
from collections.abc import Callable

from torch import nn

from transferkit.zoo.backbone import Stage


class ParamHolder(nn.Module):
    """Holds parameters that belong to a stage but live directly on a larger module.

    It is never registered as a sub-module of the backbone, so it changes neither the
    state dict nor ``parameters()``; it only lets a :class:`Stage` reach those tensors.
    """

    def __init__(self, named: list[tuple[str, nn.Parameter]]):
        super().__init__()
        for name, p in named:
            self.register_parameter(name.replace(".", "__"), p)


def build_stages(
    root: nn.Module,
    group_of: Callable[[str], int],
    skip: Callable[[str], bool] = lambda name: False,
) -> list[Stage]:
    """Stages ordered by group id; ``group_of(param_name)`` assigns every non-skipped parameter.

    ``skip`` marks parameters that belong to no stage (the kept source classifier). A stage is
    named after the module paths it holds (the first one is ``"stem"``).
    """
    modules: dict[int, list[nn.Module]] = {}
    paths: dict[int, list[str]] = {}
    loose: dict[int, list[tuple[str, nn.Parameter]]] = {}

    def visit(prefix: str, module: nn.Module) -> None:
        named = [(prefix + n, p) for n, p in module.named_parameters()]
        kept = [(n, p) for n, p in named if not skip(n)]
        if not kept:
            return
        groups = {group_of(n) for n, _ in kept}
        if len(groups) == 1 and len(kept) == len(named) and prefix:
            gid = groups.pop()
            modules.setdefault(gid, []).append(module)
            paths.setdefault(gid, []).append(prefix[:-1])
            return
        for n, p in module.named_parameters(recurse=False):
            if not skip(prefix + n):
                gid = group_of(prefix + n)
                loose.setdefault(gid, []).append((prefix + n, p))
                paths.setdefault(gid, []).append(prefix + n)
        for child_name, child in module.named_children():
            visit(f"{prefix}{child_name}.", child)

    visit("", root)
    stages = []
    for index, gid in enumerate(sorted(paths)):
        mods = list(modules.get(gid, []))
        if gid in loose:
            mods.append(ParamHolder(loose[gid]))
        stages.append(Stage(stage_name(index, paths[gid]), mods))
    return stages


def stage_name(index: int, paths: list[str], limit: int = 3) -> str:
    """``"stem"`` for the first stage, else the module paths it holds (the first few)."""
    if index == 0:
        return "stem"
    shown = "+".join(paths[:limit])
    return shown + ("+..." if len(paths) > limit else "")


def stride_of(input_size: int, output_size: int) -> int:
    """Stride as the nearest power of two (valid convolutions make sizes slightly off)."""
    return 2 ** round(math.log2(input_size / output_size))
