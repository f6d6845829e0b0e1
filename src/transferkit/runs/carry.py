"""A finished run as the start of the next: its backbone (``--backbone run:RUNDIR``) and, for
classification, its head rows by class name (``--init-from RUNDIR``).

The zoo knows nothing of runs: it builds an architecture from weights in hand (a state dict in
the source library's layout, with the spec saying where it came from and which preprocessing it
expects). This module reads a run into exactly that. :func:`carry_config` turns the user's
settings into what the engine builds: ``backbone run:RUNDIR`` becomes the run's architecture with
``weights run:RUNDIR`` (so the new run's ``config.yaml`` names a real architecture, which
evaluate, predict and export rebuild without the source run).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from transferkit import zoo
from transferkit.core.config import RunConfig
from transferkit.core.errors import ConfigError, RunDirError, WeightsMismatchError
from transferkit.runs.rundir import RunDir, RunHandle, load_run
from transferkit.transfer.probe import linear_head
from transferkit.zoo.weights.spec import ResolvedWeights, WeightsSpec

RUN_PREFIX = "run:"


def run_ref(value: object) -> str | None:
    """The run folder of a ``run:RUNDIR`` value, or None for any other value."""
    if isinstance(value, str) and value.startswith(RUN_PREFIX):
        return value[len(RUN_PREFIX) :]
    return None


def read_source_run(path: str | Path, what: str) -> RunHandle:
    """The run in ``path`` with its best checkpoint loaded; ``what`` names the setting in errors.

    A folder that is not a run, and a checkpoint that does not fit the backbone the run's
    ``config.yaml`` names, are one-line errors (RunDirError, exit 2 in the CLI).
    """
    run = RunDir(path)
    if not run.is_run():
        raise RunDirError(
            f"{what}: {path} is not a transferkit run directory (no config.yaml / classes.json)",
            hint="pass the --out folder of a finished `transferkit train` run",
        )
    try:
        return load_run(path)
    except RuntimeError as e:  # load_state_dict: the checkpoint is of another architecture
        backbone = RunConfig.load(run.config).model.backbone
        raise RunDirError(
            f"{what}: the checkpoint of {path} does not fit the backbone its config.yaml names "
            f"({backbone}): {str(e).splitlines()[0]}",
            hint="use a run as `transferkit train` wrote it (its config.yaml unedited)",
        ) from None


def run_weights(handle: RunHandle) -> ResolvedWeights:
    """The backbone of a loaded run as weights ``zoo.create_backbone`` takes: the trained state
    dict and the run's preprocessing (``classes.json``'s data_config)."""
    backbone = handle.model.backbone
    meta = handle.checkpoint
    spec = WeightsSpec(
        backbone.name,
        handle.run_dir.path.resolve(),
        meta.get("sha256"),
        "run",
        "of the run's data and pretrained weights",
        f"run {handle.run_dir.path} ({handle.config.task}, {len(handle.class_names)} classes)",
        handle.data_config,
    )
    return ResolvedWeights(spec, state_dict=backbone.source_state_dict())


def create_backbone(name: str, weights: str):
    """``zoo.create_backbone(name, weights)``, where ``weights`` may also be ``run:RUNDIR``."""
    path = run_ref(weights)
    if path is None:
        return zoo.create_backbone(name, weights=weights)
    handle = read_source_run(path, f"--weights {weights}")
    _same_backbone(name, handle, f"--weights {weights}", "--backbone")
    return zoo.create_backbone(name, weights=run_weights(handle))


def carry_config(cfg: RunConfig) -> RunConfig:
    """``cfg`` with ``backbone run:RUNDIR`` and ``init_from`` resolved and checked.

    ``backbone run:RUNDIR``: the run's architecture, ``weights run:RUNDIR`` (any task).
    ``init_from RUNDIR`` (classification): the same backbone as that run (its weights unless
    others are given as ``run:``), a linear head, a fine-tuning strategy, init "run".
    """
    path = run_ref(cfg.model.backbone)
    if path is not None:
        if cfg.model.weights != "auto":
            raise ConfigError(
                f"--backbone {cfg.model.backbone} brings its own weights; --weights "
                f"{cfg.model.weights} contradicts it",
                hint="drop --weights, or name the architecture with --backbone",
            )
        handle = read_source_run(path, f"--backbone {cfg.model.backbone}")
        folder = str(Path(path).resolve())
        cfg = cfg.with_values(backbone=handle.model.backbone.name, weights=RUN_PREFIX + folder)
    if cfg.model.init_from is None:
        return cfg
    return _check_init_from(cfg)


def _check_init_from(cfg: RunConfig) -> RunConfig:
    path = cfg.model.init_from
    what = f"--init-from {path}"
    refusals = [
        (cfg.task != "classify", f"continues a classification run, not task {cfg.task!r}"),
        (
            cfg.model.head not in (None, "linear"),
            f"carries a linear head, not --head {cfg.model.head}",
        ),
        (cfg.transfer.strategy in ("probe", "auto"), "fine-tunes; the probe would refit the head"),
        (cfg.transfer.init == "probe", "starts the head from the run, not from the probe"),
        (cfg.model.weights == "none", "starts from the run's backbone, not random init"),
    ]
    for refused, why in refusals:
        if refused:
            raise ConfigError(
                f"{what} {why}",
                hint="use --init-from with a classification run, --head linear and --strategy "
                "head | partial:N | gradual | full; --backbone run:RUNDIR carries a backbone only",
            )
    handle = read_source_run(path, what)
    if handle.config.task != "classify" or handle.config.model.head not in (None, "linear"):
        raise ConfigError(
            f"{what}: that run is a {handle.config.task} run with head "
            f"{handle.config.model.head or 'default'}; its head cannot start a classifier",
            hint=f"start from its backbone only: --backbone run:{path}",
        )
    _same_backbone(cfg.model.backbone, handle, what, "--backbone")
    folder = str(Path(path).resolve())
    weights = cfg.model.weights
    if run_ref(weights) is None:
        if weights != "auto":
            raise ConfigError(
                f"{what} starts from the run's backbone; --weights {weights} contradicts it",
                hint="drop --weights",
            )
        weights = RUN_PREFIX + folder
    return cfg.with_values(init_from=folder, weights=weights)


def _same_backbone(name: str, handle: RunHandle, what: str, flag: str) -> None:
    """Refuse a backbone other than the run's (the weights fit one architecture)."""
    theirs = handle.model.backbone.name
    ours = zoo.resolve_backbone_name(name)
    if ours != theirs:
        raise WeightsMismatchError(
            f"{what}: that run trained backbone {theirs}, not {ours} ({flag} {name})",
            hint=f"pass {flag} {theirs}, or leave {flag} out to take the run's",
        )


