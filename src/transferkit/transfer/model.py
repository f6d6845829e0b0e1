"""The model every task trains: a task network plus the groups the transfer recipe acts on.

``TransferModel`` wraps the task's network (a classifier, a torchvision detector, a segmentation
decoder…) and knows two kinds of parameter groups:

* the pretrained backbone's stages, stem to deepest (``backbone.stages()``), which a strategy
  freezes, unfreezes and gives LR multipliers;
* the new parts the task put on top (head, FPN, RPN, decoder…), which always train at the base LR.

Frozen BatchNorm has one meaning here: a frozen stage's norm layers stay in eval mode across
``.train()`` calls, so their running statistics do not move. The BatchNorm mode (``--bn``) says
which stages that applies to: ``eval`` every pretrained stage, trainable or not (their weights still
train); ``frozen`` the frozen stages only; ``train`` none. The new parts' norm layers always update:
their statistics start from nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

from torch import nn
from torch.nn.modules.batchnorm import _NormBase

from transferkit.core.config import BN_MODES
from transferkit.zoo.backbone import Backbone, Stage


@dataclass
class Group:
    """A named parameter group: a backbone stage (``pretrained``) or a new part."""

    name: str
    params: list[nn.Parameter]
    modules: list[nn.Module]
    pretrained: bool

    def num_parameters(self) -> int:
        return sum(p.numel() for p in self.params)


class TransferModel(nn.Module):
    """A task network whose backbone lives at ``backbone_path`` and whose new parts are named."""

    def __init__(self, net: nn.Module, backbone_path: str, new_parts: dict[str, str], task: str):
        super().__init__()
        self.net = net
        self.task = task
        self._backbone_path = backbone_path
        self._new_parts = dict(new_parts)  # group name -> module path inside net
        self._frozen_norms: list[nn.Module] = []

    @property
    def backbone(self) -> Backbone:
        return self.net.get_submodule(self._backbone_path)

    def groups(self) -> list[Group]:
        """Backbone stages (stem to deepest) then the new parts, each parameter in one group."""
        stages: list[Stage] = self.backbone.stages()
        groups = [Group(s.name, s.parameters(), list(s.modules), True) for s in stages]
        seen = {id(p) for g in groups for p in g.params}
        for name, path in self._new_parts.items():
            module = self.net.get_submodule(path)
            params = [p for p in module.parameters() if id(p) not in seen]
            seen.update(id(p) for p in params)
            groups.append(Group(name, params, [module], False))
        rest = [p for p in self.net.parameters() if id(p) not in seen]
        if rest:  # parameters no group claims would silently never train: refuse instead
            names = [n for n, p in self.net.named_parameters() if any(p is r for r in rest)]
            raise RuntimeError(f"parameters in no group: {names[:5]}")
        return groups

    def set_trainable(self, trainable: list[bool], bn: str = "frozen") -> None:
        """Set ``requires_grad`` per group (same order as :meth:`groups`) and apply the BN mode.

        ``bn`` (see :data:`BN_MODES`) picks the groups whose norm layers stay in eval mode from now
        on, so their running statistics do not move while the rest of the model trains.
        """
        if bn not in BN_MODES:
            raise ValueError(f"bn must be one of {', '.join(BN_MODES)}, got {bn!r}")
        groups = self.groups()
        if len(trainable) != len(groups):
            raise ValueError(f"expected {len(groups)} flags, got {len(trainable)}")
        self._frozen_norms = []
        for group, on in zip(groups, trainable):
            for p in group.params:
                p.requires_grad_(on)
            if (bn == "frozen" and not on) or (bn == "eval" and group.pretrained):
                for m in group.modules:
                    self._frozen_norms.extend(x for x in m.modules() if _is_norm(x))
        self.train(self.training)

    def train(self, mode: bool = True) -> TransferModel:
        super().train(mode)
        for m in self._frozen_norms:
            m.eval()
        return self

    def forward(self, *args, **kwargs):
        return self.net(*args, **kwargs)


def _is_norm(module: nn.Module) -> bool:
    # Only norms with running statistics change in train mode (BatchNorm, InstanceNorm with stats).
    return isinstance(module, _NormBase)
