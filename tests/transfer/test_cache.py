"""Feature cache: same features as a plain forward pass, keyed, resumable, never reads garbage."""

from __future__ import annotations

import os
import threading

import numpy as np
import pytest
import torch
from PIL import Image

from tests.tiny import TinyBackbone
from transferkit.core.errors import ConfigError
from transferkit.data.images import load_image_rgb
from transferkit.data.transforms.classify import eval_transform
from transferkit.transfer.features import FeatureCache, default_cache_dir


class CountingTiny(TinyBackbone):
    """Counts the images it embeds; raises at batch ``fail_at`` to stand in for a killed run."""

    def __init__(self, fail_at: int | None = None):
        torch.manual_seed(0)
        super().__init__()
        self.seen, self.batches, self.fail_at = 0, 0, fail_at

    def forward_pooled(self, x):
        if self.fail_at is not None and self.batches == self.fail_at:
            raise KeyboardInterrupt
        self.batches += 1
        self.seen += len(x)
        return super().forward_pooled(x)


@pytest.fixture
def images(tmp_path):
    rng = np.random.default_rng(0)
    paths = []
    for i in range(10):
        p = tmp_path / "data" / f"c{i % 2}" / f"img{i:02d}.png"
        p.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(rng.integers(0, 255, (32, 40, 3), dtype=np.uint8)).save(p)
        paths.append(str(p))
    return paths


def _reference(paths, transform):
    bb = CountingTiny().eval()
    with torch.no_grad():
        return bb.forward_pooled(torch.stack([transform(load_image_rgb(p)) for p in paths]))


def _cache(tmp_path, shard_size=4):
    return FeatureCache(tmp_path / "cache", shard_size=shard_size)


def test_features_equal_a_plain_forward_pass_and_come_back_from_disk(images, tmp_path):
    transform = eval_transform(TinyBackbone().data_config)
    cache = _cache(tmp_path)
    asked = [images[7], images[2], images[7], *images]  # any order, repeats allowed
    first = cache.features(CountingTiny(), asked, transform, batch_size=3)
    torch.testing.assert_close(first.features, _reference(asked, transform))
    assert first.extracted == 10  # each distinct file once
    bb = CountingTiny()
    again = cache.features(bb, asked, transform)
    assert again.extracted == 0 and bb.seen == 0
    assert torch.equal(again.features, first.features)
    assert sorted(p.name for p in first.entry.iterdir() if not p.name.startswith(".")) == [
        "manifest.json",
        "shard-00000.safetensors",
        "shard-00001.safetensors",
        "shard-00002.safetensors",
    ]


def test_key_changes_with_data_transform_and_weights(images, tmp_path):
    transform = eval_transform(TinyBackbone().data_config)
    cache = _cache(tmp_path)
    base = cache.features(CountingTiny(), images, transform)
    st = os.stat(images[0])
    os.utime(images[0], ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))
    touched = cache.features(CountingTiny(), images, transform)
    assert touched.key != base.key and touched.extracted == 10
    resized = cache.features(CountingTiny(), images, eval_transform(TinyBackbone().data_config, 48))
    assert resized.key not in (base.key, touched.key) and resized.extracted == 10
    changed = CountingTiny()
    with torch.no_grad():
        changed.blocks[0][0].weight[0, 0, 0, 0] += 1.0
    other = cache.features(changed, images, transform)
    assert other.key not in (base.key, touched.key, resized.key) and other.extracted == 10


def test_interrupted_extraction_resumes_from_whole_shards(images, tmp_path):
    transform = eval_transform(TinyBackbone().data_config)
    cache = _cache(tmp_path, shard_size=4)
    with pytest.raises(KeyboardInterrupt):  # killed in the third shard: two shards on disk
        cache.features(CountingTiny(fail_at=2), images, transform, batch_size=4)
    entry = next(p for p in cache.root.iterdir() if p.is_dir())
    assert not (entry / "manifest.json").exists()
    assert sorted(p.name for p in entry.glob("shard-*")) == [
        "shard-00000.safetensors",
        "shard-00001.safetensors",
    ]
    bb = CountingTiny()
    rerun = cache.features(bb, images, transform, batch_size=4)
    assert rerun.extracted == 2 and bb.seen == 2  # only the missing shard (files 8 and 9)
    torch.testing.assert_close(rerun.features, _reference(images, transform))


@pytest.mark.parametrize("damage", ["truncate", "garbage", "other_entry"])
def test_a_damaged_shard_is_rebuilt_not_read(images, tmp_path, damage):
    transform = eval_transform(TinyBackbone().data_config)
    cache = _cache(tmp_path, shard_size=4)
    first = cache.features(CountingTiny(), images, transform)
    shard = first.entry / "shard-00001.safetensors"
    if damage == "truncate":
        shard.write_bytes(shard.read_bytes()[:-7])
    elif damage == "garbage":
        shard.write_bytes(os.urandom(300))
    else:  # a whole, valid shard whose metadata says it belongs to another slice
        shard.write_bytes((first.entry / "shard-00000.safetensors").read_bytes())
    bb = CountingTiny()
    again = cache.features(bb, images, transform)
    assert bb.seen == 4  # the damaged shard only
    torch.testing.assert_close(again.features, _reference(images, transform))


