"""Everything read back from a run directory is checked before use: each kind of damaged file is
refused in one line naming it (exit 2, a hint, no traceback), and no code planted in one runs."""

from __future__ import annotations

import json
import pickle
import shutil
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file, save_file

import transferkit.api as api
import transferkit.zoo as zoo
from tests.engine.conftest import make_image_folder
from tests.tiny import TinyBackbone
from transferkit.cli.main import main
from transferkit.core.fileio import sha256_file, write_json

SETTINGS = dict(
    backbone="tiny", weights="none", strategy="head", init="random", epochs=1, batch_size=8,
    img_size=32, quiet=True, patience=None,
)  # fmt: skip


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """One tiny run, trained once; each test damages a copy of it."""
    root = tmp_path_factory.mktemp("readback")
    data = make_image_folder(root / "data", per_class=6)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(zoo, "create_backbone", lambda name, weights="auto", **kw: TinyBackbone())
        return api.fit(data, out=root / "run", **SETTINGS).run_dir


@pytest.fixture
def run(trained, tmp_path, tiny_zoo):
    copy = tmp_path / "run"
    shutil.copytree(trained, copy)
    return copy


class Planted:
    """Unpickling this touches a marker file: the proof that code from a checkpoint ran."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (Path.touch, (self.marker,))


def _refused(capsys, argv, *needles):
    code = main(argv)
    err = capsys.readouterr().err
    assert code == 2, err
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 2 and lines[0].startswith("error: ") and lines[1].startswith("hint: ")
    for needle in needles:
        assert needle in lines[0], lines[0]
    return lines


def _evaluate(run):
    return ["evaluate", str(run)]


def _resume(run):
    return ["train", "--resume", str(run), "--epochs", "2", "--quiet"]


def test_a_pickle_in_place_of_best_safetensors(capsys, run, tmp_path):
    best = run / "checkpoints" / "best.safetensors"
    marker = tmp_path / "code-ran"
    best.write_bytes(pickle.dumps({"w": Planted(marker)}))
    # evaluate first checks the checkpoint against the sha256 recorded beside it (its stored
    # predictions are only good for that checkpoint): the file is refused before it is opened
    _refused(capsys, _evaluate(run), f"{best} has changed since the run wrote it")
    assert not marker.exists()


def test_last_state_carrying_code_is_refused_unread(capsys, run, tmp_path):
    state = run / "checkpoints" / "last_state.pt"
    marker = tmp_path / "code-ran"
    torch.save({"epoch": 0, "payload": Planted(marker)}, state)
    _refused(capsys, _resume(run), f"{state} is damaged: it holds objects other than tensors")
    assert not marker.exists()


def test_a_truncated_last_state(capsys, run):
    state = run / "checkpoints" / "last_state.pt"
    state.write_bytes(state.read_bytes()[:1000])
    _refused(capsys, _resume(run), f"{state} is damaged: not a resume state")


def test_a_last_state_without_its_parts(capsys, run):
    state = run / "checkpoints" / "last_state.pt"
    torch.save({"epoch": 0, "model": {}}, state)
    _refused(capsys, _resume(run), "the resume state lacks best_score, optimizer, rng")


def _rewrite_checkpoint(stem: Path, tensors: dict[str, torch.Tensor], record_sha: bool) -> None:
    save_file(tensors, str(stem.with_suffix(".safetensors")))
    if record_sha:  # as if the whole checkpoint, record included, came from elsewhere
        meta = json.loads(stem.with_suffix(".json").read_text())
        meta["sha256"] = sha256_file(stem.with_suffix(".safetensors"))
        write_json(stem.with_suffix(".json"), meta)


def test_a_checkpoint_of_another_architecture(capsys, run):
    stem = run / "checkpoints" / "best"
    other = {k: v.contiguous() for k, v in torch.nn.Linear(4, 2).state_dict().items()}
    _rewrite_checkpoint(stem, other, record_sha=True)
    _refused(
        capsys,
        _evaluate(run),
        f"weights file {stem}.safetensors does not fit the model of this run",
    )


def test_a_swapped_checkpoint_is_caught_by_its_sha256(capsys, run):
    stem = run / "checkpoints" / "best"
    same_shapes = {k: v + 1 for k, v in load_file(f"{stem}.safetensors").items()}
    _rewrite_checkpoint(stem, same_shapes, record_sha=False)
    lines = _refused(capsys, _evaluate(run), f"{stem}.safetensors has changed since the run wrote")
    assert "sha256 no longer matches" in lines[0]


@pytest.mark.parametrize(
    ("name", "content", "needle"),
    [
        ("classes.json", '{"class_names": ["red", "gr', "is damaged: not valid JSON"),
        ("classes.json", '{"class_names": "red", "data_config": {}}', "class_names is not a list"),
        ("classes.json", b"\xff\xfe{}", "is damaged: not UTF-8 text"),
        ("checkpoints/best.json", '{"epoch": 1, "sha', "is damaged: not valid JSON"),
        ("checkpoints/best.json", '{"epoch": 1}', "it records no sha256 of its checkpoint"),
        ("config.yaml", "task: classify\nmodel: [unclosed\n", "config.yaml"),
        ("config.yaml", "- a list\n- not a config\n", "config.yaml"),
    ],
)
def test_damaged_json_and_yaml_are_refused_in_one_line(capsys, run, name, content, needle):
    path = run / name
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    lines = _refused(capsys, _evaluate(run), needle)
    assert str(path) in lines[0]


def test_a_damaged_history_stops_a_resume(capsys, run):
    history = run / "history.csv"
    history.write_text(history.read_text().replace("\n1,", "\none,", 1))
    _refused(capsys, _resume(run), f"{history} is damaged: line 2: epoch not a number")


def test_an_intact_run_still_loads_and_resumes(capsys, run):
    assert main(_evaluate(run)) == 0
    assert main(_resume(run)) == 0
