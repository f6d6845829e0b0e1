"""One run, start to end: check, prepare once, decide (``--strategy auto``), then probe or loop.

The backbone is built and the data set read once (:func:`~transferkit.engine.prepare.prepare`);
the decision of ``--strategy auto`` measures on them and the run that follows trains on them.
Options that cannot work for the task are refused here, before any of that work.
"""

from __future__ import annotations

from pathlib import Path

from transferkit.core.config import RunConfig
from transferkit.engine import auto_search, loop
from transferkit.engine.prepare import Prepared, prepare
from transferkit.engine.probe_run import fit_probe
from transferkit.engine.semi_run import check_semi_run, run_semi
from transferkit.engine.start import begin, needs_probe, resumed_start
from transferkit.runs.claim import claim
from transferkit.runs.record import RunResult
from transferkit.transfer import auto
from transferkit.transfer.features import FeatureCache
from transferkit.transfer.probe import ProbeOutcome, check_probe_config, probe_splits


def run(
    cfg: RunConfig,
    out: str | Path,
    resume: bool = False,
    *,
    cache_dir: str | Path | None = None,
    prepared: Prepared | None = None,
) -> RunResult:
    """Train ``cfg`` into ``out`` (or continue it with ``resume``); returns the run's result.

    ``out`` is claimed first (``runs.claim``): a new run only into a new or empty folder, a
    resumed one only into its run, by one process at a time, on a writable disk; all that is
    checked before any work. A probe has no epochs to resume: ``resume`` on a probe run fits it
    again.
    ``prepared`` (backbone and data already built, e.g. k-fold's refit on every labelled image)
    replaces reading ``cfg``'s data.
    """
    out, strategy = Path(out), cfg.transfer.strategy
    if cfg.data.unlabelled:
        check_semi_run(cfg, resume)
    if strategy == "auto":
        auto.check_auto_config(cfg)
    elif strategy == "probe":
        check_probe_config(cfg)
    with claim(out, resume):
        if cfg.data.unlabelled:  # adapt and self-train first (engine.semi_run)
            return run_semi(cfg, out, cache_dir)
        return _claimed(cfg, out, resume, cache_dir, prepared)


def _claimed(
    cfg: RunConfig,
    out: Path,
    resume: bool,
    cache_dir: str | Path | None,
    prepared: Prepared | None,
) -> RunResult:
    strategy = cfg.transfer.strategy
    if strategy not in ("auto", "probe"):  # a resumed run's config holds what auto chose
        return fine_tune(cfg, out, resume, cache_dir=cache_dir, prepared=prepared)
    cache = FeatureCache(cache_dir)  # checks the cache folder first: fail before any work
    prepared = prepared or prepare(cfg)
    outcome = None
    if strategy == "auto":
        cfg, outcome, result = _decide(cfg, out, prepared, cache)
        if result is not None:  # the winner's last trial trained the run exactly: not twice
            return result
    if cfg.transfer.strategy == "probe":
        return fit_probe(cfg, out, prepared, cache=cache, outcome=outcome)
    return fine_tune(cfg, out, prepared=prepared, cache=cache, outcome=outcome)


def fine_tune(
    cfg: RunConfig,
    out: Path,
    resume: bool = False,
    *,
    prepared: Prepared | None = None,
    cache: FeatureCache | None = None,
    cache_dir: str | Path | None = None,
    outcome: ProbeOutcome | None = None,
) -> RunResult:
    """The training loop, started from the probe's head (LP-FT) with the checked augmentation.

    ``prepared``, ``cache`` and ``outcome`` (a probe fitted on the same features) are reused when
    given. A resumed run continues from its state: no refit, its config holds the choices.
    """
    distributed = cfg.train.devices > 1 or cfg.train.num_nodes > 1
    if resume:
        # DDP processes prepare their own backbone and data: preparing here would be wasted.
        return loop.fit(cfg, out, True, None if distributed else prepare(cfg), resumed_start(cfg))
    if needs_probe(cfg):
        cache = cache or FeatureCache(cache_dir)  # checks the cache folder before any work
        prepared = prepared or prepare(cfg)
    elif not distributed or cfg.model.init_from:  # --init-from maps rows by the data's classes
        prepared = prepared or prepare(cfg)
    # Without the probe, non-classification runs resolve their choices without the data.
    cfg, start = begin(cfg, out, prepared, cache, outcome)
    return loop.fit(cfg, out, False, None if distributed else prepared, start)


def _decide(
    cfg: RunConfig, out: Path, prepared: Prepared, cache: FeatureCache
) -> tuple[RunConfig, ProbeOutcome, RunResult | None]:
    """Replace ``auto`` by the recipe that measured best on val (``engine.auto_search``).

    The probe is fitted first (the baseline every fine-tuning trial must beat, and the head
    each of them starts from); the trials run through :func:`fine_tune`, as the final run does.
    The choice reaches the run's ``config.yaml`` through the returned config; the result is the
    final run when the winner's trial already trained it (else None: the caller trains it).
    """
    # Classification data always has a val split (the reader refuses val_fraction 0 without one).
    outcome = probe_splits(prepared.backbone, prepared.splits, cfg, cache)

    def train(trial: RunConfig, trial_out: Path, trial_prepared: Prepared) -> RunResult:
        return fine_tune(trial, trial_out, prepared=trial_prepared, cache=cache, outcome=outcome)

    cfg, result = auto_search.choose(cfg, out, prepared, outcome, train)
    return cfg, outcome, result
