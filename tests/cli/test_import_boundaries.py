"""Start fast: heavy modules are imported only where they are used.

``transferkit --help`` imports no PyTorch; the probe, ``evaluate``, ``predict``, ``rank`` and
``data check`` never import Lightning (only the training loop does). Checked in a fresh
interpreter through ``sys.modules``, never by timing.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.engine.conftest import make_image_folder

ROOT = Path(__file__).resolve().parents[2]


def _loaded_after(code: str, cwd: Path | None = None) -> dict:
    """Run ``code`` in a fresh interpreter; which of the heavy modules it left imported."""
    probe = (
        f"{code}\nimport json, sys\n"
        "print(json.dumps({m: m in sys.modules for m in "
        "('torch', 'lightning', 'lightning.fabric', 'timm', 'rich')}))"
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(ROOT)])}
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, env=env, cwd=cwd
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_help_imports_no_torch():
    code = (
        "import contextlib, io\n"
        "from transferkit.cli.main import main\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        "    try:\n        main(['--help'])\n    except SystemExit:\n        pass\n"
        "    for cmd in ('train', 'evaluate', 'predict', 'rank', 'data'):\n"
        "        try:\n            main([cmd, '--help'])\n        except SystemExit:\n"
        "            pass\n"
    )
    loaded = _loaded_after(code)
    assert not loaded["torch"] and not loaded["lightning"] and not loaded["rich"]


def test_probe_evaluate_predict_and_data_check_run_without_lightning(tmp_path):
    data = make_image_folder(tmp_path / "data", per_class=6, size=16)
    run = tmp_path / "run"
    small = ["--backbone", "tiny", "--weights", "none", "--img-size", "32", "--quiet"]
    code = (
        "import transferkit.zoo as zoo\n"
        "from tests.tiny import TinyBackbone\n"
        "zoo.create_backbone = lambda name, weights='auto', **kw: TinyBackbone()\n"
        "from transferkit.cli.main import main\n"
        f"assert main(['train', '--data', {str(data)!r}, '--out', {str(run)!r}, "
        f"'--strategy', 'probe', *{small!r}]) == 0\n"
        f"assert main(['evaluate', {str(run)!r}]) == 0\n"
        f"assert main(['predict', {str(run)!r}, {str(data / 'red')!r}]) == 0\n"
        f"assert main(['data', 'check', {str(data)!r}]) == 0\n"
    )
    loaded = _loaded_after(code, cwd=tmp_path)
    assert loaded["torch"]  # the whole API was imported and used
    assert not loaded["lightning"] and not loaded["lightning.fabric"]
    assert (run / "predictions" / "val.jsonl").is_file()
