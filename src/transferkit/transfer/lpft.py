"""LP-FT: fine-tuning that starts from the linear probe instead of a random head.

Kumar et al. (2022) show that fine-tuning from a random head distorts the pretrained features
while the head is still wrong; fitting the linear probe first and fine-tuning from it keeps them
(+1 point in distribution, +10 under shift in their measurements). The probe is fitted on
standardised features (:mod:`transferkit.transfer.linear`); the head sees raw ones, so the
standardisation is folded into the weights first. The probe-initialised model then predicts
exactly what the probe predicts, which is what makes it a fair "epoch 0" of the run.
"""

from __future__ import annotations

import torch
from torch import nn

from transferkit.core.config import RunConfig
from transferkit.core.errors import ConfigError
from transferkit.core.recipe import probe_init_refusal
from transferkit.transfer.linear import LinearFit, fold_standardisation
from transferkit.transfer.probe import linear_head


def resolve_init(cfg: RunConfig) -> tuple[str, str]:
    """How a fine-tuning run of ``cfg`` starts its head, and why: ``("probe" | "random" | "run",
    reason)``.

    ``init_from`` (a run to continue) starts it from that run's rows ("run"). ``init`` auto is the
    probe where it applies (classification with a linear head) and random elsewhere; an explicit
    ``probe`` where it cannot apply was refused by the config's check.
    """
    if cfg.model.init_from:
        return "run", f"rows by class name from {cfg.model.init_from}"
    why_not = probe_init_refusal(cfg.task, cfg.model.head)
    if cfg.transfer.init == "random":
        return "random", "--init random"
    if why_not is None:
        return "probe", "L2 chosen on val"
    return "random", why_not


def describe_init(mode: str, reason: str) -> str:
    """The plan's "head init" text: ``probe (L2 chosen on val)``, ``random`` or ``random (why)``."""
    return "random" if reason == "--init random" else f"{mode} ({reason})"


def probe_head_state(
    fit: LinearFit, mean: torch.Tensor, std: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """``(weight, bias)`` of a linear head on raw features equal to ``fit`` on standardised ones.

    ``fit`` was fitted on ``(x - mean) / std``; ``mean`` and ``std`` have one value per feature.
    A probe already on raw features (``ProbeOutcome.fit``) needs no folding: load its weights as
    they are.
    """
    d = fit.weight.shape[1]
    if mean.shape != (d,) or std.shape != (d,):
        raise ConfigError(
            f"standardisation of {tuple(mean.shape)} means and {tuple(std.shape)} deviations "
            f"does not fit a probe on {d} features",
            hint="pass the mean and std of the training features the probe was fitted on",
        )
    if not bool((std > 0).all()) or not bool(torch.isfinite(std).all()):
        raise ConfigError(
            "feature standard deviations must be finite and > 0 to fold into a linear head",
            hint="clamp them as the probe does: std.clamp_min(1e-6)",
        )
    folded = fold_standardisation(fit, mean.to(fit.weight), std.to(fit.weight))
    return folded.weight, folded.bias


def load_into_head(head: nn.Linear, weight: torch.Tensor, bias: torch.Tensor) -> None:
    """Copy ``weight`` (K, D) and ``bias`` (K,) into ``head``, checking shapes and values.

    The copy keeps the head's dtype and device and does not record gradients, so the head stays
    a trainable leaf of the model's optimiser.
    """
    if not isinstance(head, nn.Linear):
        raise ConfigError(
            f"a probe initialises an nn.Linear head, got {type(head).__name__}",
            hint="use --head linear, or --init random with other heads",
        )
    expected = (head.out_features, head.in_features)
    if tuple(weight.shape) != expected or tuple(bias.shape) != (head.out_features,):
        raise ConfigError(
            f"probe weights {tuple(weight.shape)} and bias {tuple(bias.shape)} do not fit a head "
            f"of {head.in_features} features -> {head.out_features} classes",
            hint="fit the probe on this backbone's features, for this data set's classes",
        )
    if head.bias is None:
        raise ConfigError(
            "the head has no bias, but the probe has one",
            hint="build the head with a bias (the default), or --init random",
        )
    if not bool(torch.isfinite(weight).all() and torch.isfinite(bias).all()):
        raise ConfigError(
            "probe weights are not finite; they cannot initialise the head",
            hint="refit the probe (a stronger L2 keeps the weights bounded), or --init random",
        )
    with torch.no_grad():
        head.weight.copy_(weight.to(head.weight))
        head.bias.copy_(bias.to(head.bias))


def init_head_from_probe(
    model: nn.Module, fit: LinearFit, mean: torch.Tensor, std: torch.Tensor
) -> nn.Linear:
    """Put the standardised probe ``fit`` into the linear head of a classification ``model``.

    Returns the head, now predicting on the model's pooled features what the probe predicts.
    """
    head = linear_head(model)
    weight, bias = probe_head_state(fit, mean, std)
    load_into_head(head, weight, bias)
    return head
