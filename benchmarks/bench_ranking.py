"""Ranking quality: transferability scores before fine-tuning vs accuracy after it.

Run from the repository root::

    .venv/bin/python benchmarks/bench_ranking.py --per-class 20 100 --img-size 64 --epochs 3

On Fashion-MNIST subsets (from ../shared/data), for each candidate backbone:

* the LogME, H-score and (where the ImageNet head exists) LEEP / NCE scores of its frozen
  features on the training images (features through the cache);
* the test accuracy after fine-tuning it with one recipe for every candidate (the training loop,
  strategy ``full`` by default, same seed, epochs, LR and image size);
* the test accuracy of a linear probe (``--strategy probe``) and, with ``--compare``, the
  ``compare`` table (probe / head / gradual / full / scratch) of the first candidate.

Candidates: EfficientNet-Lite0/1/2 with their real ImageNet weights, Lite0 from random init, and
Lite0 / Lite2 truncated after an intermediate stage (pretrained weights, fewer layers). Kendall's
tau between each score and the fine-tuned accuracies is printed, whatever it comes out as, and
everything goes to ``--out`` as JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_probe import DEFAULT_IDX, make_subset  # noqa: E402

from transferkit.zoo.backbone import Backbone, FeatureInfo, Stage  # noqa: E402

CANDIDATES = (
    "efficientnet_lite0",
    "efficientnet_lite1",
    "efficientnet_lite2",
    "efficientnet_lite0@none",
    "efficientnet_lite0~3",
    "efficientnet_lite0~5",
    "efficientnet_lite2~4",
)
SCORES = ("logme", "hscore", "leep", "nce")


class Truncated(Backbone):
    """The first ``k`` block groups of a timm EfficientNet: pretrained, but shallower."""

    def __init__(self, full: Backbone, k: int):
        super().__init__()
        m = full.model
        self.name = f"{full.name}~{k}"
        self.source = full.source
        self.data_config = full.data_config
        info = full.weights_info or {}
        self.weights_info = {**info, "sha256": f"{info.get('sha256', 'none')}~{k}"}
        self.stem = nn.Sequential(m.conv_stem, m.bn1)
        self.blocks = nn.ModuleList(m.blocks[:k])
        with torch.no_grad():
            x = torch.zeros(1, 3, 64, 64)
            shapes = []
            for b in [self.stem, *self.blocks]:
                x = b(x)
                shapes.append(x.shape)
        self.feature_info = [
            FeatureInfo(f"blocks.{i}", s[1], 64 // s[-1]) for i, s in enumerate(shapes[1:])
        ]
        self.num_features = shapes[-1][1]

    def forward_features(self, x):
        x = self.stem(x)
        out = []
        for b in self.blocks:
            x = b(x)
            out.append(x)
        return out

    def forward_pooled(self, x):
        return self.forward_features(x)[-1].mean(dim=(2, 3))

    def stages(self):
        return [Stage("stem", [self.stem])] + [
            Stage(f"blocks.{i}", [b]) for i, b in enumerate(self.blocks)
        ]


def make_backbone(spec: str, keep_source_head: bool = False) -> Backbone:
    """``name``, ``name@none`` (random init) or ``name~k`` (truncated after k block groups)."""
    from transferkit.zoo import create_backbone

    if "@" in spec:
        name, weights = spec.split("@")
        torch.manual_seed(0)
        return create_backbone(name, weights=weights, keep_source_head=keep_source_head)
    if "~" in spec:
        name, k = spec.split("~")
        return Truncated(create_backbone(name), int(k))
    return create_backbone(spec, keep_source_head=keep_source_head)


def patch_zoo() -> None:
    """Let the training loop build the variant names above (benchmark only)."""
    import transferkit.zoo as zoo  # the engine and load_run look the factory up here at call time

    real = zoo.create_backbone

    def create(name, weights="auto", **kw):
        if "@" in name or "~" in name:
            return make_backbone(name)
        return real(name, weights=weights, **kw)

    zoo.create_backbone = create


def kendall_tau(a: list[float], b: list[float]) -> float:
    """Kendall's tau-b of two equally long lists (ties counted as neither)."""
    conc = disc = ties_a = ties_b = 0
    for i in range(len(a)):
        for j in range(i + 1, len(a)):
            da, db = a[i] - a[j], b[i] - b[j]
            if da == 0 and db == 0:
                continue
            if da == 0:
                ties_a += 1
            elif db == 0:
                ties_b += 1
            elif (da > 0) == (db > 0):
                conc += 1
            else:
                disc += 1
    denom = ((conc + disc + ties_a) * (conc + disc + ties_b)) ** 0.5
    return (conc - disc) / denom if denom else float("nan")


