"""LP-FT head initialisation: the probe-initialised head predicts exactly what the probe does."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from tests.tiny import tiny_classifier
from transferkit.core.errors import ConfigError
from transferkit.transfer.linear import fit_logistic, threads_for
from transferkit.transfer.lpft import init_head_from_probe, load_into_head, probe_head_state


def _standardised_probe(x: torch.Tensor, y: torch.Tensor, k: int):
    mean, std = x.mean(0), x.std(0).clamp_min(1e-6)
    with threads_for(x.numel() * k, x.device):
        fit = fit_logistic((x - mean) / std, y, k, l2=1e-3)
    return fit, mean, std


def test_head_logits_equal_the_probe_logits():
    g = torch.Generator().manual_seed(0)
    y = torch.arange(60) % 3
    x = torch.randn(60, 8, generator=g) * torch.linspace(0.1, 5, 8) + 3 * y[:, None]
    fit, mean, std = _standardised_probe(x, y, 3)
    weight, bias = probe_head_state(fit, mean, std)
    head = nn.Linear(8, 3)
    load_into_head(head, weight, bias)
    with torch.no_grad():
        torch.testing.assert_close(head(x), fit.logits((x - mean) / std), atol=1e-4, rtol=1e-5)
    assert head.weight.requires_grad and head.bias.requires_grad  # still trainable


def test_a_classification_model_starts_where_the_probe_ends():
    model = tiny_classifier(num_classes=3).eval()
    images = torch.rand(24, 3, 32, 32, generator=torch.Generator().manual_seed(1))
    y = torch.arange(24) % 3
    with torch.no_grad():
        feats = model.net.backbone.forward_pooled(images)
    fit, mean, std = _standardised_probe(feats, y, 3)
    head = init_head_from_probe(model, fit, mean, std)
    assert head is model.net.head[-1]
    with torch.no_grad():
        logits = model(images)
    torch.testing.assert_close(logits, fit.logits((feats - mean) / std), atol=1e-4, rtol=1e-4)
    probe_acc = (fit.logits((feats - mean) / std).argmax(1) == y).float().mean()
    assert (logits.argmax(1) == y).float().mean() == probe_acc  # the run's "epoch 0"


def test_shapes_and_values_are_checked():
    fit, mean, std = _standardised_probe(torch.randn(12, 4), torch.arange(12) % 2, 2)
    with pytest.raises(ConfigError, match="does not fit a probe on 4 features"):
        probe_head_state(fit, mean[:3], std)
    with pytest.raises(ConfigError, match="finite and > 0"):
        probe_head_state(fit, mean, torch.zeros(4))
    weight, bias = probe_head_state(fit, mean, std)
    with pytest.raises(ConfigError, match="do not fit a head of 5 features -> 2 classes"):
        load_into_head(nn.Linear(5, 2), weight, bias)
    with pytest.raises(ConfigError, match="no bias"):
        load_into_head(nn.Linear(4, 2, bias=False), weight, bias)
    with pytest.raises(ConfigError, match="not finite"):
        load_into_head(nn.Linear(4, 2), weight * float("inf"), bias)
    with pytest.raises(ConfigError, match="nn.Linear head, got Sequential") as err:
        load_into_head(nn.Sequential(nn.Linear(4, 2)), weight, bias)
    assert err.value.hint
