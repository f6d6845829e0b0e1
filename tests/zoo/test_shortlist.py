"""The short names' table (``zoo list`` without torch) stays what the libraries say, and the rows
it gives are the rows the full listing computes."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import torch.hub

from transferkit.core import env
from transferkit.zoo.aliases import ALIASES
from transferkit.zoo.listing import _row, alias_facts, list_backbones
from transferkit.zoo.shortlist import ALIAS_FACTS, alias_rows
from transferkit.zoo.weights import caches


def test_the_table_holds_every_alias_as_the_libraries_give_it():
    assert list(ALIAS_FACTS) == list(ALIASES)
    for alias in ALIASES:
        assert ALIAS_FACTS[alias] == alias_facts(alias), alias


def test_table_rows_are_the_rows_the_full_listing_computes():
    assert alias_rows() == [_row(alias) for alias in ALIASES]
    assert list_backbones() == alias_rows()


def test_zoo_list_imports_no_torch(tmp_path):
    code = (
        "import sys; from transferkit.cli.main import main; code = main(['zoo', 'list']); "
        "assert code == 0; assert 'torch' not in sys.modules, 'torch imported'"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert "efficientnet_lite0" in done.stdout and "timm:tf_efficientnet_lite0.in1k" in done.stdout


def test_hub_folder_without_torch_follows_torchs_rule(tmp_path, monkeypatch):
    for name, value in (("TORCH_HOME", tmp_path / "th"), ("XDG_CACHE_HOME", tmp_path / "xdg")):
        monkeypatch.delenv("TORCH_HOME", raising=False)
        monkeypatch.setenv(name, str(value))
        assert env.torch_home() / "hub" == Path(torch.hub.get_dir())
        assert caches.hub_checkpoints_dir() == env.torch_home() / "hub" / "checkpoints"