@dataclass
class HeadRows:
    """A classification head for new class names: rows of the run's head matched by name."""

    weight: torch.Tensor  # (K, D)
    bias: torch.Tensor  # (K,)
    kept: list[str]  # classes in both: their rows come from the run
    added: list[str]  # new classes: fresh rows (PyTorch's default nn.Linear init)
    dropped: list[str]  # the run's classes absent here: their rows are left out

    def describe(self) -> str:
        """One line for the plan: which rows are carried, which are new."""

        def names(items: list[str]) -> str:
            shown = ", ".join(items[:6]) + (f", +{len(items) - 6} more" if len(items) > 6 else "")
            return f"{len(items)}" + (f" ({shown})" if items else "")

        return f"kept {names(self.kept)}, new {names(self.added)}, dropped {names(self.dropped)}"


def carried_head(handle: RunHandle, class_names: list[str]) -> HeadRows:
    """The head for ``class_names``: the run's rows for classes it knows (by name), fresh rows
    for the others, in ``class_names`` order."""
    old = linear_head(handle.model)
    fresh = nn.Linear(old.in_features, len(class_names))
    weight, bias = fresh.weight.detach().clone(), fresh.bias.detach().clone()
    row_of = {name: i for i, name in enumerate(handle.class_names)}
    kept, added = [], []
    for row, name in enumerate(class_names):
        i = row_of.get(name)
        if i is None:
            added.append(name)
            continue
        weight[row], bias[row] = old.weight.detach()[i], old.bias.detach()[i]
        kept.append(name)
    dropped = [n for n in handle.class_names if n not in set(class_names)]
    return HeadRows(weight.cpu(), bias.cpu(), kept, added, dropped)
