"""Disk faults are answered, not thrown: a failed write ends the run in one line naming the file,
what it held and the last good checkpoint, the checkpoint stays intact and ``--resume`` finishes;
a disk too small for the checkpoints is warned about at the start."""

from __future__ import annotations

import errno
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

import transferkit.api as api
import transferkit.runs.checkpoint as ckpt
import transferkit.runs.disk as disk
from tests.engine.conftest import make_image_folder
from tests.tiny import tiny_classifier
from transferkit.cli.main import main
from transferkit.core.config import RunConfig
from transferkit.core.errors import RunWriteError
from transferkit.core.fileio import read_json, sha256_file
from transferkit.runs.rundir import RunDir

CLI = ["--backbone", "tiny", "--weights", "none", "--strategy", "head", "--init", "random"]
CLI += ["--img-size", "32", "--batch-size", "8", "--quiet"]
SETTINGS = dict(
    backbone="tiny", weights="none", strategy="head", init="random", epochs=2, batch_size=8,
    img_size=32, quiet=True, patience=None,
)  # fmt: skip


@pytest.fixture
def data(tmp_path):
    return make_image_folder(tmp_path / "data", per_class=6)


def _full_once_a_state_exists(monkeypatch):
    """safetensors writes fail with ENOSPC once the first resume state is on disk (epoch 2)."""
    real = ckpt.save_file

    def save_file(tensors, path, *args, **kwargs):
        if (Path(path).parent / "last_state.pt").is_file():
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(tensors, path, *args, **kwargs)

    monkeypatch.setattr(ckpt, "save_file", save_file)


def test_enospc_mid_run_ends_in_one_line_and_resume_finishes(
    capsys, data, tiny_zoo, tmp_path, monkeypatch
):
    out = tmp_path / "run"
    real = ckpt.save_file
    _full_once_a_state_exists(monkeypatch)
    code = main(["train", "--data", str(data), *CLI, "--epochs", "3", "--out", str(out)])
    err = capsys.readouterr().err
    assert code == 2, err
    assert "Traceback" not in err
    run = RunDir(out)
    line = err.splitlines()[-2]
    assert line.startswith("error: no space left on the device writing the ")
    assert "checkpoint (epoch 2) to " + str(out / "checkpoints") in line
    assert f"the last good checkpoint is epoch 1 ({run.state})" in line
    assert err.splitlines()[-1].startswith("hint: free some space (the run needs about ")
    assert f"`transferkit train --resume {out}` continues it" in err
    # The last checkpoint is intact: the resume state of epoch 1, the weights its JSON describes,
    # and no temporary file left behind.
    assert ckpt.load_training_state(run.state)["epoch"] == 0
    last = run.last.with_suffix(".safetensors")
    assert read_json(run.last.with_suffix(".json"))["sha256"] == sha256_file(last)
    assert read_json(run.last.with_suffix(".json"))["epoch"] == 1
    assert load_file(str(last))
    assert not [p for p in (out / "checkpoints").iterdir() if p.name.endswith(".tmp")]
    monkeypatch.setattr(ckpt, "save_file", real)  # space freed
    assert main(["train", "--resume", str(out), "--quiet"]) == 0
    assert [r["epoch"] for r in run.read_history()] == [1, 2, 3]
    assert (out / "metrics.json").is_file()


def test_a_write_failing_before_any_epoch_says_there_is_nothing_to_resume(
    data, tiny_zoo, tmp_path, monkeypatch
):
    def full(self, path):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(RunConfig, "save", full)
    with pytest.raises(RunWriteError) as caught:
        api.fit(data, out=tmp_path / "run", **SETTINGS)
    message = str(caught.value).splitlines()[0]
    assert message == (
        f"no space left on the device writing the run's config to {tmp_path / 'run' / 'config.yaml'}"
        "; no epoch was completed, so there is nothing to resume"
    )
    assert "train again into a new or empty --out" in caught.value.hint


def test_other_write_errors_name_their_reason(data, tiny_zoo, tmp_path, monkeypatch):
    def denied(self, rows):
        raise PermissionError(errno.EACCES, "Permission denied")

    monkeypatch.setattr(RunDir, "write_history", denied)
    with pytest.raises(RunWriteError, match="^Permission denied writing the history of epoch 1"):
        api.fit(data, out=tmp_path / "run", **SETTINGS)


def test_a_short_disk_is_warned_about_at_the_start(capsys, data, tiny_zoo, tmp_path, monkeypatch):
    usage = disk.shutil.disk_usage(tmp_path)
    monkeypatch.setattr(disk.shutil, "disk_usage", lambda p: usage._replace(free=1000))
    api.fit(data, out=tmp_path / "run", **SETTINGS)
    err = capsys.readouterr().err
    assert "warning: the run needs about " in err
    assert "and 1.0 kB are free on the disk of " in err


def test_the_space_estimate_covers_the_checkpoints_a_run_writes(data, tiny_zoo, tmp_path):
    settings = {**SETTINGS, "strategy": "full"}  # every parameter gets AdamW moments
    run = api.fit(data, out=tmp_path / "run", **settings).run_dir
    sizes = {p.name: p.stat().st_size for p in (run / "checkpoints").iterdir()}
    peak = sum(sizes.values()) + sizes["last_state.pt"]  # the state is replaced beside the old
    torch.manual_seed(0)
    estimate = disk.checkpoint_bytes(tiny_classifier(3))
    assert peak * 0.9 <= estimate <= peak * 1.5, (estimate, sizes)