def score_candidates(data: Path, img_size: int) -> dict[str, dict]:
    """Every score of every candidate on the training split of ``data``."""
    from transferkit.data.datasets.classification import load_classification_data
    from transferkit.data.transforms.classify import eval_transform
    from transferkit.transfer.features import FeatureCache
    from transferkit.transfer.scores import compute_score

    splits = load_classification_data(data)
    paths = [p for p, _ in splits.train.samples]
    labels = torch.tensor([y for _, y in splits.train.samples])
    cache = FeatureCache()
    out = {}
    for spec in CANDIDATES:
        start = time.perf_counter()
        bb = make_backbone(spec, keep_source_head="~" not in spec)
        got = cache.features(bb, paths, eval_transform(bb.data_config, img_size), progress=False)
        row = {"dim": int(got.features.shape[1]), "feature_seconds": round(got.seconds, 2)}
        logits = None
        if bb.has_source_head():
            with torch.no_grad():
                logits = bb.forward_source_head(got.features)
        for metric in SCORES:
            if metric in ("leep", "nce") and logits is None:
                continue
            row[metric] = compute_score(metric, got.features, labels, logits)
        row["seconds"] = round(time.perf_counter() - start, 2)
        out[spec] = row
        print(
            f"  {spec:24s} " + "  ".join(f"{k} {v:.4f}" for k, v in row.items() if k in SCORES),
            flush=True,
        )
    return out


def fine_tune(
    data: Path, spec: str, work: Path, img_size: int, epochs: int, strategy: str, lr: float
) -> dict:
    """Test accuracy of ``spec`` fine-tuned with the common recipe (the real training loop)."""
    from transferkit.core.config import RunConfig
    from transferkit.engine.run import run as fit

    cfg = RunConfig().with_values(
        path=str(data),
        backbone=spec,
        strategy=strategy,
        epochs=epochs,
        img_size=img_size,
        lr=lr,
        batch_size=32,
        warmup_epochs=0.5,
        patience=None,
        quiet=True,
        seed=0,
    )
    start = time.perf_counter()
    result = fit(cfg, work / f"{spec.replace('~', '-').replace('@', '-')}-{strategy}")
    return {
        "accuracy": result.metrics["accuracy"],
        "macro_f1": result.metrics["macro_f1"],
        "seconds": round(time.perf_counter() - start, 1),
    }


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--per-class", type=int, nargs="+", default=[20, 100])
    p.add_argument("--val-per-class", type=int, default=10)
    p.add_argument("--test-per-class", type=int, default=50)
    p.add_argument("--img-size", type=int, default=64)
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--strategy", default="full", help="the one fine-tuning recipe")
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument(
        "--compare",
        action="store_true",
        help="also run probe/head/gradual/full/scratch on efficientnet_lite0",
    )
    p.add_argument("--work", type=Path, default=None)
    p.add_argument("--idx-dir", type=Path, default=DEFAULT_IDX)
    p.add_argument("--out", type=Path, default=Path("bench_ranking.json"))
    args = p.parse_args(argv)

    work = args.work or Path(tempfile.mkdtemp(prefix="tk-bench-rank-"))
    os.environ.setdefault("TRANSFERKIT_CACHE_DIR", str(work / "cache"))
    patch_zoo()
    report = {
        "setup": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
        "subsets": {},
    }
    for n in args.per_class:
        data = make_subset(
            work / f"fmnist-{n}", n, args.val_per_class, args.test_per_class, args.idx_dir
        )
        print(f"\n== {n} train images per class, {args.img_size}px ==", flush=True)
        scores = score_candidates(data, args.img_size)
        tuned, probed = {}, {}
        for spec in CANDIDATES:
            tuned[spec] = fine_tune(
                data, spec, work / f"runs-{n}", args.img_size, args.epochs, args.strategy, args.lr
            )
            probed[spec] = fine_tune(
                data, spec, work / f"runs-{n}", args.img_size, args.epochs, "probe", args.lr
            )
            print(
                f"  fine-tuned {spec:24s} acc {tuned[spec]['accuracy']:.4f} "
                f"({tuned[spec]['seconds']:.0f}s)  probe acc {probed[spec]['accuracy']:.4f} "
                f"({probed[spec]['seconds']:.0f}s)",
                flush=True,
            )
        acc = [tuned[s]["accuracy"] for s in CANDIDATES]
        taus: dict[str, dict[str, float]] = {"fine_tuned": {}, "probe": {}}
        for target, results in (("fine_tuned", tuned), ("probe", probed)):
            for metric in SCORES:
                have = [s for s in CANDIDATES if metric in scores[s]]
                taus[target][metric] = kendall_tau(
                    [scores[s][metric] for s in have], [results[s]["accuracy"] for s in have]
                )
                print(
                    f"  Kendall tau({metric}, {target} accuracy) = "
                    f"{taus[target][metric]:+.3f} over {len(have)} candidates",
                    flush=True,
                )
        entry = {
            "scores": scores,
            "fine_tuned": tuned,
            "probe": probed,
            "kendall_tau": taus,
            "accuracy_order": [
                s for _, s in sorted(zip(acc, CANDIDATES, strict=True), reverse=True)
            ],
        }
        if args.compare:
            from transferkit.engine.compare import compare

            entry["compare"] = compare(
                data,
                "probe,head,gradual,full",
                backbone="efficientnet_lite0",
                epochs=args.epochs,
                with_scratch=True,
                out=work / f"compare-{n}",
                img_size=args.img_size,
                lr=args.lr,
                quiet=True,
            )
            for r in entry["compare"]:
                print(
                    f"  compare {r['strategy']:8s} acc {r['accuracy']:.4f} "
                    f"f1 {r['macro_f1']:.4f} {r['seconds']:.0f}s "
                    f"trainable {r['trainable_parameters']}",
                    flush=True,
                )
        report["subsets"][str(n)] = entry
        args.out.write_text(json.dumps(report, indent=2) + "\n")
    print(f"\nwrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
