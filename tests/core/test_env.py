"""core.env: one root for everything transferkit keeps, each variable read in one place."""

from __future__ import annotations

from pathlib import Path

import pytest

from transferkit.core import env
from transferkit.core.errors import ConfigError
from transferkit.transfer.features import FeatureCache, default_cache_dir
from transferkit.zoo.weights.store import store_dir


def test_home_governs_weight_store_and_feature_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("TRANSFERKIT_HOME", str(tmp_path / "tk"))
    monkeypatch.delenv("TRANSFERKIT_CACHE_DIR", raising=False)
    assert env.home() == tmp_path / "tk"
    assert store_dir() == tmp_path / "tk" / "weights"
    assert default_cache_dir() == tmp_path / "tk" / "features"
    assert FeatureCache().root == tmp_path / "tk" / "features"


def test_explicit_cache_dir_still_overrides_home(tmp_path, monkeypatch):
    monkeypatch.setenv("TRANSFERKIT_HOME", str(tmp_path / "tk"))
    monkeypatch.setenv("TRANSFERKIT_CACHE_DIR", str(tmp_path / "elsewhere"))
    assert default_cache_dir() == tmp_path / "elsewhere"
    assert store_dir() == tmp_path / "tk" / "weights"


def test_defaults_follow_the_user_cache(tmp_path, monkeypatch):
    for name in ("TRANSFERKIT_HOME", "TRANSFERKIT_CACHE_DIR", "TORCH_HOME"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert env.home() == tmp_path / "xdg" / "transferkit"
    assert env.weights_dir() == tmp_path / "xdg" / "transferkit" / "weights"
    assert env.torch_home() == tmp_path / "xdg" / "torch"
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert env.home() == Path.home() / ".cache" / "transferkit"


@pytest.mark.parametrize(
    ("value", "allowed"), [("1", True), ("true", True), (" YES ", True), ("0", False), ("", False)]
)
def test_downloads_allowed(monkeypatch, value, allowed):
    monkeypatch.setenv("TRANSFERKIT_ALLOW_DOWNLOAD", value)
    assert env.downloads_allowed() is allowed


def test_hf_hub_cache(tmp_path, monkeypatch):
    monkeypatch.delenv("HF_HUB_CACHE", raising=False)
    monkeypatch.delenv("HF_HOME", raising=False)
    assert env.hf_hub_cache() is None
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    assert env.hf_hub_cache() == tmp_path / "hf" / "hub"
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hub"))
    assert env.hf_hub_cache() == tmp_path / "hub"


def test_global_rank(monkeypatch):
    monkeypatch.delenv("RANK", raising=False)
    monkeypatch.delenv("LOCAL_RANK", raising=False)
    assert env.global_rank() == 0
    monkeypatch.setenv("LOCAL_RANK", "2")
    assert env.global_rank() == 2
    monkeypatch.setenv("RANK", "5")
    assert env.global_rank() == 5
    monkeypatch.setenv("RANK", "x")
    with pytest.raises(ConfigError, match="RANK='x'"):
        env.global_rank()
