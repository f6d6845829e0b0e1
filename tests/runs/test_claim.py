"""A run directory is the tool's and has one writer: ``runs.claim``.

A new run is refused in a non-empty folder (every file of the user's left as it was), a second
process on the same folder is refused with the holder's PID, a lock left by ``kill -9`` blocks
nothing, and an unwritable ``--out`` is refused before any work.
"""

from __future__ import annotations

import errno
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import transferkit.api as api
import transferkit.engine.run as engine_run
from tests.engine.conftest import make_image_folder
from transferkit.cli.main import main
from transferkit.core.errors import DatasetError, RunDirError
from transferkit.runs.claim import LOCK_FILE, RunLock, claim, held_by

SETTINGS = dict(
    backbone="tiny", weights="none", strategy="head", epochs=1, batch_size=8, img_size=32,
    quiet=True, patience=None,
)  # fmt: skip
CLI = ["--backbone", "tiny", "--weights", "none", "--strategy", "head", "--epochs", "1"]
CLI += ["--img-size", "32", "--quiet"]
SRC = str(Path(__file__).resolve().parents[2] / "src")


@pytest.fixture
def data(tmp_path):
    return make_image_folder(tmp_path / "data", per_class=6)


def _files(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def _users_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "mine"
    folder.mkdir()
    (folder / "config.yaml").write_text("my: own settings\n")
    (folder / "history.csv").write_text("year,amount\n2024,3\n")
    return folder


def test_the_cli_refuses_a_users_folder_and_touches_nothing(capsys, data, tiny_zoo, tmp_path):
    folder = _users_folder(tmp_path)
    before = _files(folder)
    code = main(["train", "--data", str(data), *CLI, "--out", str(folder)])
    err = capsys.readouterr().err
    assert code == 2, err
    assert "Traceback" not in err
    assert "is not empty (it holds config.yaml, history.csv)" in err
    assert "hint: a run is written only into a new or empty folder" in err
    assert _files(folder) == before
    assert sorted(p.name for p in folder.iterdir()) == ["config.yaml", "history.csv"]  # no .lock


def test_the_api_refuses_a_users_folder_and_touches_nothing(data, tiny_zoo, tmp_path):
    folder = _users_folder(tmp_path)
    before = _files(folder)
    with pytest.raises(RunDirError, match="is not empty"):
        api.fit(data, out=folder, **SETTINGS)
    assert _files(folder) == before


def test_an_empty_folder_or_one_holding_only_a_lock_takes_a_run(data, tiny_zoo, tmp_path):
    empty, locked = tmp_path / "empty", tmp_path / "locked"
    empty.mkdir()
    locked.mkdir()
    (locked / LOCK_FILE).write_text('{"pid": 1, "host": "gone", "since": "then"}\n')
    for out in (empty, locked):
        assert (api.fit(data, out=out, **SETTINGS).run_dir / "checkpoints" / "last.json").is_file()


def test_a_run_that_fails_before_writing_leaves_no_folder(tiny_zoo, tmp_path):
    missing = tmp_path / "no-such-data"
    missing.mkdir()  # exists (the API checks that first) but holds no images
    out = tmp_path / "run"
    with pytest.raises(DatasetError):
        api.fit(missing, out=out, **SETTINGS)
    assert not out.exists()


HOLDER = """
import sys, time
from transferkit.runs.claim import RunLock
RunLock(sys.argv[1]).acquire()
print("held", flush=True)
time.sleep(60)
"""


def _holder(folder: Path) -> subprocess.Popen:
    """Another process holding ``folder``'s lock (the lock API, not a whole training run)."""
    env = {**os.environ, "PYTHONPATH": SRC}
    proc = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(HOLDER), str(folder)],
        stdout=subprocess.PIPE, text=True, env=env,
    )  # fmt: skip
    assert proc.stdout.readline().strip() == "held"
    return proc


