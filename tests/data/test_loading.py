"""The data path: workers and the decoded-image cache give the same batches as without them."""

from __future__ import annotations

import pytest
import torch

from tests.engine.conftest import make_image_folder
from transferkit.core.config import RunConfig
from transferkit.core.errors import ConfigError
from transferkit.data.datasets.classification import load_classification_data
from transferkit.data.loading import cache_images, make_loader, resolve_workers
from transferkit.data.transforms.classify import train_transform
from transferkit.zoo.backbone import DataConfig


def _batches(dataset, workers: int, epochs: int = 2) -> list[tuple[torch.Tensor, torch.Tensor]]:
    torch.manual_seed(0)
    loader = make_loader(dataset, 5, shuffle=True, num_workers=workers)
    return [(x.clone(), y.clone()) for _ in range(epochs) for x, y in loader]


def test_workers_and_the_image_cache_give_the_same_batches(tmp_path):
    data = make_image_folder(tmp_path / "data", per_class=4, size=24)
    config = DataConfig(mean=(0.5,) * 3, std=(0.5,) * 3, input_size=(3, 16, 16))
    augment = train_transform(config, 16, jitter=0.3)  # random crops, flips and colour jitter

    def train_split():
        return load_classification_data(data, train_transform=augment).train

    plain = _batches(train_split(), 0)
    assert len(plain) == 2 * 2  # 9 train images, batches of 5, two epochs
    assert not torch.equal(plain[0][0], plain[2][0])  # epochs differ: augmentation is random
    with_workers = _batches(train_split(), 2)
    cached = train_split()
    messages: list[str] = []
    cache_images([cached], "ram", messages.append)
    assert cached.decoded is not None and "image cache: 9 decoded images" in messages[0]
    for got in (with_workers, _batches(cached, 0), _batches(cached, 2)):
        assert len(got) == len(plain)
        for (x, y), (x0, y0) in zip(got, plain, strict=True):
            assert torch.equal(y, y0) and torch.equal(x, x0)


def test_auto_cache_leaves_out_what_does_not_fit(tmp_path, monkeypatch):
    import transferkit.data.loading as loading

    data = make_image_folder(tmp_path / "data", per_class=4, size=24)
    train = load_classification_data(data).train
    monkeypatch.setattr(loading, "auto_cache_budget", lambda: 24 * 24 * 3 * 3)  # three images
    messages: list[str] = []
    cache_images([train], "auto", messages.append)
    assert train.decoded is None and "left out" in messages[0]
    cache_images([train], "none", messages.append)
    assert train.decoded is None and len(messages) == 1


def test_num_workers_auto_and_its_checks(monkeypatch):
    import transferkit.data.loading as loading

    monkeypatch.setattr(loading.os, "sched_getaffinity", lambda pid: {0, 1, 2, 3}, raising=False)
    assert resolve_workers("auto") == 3  # the cores less the training process
    monkeypatch.setattr(loading.os, "sched_getaffinity", lambda pid: set(range(64)), raising=False)
    assert resolve_workers("auto") == loading.MAX_WORKERS
    monkeypatch.setattr(loading.sys, "platform", "win32")
    assert resolve_workers("auto") == 0
    assert resolve_workers(2) == 2
    assert RunConfig().train.num_workers == "auto"
    for bad in (-1, "many", 1.5):
        with pytest.raises(ConfigError, match="num_workers"):
            RunConfig().with_values(num_workers=bad)


def test_persistent_workers_stop_when_released(tmp_path):
    import multiprocessing

    from transferkit.data.loading import release_workers

    data = make_image_folder(tmp_path / "data", per_class=2, size=16)
    loader = make_loader(load_classification_data(data).train, 2, shuffle=False, num_workers=1)
    for _ in range(2):
        assert sum(len(y) for _, y in loader) == 3  # 4 images, 1 held out for val
    assert multiprocessing.active_children()  # kept across epochs
    release_workers(loader)
    assert not multiprocessing.active_children()
