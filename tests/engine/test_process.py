"""Whole-process behaviour: kill -9 during training then --resume; DDP on two CPU processes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

from tests.engine.conftest import make_image_folder
from transferkit.runs.rundir import RunDir

TRAIN = [
    sys.executable,
    "-m",
    "transferkit",
    "train",
    "--backbone",
    "timm:resnet18",
    "--weights",
    "none",
    "--img-size",
    "32",
    "--batch-size",
    "8",
    "--quiet",
]


def _env():
    env = dict(os.environ)
    env["PYTHONUNBUFFERED"] = "1"
    return env


def test_kill_9_during_training_then_resume(tmp_path):
    data = make_image_folder(tmp_path / "data", per_class=16)
    run_dir = tmp_path / "run"
    cmd = TRAIN + [
        "--data",
        str(data),
        "--epochs",
        "8",
        "--strategy",
        "full",
        "--patience",
        "0",
        "--out",
        str(run_dir),
    ]
    proc = subprocess.Popen(cmd, env=_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    state = run_dir / "checkpoints" / "last_state.pt"
    deadline = time.time() + 240
    while not state.exists() and proc.poll() is None and time.time() < deadline:
        time.sleep(0.05)
    assert proc.poll() is None, "training ended before it could be killed"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    # Epoch 0 is the probe-initialised model (LP-FT): a row, but no epoch to resume from.
    done_before = len([r for r in RunDir(run_dir).read_history() if r["epoch"] >= 1])
    assert 1 <= done_before < 8

    resumed = subprocess.run(
        [sys.executable, "-m", "transferkit", "train", "--resume", str(run_dir)],
        env=_env(),
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    assert f"resuming from epoch {done_before + 1}" in resumed.stdout
    epochs = [int(r["epoch"]) for r in RunDir(run_dir).read_history()]
    assert epochs == list(range(0, 9))
    assert json.loads((run_dir / "metrics.json").read_text())["accuracy"] > 0.5


def test_two_cpu_processes_with_ddp(tmp_path):
    # One process reaches >= 0.85 on this kind of data (tests/engine/test_loop.py); two must too.
    data = make_image_folder(tmp_path / "data", per_class=16)
    out = tmp_path / "run"
    cmd = TRAIN + ["--data", str(data), "--epochs", "3", "--strategy", "gradual"]
    cmd += ["--devices", "2", "--accelerator", "cpu", "--out", str(out)]
    proc = subprocess.run(cmd, env=_env(), capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Starting with 2 processes" in proc.stdout + proc.stderr
    assert "DDP replicas disagree" not in proc.stderr
    assert proc.stdout.count("run directory:") == 1
    assert json.loads((out / "metrics.json").read_text())["accuracy"] >= 0.8
    rows = RunDir(out).read_history()  # LP-FT: the probe's head, loaded in both, is epoch 0
    assert [r["epoch"] for r in rows] == [0, 1, 2, 3] and "head init: probe" in proc.stdout
