"""Strategies, freeze plans, frozen BatchNorm and per-group learning rates."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from tests.tiny import tiny_classifier
from transferkit.core.config import RunConfig, TrainSettings, resolved_bn
from transferkit.core.errors import ConfigError
from transferkit.engine.optim import build_optimizer, warmup_cosine
from transferkit.transfer.plan import build_plan
from transferkit.transfer.strategy import parse_strategy


def _count(module) -> int:
    return sum(p.numel() for p in module.parameters())


def test_head_partial_gradual_full_trainable_stages():
    n = 4
    assert parse_strategy("head").trainable_stages(0, n) == [False] * 4
    assert parse_strategy("partial:2").trainable_stages(0, n) == [False, False, True, True]
    assert parse_strategy("full").trainable_stages(0, n) == [True] * 4
    gradual = parse_strategy("gradual", unfreeze_every=2)
    assert [sum(gradual.trainable_stages(e, n)) for e in range(10)] == [
        0,
        0,
        1,
        1,
        2,
        2,
        3,
        3,
        4,
        4,
    ]
    assert gradual.trainable_stages(2, n) == [False, False, False, True]  # deepest first


def test_unknown_strategy_did_you_mean():
    with pytest.raises(ConfigError, match="Did you mean 'gradual'"):
        parse_strategy("graduel")
    with pytest.raises(ConfigError, match="partial:2"):
        parse_strategy("partial")


def test_partial_beyond_stage_count_is_an_error():
    model = tiny_classifier()
    with pytest.raises(ConfigError, match="expected 1–3, got 5"):
        build_plan(model, parse_strategy("partial:5"), epochs=2)


def test_plan_parameter_counts_match_an_independent_count():
    model = tiny_classifier(num_classes=5)
    blocks = model.net.backbone.blocks
    head = _count(model.net.head)
    assert head == 32 * 5 + 5
    plan = build_plan(model, parse_strategy("partial:1"), epochs=3)
    assert [r.parameters for r in plan.rows] == [_count(b) for b in blocks] + [head]
    assert plan.trainable_parameters(0) == _count(blocks[2]) + head
    assert plan.total_parameters() == _count(model)
    assert build_plan(model, parse_strategy("head"), 1).trainable_parameters(0) == head
    assert build_plan(model, parse_strategy("full"), 1).trainable_parameters(0) == _count(model)
    text = plan.render(1e-3)
    assert "head (new)" in text and "frozen" in text


def test_gradual_plan_lists_epochs():
    plan = build_plan(tiny_classifier(), parse_strategy("gradual"), epochs=4)
    assert [r.trainable_by_epoch for r in plan.rows] == [
        (False, False, False, True),
        (False, False, True, True),
        (False, True, True, True),
        (True, True, True, True),
    ]
    assert "..TT" in plan.render()


def test_frozen_batchnorm_statistics_do_not_move_over_an_epoch():
    model = tiny_classifier()
    plan = build_plan(model, parse_strategy("partial:1"), epochs=1)
    model.set_trainable(plan.trainable_flags(0))
    model.train()
    frozen_bn = model.net.backbone.blocks[0][1]
    trained_bn = model.net.backbone.blocks[2][1]
    before = (frozen_bn.running_mean.clone(), frozen_bn.running_var.clone())
    trained_before = trained_bn.running_mean.clone()
    weight_before = model.net.backbone.blocks[0][0].weight.clone()
    opt = build_optimizer(model, plan, TrainSettings(lr=0.1))
    for _ in range(5):
        x, y = torch.randn(8, 3, 32, 32) * 3 + 1, torch.randint(0, 3, (8,))
        opt.zero_grad()
        F.cross_entropy(model(x), y).backward()
        opt.step()
    assert not frozen_bn.training and trained_bn.training
    assert torch.equal(frozen_bn.running_mean, before[0])
    assert torch.equal(frozen_bn.running_var, before[1])
    assert torch.equal(model.net.backbone.blocks[0][0].weight, weight_before)
    assert not torch.equal(trained_bn.running_mean, trained_before)


def test_bn_train_mode_lets_frozen_statistics_update():
    model = tiny_classifier()
    model.set_trainable([False, False, False, True], bn="train")
    model.train()
    bn = model.net.backbone.blocks[0][1]
    before = bn.running_mean.clone()
    model(torch.randn(4, 3, 32, 32) + 2)
    assert bn.training and not torch.equal(bn.running_mean, before)


def test_bn_eval_mode_fixes_every_pretrained_stage_while_its_weights_train():
    model = tiny_classifier()
    plan = build_plan(model, parse_strategy("full"), epochs=1)
    model.set_trainable(plan.trainable_flags(0), bn="eval")
    model.train()
    norms = [m for m in model.net.backbone.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    stats = [(m.running_mean.clone(), m.running_var.clone()) for m in norms]
    conv = model.net.backbone.blocks[0][0].weight.clone()
    opt = build_optimizer(model, plan, TrainSettings(lr=0.1))
    x, y = torch.randn(8, 3, 32, 32) * 3 + 1, torch.randint(0, 3, (8,))
    opt.zero_grad()
    F.cross_entropy(model(x), y).backward()
    opt.step()
    assert norms and not any(m.training for m in norms)
    for m, (mean, var) in zip(norms, stats):
        assert torch.equal(m.running_mean, mean) and torch.equal(m.running_var, var)
    assert not torch.equal(model.net.backbone.blocks[0][0].weight, conv)


def test_unknown_bn_mode_is_refused():
    with pytest.raises(ValueError, match="bn must be one of eval, frozen, train"):
        tiny_classifier().set_trainable([True] * 4, bn="fixed")


def test_discriminative_lr_per_group():
    model = tiny_classifier()
    plan = build_plan(model, parse_strategy("full", lr_decay=0.5), epochs=1)
    opt = build_optimizer(model, plan, TrainSettings(lr=1e-2))
    lrs = {g["name"]: g["lr"] for g in opt.param_groups}
    assert lrs == pytest.approx(
        {"stage0": 1e-2 / 8, "stage1": 1e-2 / 4, "stage2": 1e-2 / 2, "head": 1e-2}
    )


@pytest.mark.parametrize(
    ("bn", "weights", "expected"),
    [("auto", "auto", "eval"), ("auto", "none", "frozen"), ("train", "auto", "train"),
     ("frozen", "none", "frozen"), ("eval", "none", "eval")],
)
def test_bn_auto_fixes_pretrained_statistics_and_lets_random_init_update(bn, weights, expected):
    cfg = RunConfig().with_values(bn=bn, weights=weights)
    assert resolved_bn(cfg) == expected


def test_gradual_with_a_probe_fitted_head_unfreezes_its_first_stage_in_epoch_one():
    model = tiny_classifier()
    plain = build_plan(model, parse_strategy("gradual"), epochs=3)
    ready = build_plan(model, parse_strategy("gradual", head_ready=True), epochs=3)
    assert [plain.trainable_flags(e) for e in range(3)] == [
        [False, False, False, True],
        [False, False, True, True],
        [False, True, True, True],
    ]
    assert [ready.trainable_flags(e) for e in range(3)] == [
        [False, False, True, True],
        [False, True, True, True],
        [True, True, True, True],
    ]


def test_a_stage_that_unfreezes_later_warms_up_again_from_its_first_step():
    model = tiny_classifier()
    plan = build_plan(model, parse_strategy("gradual", lr_decay=1.0), epochs=4)
    opt = build_optimizer(model, plan, TrainSettings(lr=1.0))
    sched = warmup_cosine(opt, warmup_steps=10, total_steps=40, steps_per_epoch=10)
    lrs = {g["name"]: [] for g in opt.param_groups}
    for _ in range(40):
        for g in opt.param_groups:
            lrs[g["name"]].append(g["lr"])
        opt.step()
        sched.step()
    head = lrs["head"]  # trains from step 0: the shared warm-up then cosine
    assert head[0] == pytest.approx(0.1) and head[9] == pytest.approx(1.0)
    for name, first in (("stage2", 10), ("stage1", 20), ("stage0", 30)):  # gradual: deepest first
        expected = [0.0] * first + [
            head[s] * min(1.0, (s - first + 1) / 10) for s in range(first, 40)
        ]
        assert lrs[name] == pytest.approx(expected), name