def test_concurrent_runs_extract_once_and_agree(images, tmp_path):
    transform = eval_transform(TinyBackbone().data_config)
    backbones = [CountingTiny(), CountingTiny()]
    results = [None, None]

    def work(i):
        results[i] = _cache(tmp_path).features(backbones[i], images, transform, batch_size=2)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(r.extracted for r in results) == [0, 10]
    assert torch.equal(results[0].features, results[1].features)


def test_unwritable_cache_folder_is_a_clear_error(tmp_path):
    blocker = tmp_path / "a_file"
    blocker.write_text("x")
    with pytest.raises(ConfigError, match="not writable") as e:
        FeatureCache(blocker / "features")
    assert str(blocker / "features") in e.value.message
    assert "--cache-dir" in e.value.hint


def test_location_entries_and_clear(images, tmp_path, monkeypatch):
    monkeypatch.setenv("TRANSFERKIT_CACHE_DIR", str(tmp_path / "env_cache"))
    assert default_cache_dir() == tmp_path / "env_cache"
    monkeypatch.delenv("TRANSFERKIT_CACHE_DIR")
    monkeypatch.delenv("TRANSFERKIT_HOME")  # the home folder now governs the cache too
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert default_cache_dir() == tmp_path / "xdg" / "transferkit" / "features"
    cache = _cache(tmp_path)
    cache.features(CountingTiny(), images, eval_transform(TinyBackbone().data_config))
    [row] = cache.entries()
    assert row["complete"] and row["images"] == 10 and row["dim"] == 32 and row["bytes"] > 1280
    assert row["data_root"] == str((tmp_path / "data").resolve())
    assert cache.clear() == (1, row["bytes"])
    assert cache.entries() == []


def test_cli_cache_info_and_clear(images, tmp_path, capsys):
    from transferkit.cli.main import main

    cache = _cache(tmp_path)
    cache.features(CountingTiny(), images, eval_transform(TinyBackbone().data_config))
    assert main(["cache", "info", "--cache-dir", str(cache.root)]) == 0
    out = capsys.readouterr().out
    assert "tiny" in out and "1 entries" in out
    assert main(["cache", "clear", "--cache-dir", str(cache.root)]) == 0
    assert "removed 1 entries" in capsys.readouterr().out
    assert cache.entries() == []
    blocker = tmp_path / "file"
    blocker.write_text("")
    assert main(["cache", "info", "--cache-dir", str(blocker / "x")]) == 2
    assert "not writable" in capsys.readouterr().err


_CHILD = """
import sys, time, torch
sys.path.insert(0, {root!r})
from tests.transfer.test_cache import CountingTiny
from transferkit.data.transforms.classify import eval_transform
from transferkit.transfer.features import FeatureCache

class Slow(CountingTiny):
    def forward_pooled(self, x):
        time.sleep(0.3)  # slow enough to be killed between (or during) shard writes
        return super().forward_pooled(x)

Slow.__qualname__ = CountingTiny.__qualname__  # same cache key as the rerun below
Slow.__module__ = CountingTiny.__module__
paths = {paths!r}
FeatureCache({cache!r}, shard_size=2).features(
    Slow(), paths, eval_transform(Slow().data_config), batch_size=2, progress=False)
"""


def test_extraction_killed_with_sigkill_then_rerun_reads_no_garbage(images, tmp_path):
    import signal
    import subprocess
    import sys
    import time
    from pathlib import Path

    root = str(Path(__file__).resolve().parents[2])
    cache_dir = tmp_path / "cache"
    code = _CHILD.format(root=root, paths=images, cache=str(cache_dir))
    child = subprocess.Popen([sys.executable, "-c", code])
    deadline = time.monotonic() + 120
    while not list(cache_dir.glob("*/shard-00001.safetensors")):
        assert child.poll() is None and time.monotonic() < deadline, "child never wrote shards"
        time.sleep(0.05)
    child.send_signal(signal.SIGKILL)
    child.wait()
    entry = next(p for p in cache_dir.iterdir() if p.is_dir())
    assert not (entry / "manifest.json").exists()
    done = len(list(entry.glob("shard-*.safetensors")))
    assert 2 <= done < 5

    transform = eval_transform(TinyBackbone().data_config)
    bb = CountingTiny()
    again = FeatureCache(cache_dir, shard_size=2).features(bb, images, transform, batch_size=2)
    assert bb.seen == 10 - 2 * done  # whole shards kept, the rest extracted
    torch.testing.assert_close(again.features, _reference(images, transform))
    assert not list(entry.glob(".*.tmp"))  # a temp file left by the kill is cleaned up


def test_odd_file_names_and_vanished_files(images, tmp_path):
    from transferkit.core.errors import DatasetError

    odd = tmp_path / "data" / "c0" / "a|1|2.png"
    Image.open(images[0]).save(odd)
    transform = eval_transform(TinyBackbone().data_config)
    got = _cache(tmp_path).features(CountingTiny(), [str(odd), images[1]], transform)
    torch.testing.assert_close(got.features, _reference([str(odd), images[1]], transform))
    with pytest.raises(DatasetError, match="gone.png"):
        _cache(tmp_path).features(CountingTiny(), [str(tmp_path / "gone.png")], transform)
