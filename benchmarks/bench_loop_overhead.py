"""Loop overhead: ``transferkit`` fit vs a bare PyTorch loop, same model, data and steps.

Both train the same classifier (timm resnet18 body, random init, new linear head) on the same
in-memory tensors for the same number of steps with AdamW and the same warm-up + cosine schedule, and
both run a validation pass after every epoch. ``fit`` additionally writes its run directory
(history, checkpoints, resume state) every epoch: that is part of the overhead measured.
Runs alternate (bare, fit, bare, fit …) and the best time of each is compared, for the whole run and
for the epochs alone (``fit``'s fixed costs — set-up, final evaluation, report — apart).

    python benchmarks/bench_loop_overhead.py [--repeats 3] [--epochs 3]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader, TensorDataset

from transferkit.core.config import RunConfig
from transferkit.data.datasets import DataSplits
from transferkit.engine.loop import fit
from transferkit.engine.optim import build_optimizer, warmup_cosine
from transferkit.tasks.classify import TASK
from transferkit.transfer.plan import build_plan
from transferkit.transfer.strategy import parse_strategy
from transferkit.zoo import create_backbone

N_TRAIN, N_VAL, SIZE, CLASSES = 512, 128, 64, 10


def make_data():
    g = torch.Generator().manual_seed(0)
    x = torch.randn(N_TRAIN + N_VAL, 3, SIZE, SIZE, generator=g)
    y = torch.randint(0, CLASSES, (N_TRAIN + N_VAL,), generator=g)
    train = TensorDataset(x[:N_TRAIN], y[:N_TRAIN])
    val = TensorDataset(x[N_TRAIN:], y[N_TRAIN:])
    return train, val


def config(epochs: int) -> RunConfig:
    return RunConfig().with_values(
        path="in-memory",
        backbone="timm:resnet18",
        weights="none",
        strategy="full",
        epochs=epochs,
        batch_size=32,
        lr=1e-3,
        lr_decay=1.0,
        patience=0,
        quiet=True,
        warmup_epochs=1.0,
        num_workers=0,  # as the bare loop: the loop's overhead, not a data path's
    )


def run_fit(train, val, epochs: int) -> tuple[float, float]:
    """Whole ``fit`` time, and the time inside its epochs (train + validate + checkpoint)."""
    splits = DataSplits(train, val, None, [str(i) for i in range(CLASSES)], {})
    TASK.load_data = lambda cfg, data_config: splits  # the same in-memory tensors as the bare loop
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        result = fit(config(epochs), Path(tmp) / "run")
        total = time.perf_counter() - start
    return total, sum(float(row["seconds"]) for row in result.history)


def run_bare(train, val, epochs: int) -> tuple[float, float]:
    cfg = config(epochs)
    start = time.perf_counter()
    torch.manual_seed(0)
    model = TASK.build_model(create_backbone("timm:resnet18", weights="none"), CLASSES, cfg.model)
    plan = build_plan(model, parse_strategy("full", lr_decay=1.0), epochs)
    optimizer = build_optimizer(model, plan, cfg.train)
    loader = DataLoader(train, batch_size=32, shuffle=True)
    val_loader = DataLoader(val, batch_size=32)
    scheduler = warmup_cosine(optimizer, len(loader), epochs * len(loader))
    epochs_start = time.perf_counter()
    for _ in range(epochs):
        model.train()
        for x, y in loader:
            loss = F.cross_entropy(model(x), y)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            scheduler.step()
        model.eval()
        correct = 0
        with torch.no_grad():
            for x, y in val_loader:
                logits = model(x)
                F.cross_entropy(logits, y)
                correct += (logits.argmax(1) == y).sum().item()
    end = time.perf_counter()
    return end - start, end - epochs_start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=3)
    args = parser.parse_args()
    train, val = make_data()
    bare, ours = [], []
    for _ in range(args.repeats):
        bare.append(run_bare(train, val, args.epochs))
        ours.append(run_fit(train, val, args.epochs))
    steps = args.epochs * (N_TRAIN // 32)
    print(
        f"resnet18, {SIZE}px, {N_TRAIN} train / {N_VAL} val images, {steps} steps, "
        f"{args.repeats} alternating repeats, {torch.get_num_threads()} threads"
    )
    for label, index in (("whole run", 0), ("epochs only", 1)):
        b = [t[index] for t in bare]
        o = [t[index] for t in ours]
        print(
            f"{label:<11}: bare best {min(b):.2f} s ({', '.join(f'{t:.2f}' for t in b)}); "
            f"fit best {min(o):.2f} s ({', '.join(f'{t:.2f}' for t in o)}); "
            f"ratio {min(o) / min(b):.3f}"
        )
    print(
        "goal: ratio <= 1.05. 'whole run' adds fit's set-up, final evaluation of the best "
        "checkpoint and report.html; 'epochs only' is the loop itself (with checkpoints)."
    )


if __name__ == "__main__":
    main()