def test_a_second_process_is_refused_with_the_holders_pid(capsys, data, tiny_zoo, tmp_path):
    run_dir = api.fit(data, out=tmp_path / "run", **SETTINGS).run_dir
    proc = _holder(run_dir)
    try:
        assert f"process {proc.pid} on " in held_by(run_dir)
        busy = pytest.raises(RunDirError, match=f"in use: process {proc.pid} on ")
        with busy, claim(run_dir, resume=True):
            pass
        code = main(["train", "--resume", str(run_dir), "--quiet"])
        err = capsys.readouterr().err
        assert code == 2 and "Traceback" not in err
        assert f"is in use: process {proc.pid}" in err
        fresh = tmp_path / "fresh"
        fresh.mkdir()
        proc2 = _holder(fresh)  # a new run's folder, held before the run wrote anything
        try:
            code = main(["train", "--data", str(data), *CLI, "--out", str(fresh)])
            err = capsys.readouterr().err
            assert code == 2 and f"is in use: process {proc2.pid}" in err
        finally:
            proc2.kill()
            proc2.wait()
    finally:
        proc.kill()
        proc.wait()
    assert held_by(run_dir) is None


def test_a_lock_left_by_kill_9_does_not_block_resume(data, tiny_zoo, tmp_path):
    run_dir = api.fit(data, out=tmp_path / "run", **SETTINGS).run_dir
    proc = _holder(run_dir)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert str(proc.pid) in (run_dir / LOCK_FILE).read_text()  # the file stays, the lock does not
    assert held_by(run_dir) is None
    result = api.fit(out=run_dir, resume=True, epochs=2, quiet=True)
    assert [r["epoch"] for r in result.history if r["epoch"] >= 1] == [1, 2]
    assert str(os.getpid()) in (run_dir / LOCK_FILE).read_text()


def test_the_lock_is_held_for_the_life_of_the_run(data, tiny_zoo, tmp_path, monkeypatch):
    seen = []
    real = engine_run.fine_tune

    def spy(cfg, out, *args, **kwargs):
        seen.append(held_by(out))
        return real(cfg, out, *args, **kwargs)

    monkeypatch.setattr(engine_run, "fine_tune", spy)
    api.fit(data, out=tmp_path / "run", **SETTINGS)
    assert seen == [f"process {os.getpid()} on " + seen[0].split(" on ", 1)[1]]
    assert held_by(tmp_path / "run") is None  # released at the end


def _read_only(monkeypatch, root: Path) -> None:
    """Make writes under ``root`` fail as on a read-only file system (root ignores chmod)."""
    real_open, real_mkdir = os.open, Path.mkdir

    def fake_open(path, flags, *args, **kwargs):
        if str(path).startswith(str(root)) and flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT):
            raise OSError(errno.EROFS, "Read-only file system", str(path))
        return real_open(path, flags, *args, **kwargs)

    def fake_mkdir(self, *args, **kwargs):
        if str(self).startswith(str(root)) and not self.exists():
            raise OSError(errno.EROFS, "Read-only file system", str(self))
        return real_mkdir(self, *args, **kwargs)

    monkeypatch.setattr(os, "open", fake_open)
    monkeypatch.setattr(Path, "mkdir", fake_mkdir)


@pytest.mark.parametrize("exists", [False, True])
def test_a_read_only_out_is_refused_before_any_work(
    capsys, data, tiny_zoo, tmp_path, monkeypatch, exists
):
    root = tmp_path / "ro"
    root.mkdir()
    out = root / "run"
    if exists:
        out.mkdir()
    prepared = []
    monkeypatch.setattr(engine_run, "prepare", lambda cfg: prepared.append(cfg))
    _read_only(monkeypatch, root)
    code = main(["train", "--data", str(data), *CLI, "--out", str(out)])
    err = capsys.readouterr().err
    assert code == 2 and "Traceback" not in err
    assert f"cannot write the run directory {out}: Read-only file system" in err
    assert prepared == []


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root writes anywhere")
def test_a_folder_without_write_permission_is_refused(data, tiny_zoo, tmp_path):
    root = tmp_path / "ro"
    root.mkdir()
    root.chmod(0o500)
    try:
        with pytest.raises(RunDirError, match="cannot write the run directory"):
            api.fit(data, out=root / "run", **SETTINGS)
    finally:
        root.chmod(0o700)


def test_a_lock_is_exclusive_within_one_process_too(tmp_path):
    with RunLock(tmp_path), pytest.raises(RunDirError, match=f"process {os.getpid()}"):
        RunLock(tmp_path).acquire()
    RunLock(tmp_path).acquire().release()
