"""Feeding the loop: worker count from the machine, batches that do not depend on it, and an
in-memory cache of decoded images.

* ``num_workers`` ``"auto"`` is what the machine has (usable cores less one for the training
  process, at most :data:`MAX_WORKERS`), and 0 where worker processes cost more than they give:
  Windows, and interactive sessions whose start method is not ``fork`` (a notebook on macOS cannot
  pickle what it defines). Workers persist across epochs.
* Every item is transformed under its own seed, drawn in the training process with the shuffle
  (:class:`SeededSampler`): random augmentation gives the same batches with any number of workers.
* ``cache_images`` keeps the decoded uint8 images (:func:`decode_into_memory`), so
  epochs after the first skip decoding; ``auto`` caches what fits :func:`auto_cache_budget`.
"""

from __future__ import annotations

import multiprocessing
import os
import sys
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset, Sampler

from transferkit.core.config import RunConfig
from transferkit.core.errors import ConfigError
from transferkit.data.images import load_image_rgb

MAX_WORKERS = 8
CACHE_CHOICES = ("auto", "ram", "none")
AUTO_CACHE_MAX = 4 << 30  # bytes; and at most a quarter of the memory available


def resolve_workers(value: int | str) -> int:
    """Worker processes for ``num_workers`` (an integer >= 0, or ``"auto"``)."""
    if value == "auto":
        if sys.platform == "win32":
            return 0
        interactive = not hasattr(sys.modules.get("__main__"), "__file__")
        if interactive and multiprocessing.get_start_method(allow_none=True) not in (None, "fork"):
            return 0
        try:
            cores = len(os.sched_getaffinity(0))
        except AttributeError:  # macOS
            cores = os.cpu_count() or 1
        return max(0, min(MAX_WORKERS, cores - 1))
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ConfigError(
            f"invalid num_workers {value!r}: expected an integer >= 0 or 'auto'",
            hint="pass e.g. --num-workers 4, or --num-workers auto",
        )
    return value


def auto_cache_budget() -> int:
    """Bytes ``cache_images="auto"`` may hold: a quarter of the available memory, at most 4 GiB."""
    try:
        available = os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        available = 0
    return min(AUTO_CACHE_MAX, available // 4)


class SeededSampler(Sampler):
    """Indices (shuffled or in order) each paired with a seed for its transform, all drawn from
    the training process's RNG at the start of each epoch."""

    def __init__(self, size: int, shuffle: bool):
        self.size, self.shuffle = size, shuffle

    def __len__(self) -> int:
        return self.size

    def __iter__(self) -> Iterator[tuple[int, int]]:
        order = torch.randperm(self.size) if self.shuffle else torch.arange(self.size)
        seeds = torch.randint(0, 2**62, (self.size,))
        return iter(zip(order.tolist(), seeds.tolist(), strict=True))


class SeededItems(Dataset):
    """``dataset[i]`` computed under the seed the sampler drew for it (the process's own RNG is
    left as it was)."""

    def __init__(self, dataset: Dataset):
        self.dataset = dataset

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, key: tuple[int, int]) -> Any:
        index, seed = key
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            return self.dataset[index]


def make_loader(
    dataset: Dataset,
    batch_size: int,
    *,
    shuffle: bool,
    num_workers: int,
    collate_fn: Callable | None = None,
    drop_last: bool = False,
) -> DataLoader:
    """A loader whose batches are the same for any ``num_workers`` (persistent when > 0)."""
    return DataLoader(
        SeededItems(dataset),
        batch_size=batch_size,
        sampler=SeededSampler(len(dataset), shuffle),
        num_workers=num_workers,
        persistent_workers=num_workers > 0,
        collate_fn=collate_fn,
        drop_last=drop_last,
        # The loader draws its workers' base seed once per iterator, which persistent workers
        # make once per run: from a generator of its own, so the process's RNG (the sampler's
        # source) advances the same with and without workers.
        generator=torch.Generator(),
    )


def release_workers(*loaders) -> None:
    """Stop the persistent worker processes of ``loaders`` now, not whenever the garbage
    collector frees them: a script that trains run after run would otherwise gather idle ones."""
    for loader in loaders:
        loader = getattr(loader, "_dataloader", loader)  # under Fabric's wrapper
        iterator = getattr(loader, "_iterator", None)
        if iterator is not None and hasattr(iterator, "_shutdown_workers"):
            iterator._shutdown_workers()
            loader._iterator = None


def decode_into_memory(dataset, budget: int | None) -> int | None:
    """Decode every image of ``dataset`` (``samples``, ``decode_size``) on threads into its
    ``decoded`` list; bytes held, or None (nothing kept) when they pass ``budget``."""
    paths = [p for p, _ in dataset.samples]
    pool = ThreadPoolExecutor(max_workers=min(MAX_WORKERS, os.cpu_count() or 1))
    arrays, total = [], 0
    try:
        decode = lambda p: np.asarray(load_image_rgb(p, dataset.decode_size))  # noqa: E731
        for array in pool.map(decode, paths):
            total += array.nbytes
            if budget is not None and total > budget:
                return None
            arrays.append(array)
    finally:
        pool.shutdown(wait=False, cancel_futures=True)
    dataset.decoded = arrays
    return total


def cache_images(datasets: list[Dataset | None], mode: str, log: Callable[[str], None]) -> None:
    """Keep the decoded images of ``datasets`` in memory (``mode`` ram), or those that fit
    :func:`auto_cache_budget` (auto); data sets without ``cache_images`` are left as they are."""
    if mode not in CACHE_CHOICES:
        raise ConfigError(f"invalid cache_images {mode!r}: expected one of {CACHE_CHOICES}")
    if mode == "none":
        return
    budget = auto_cache_budget() if mode == "auto" else None
    for dataset in datasets:
        if not hasattr(dataset, "decoded") or len(dataset) == 0:
            continue
        held = decode_into_memory(dataset, budget)
        if held is None:
            log(f"image cache: left out, the decoded images need more than {budget >> 20} MiB")
            return
        log(f"image cache: {len(dataset)} decoded images in memory ({held >> 20} MiB)")
        budget = None if budget is None else budget - held


def training_loaders(
    cfg: RunConfig, collate: Callable | None, splits, info: Callable[[str], None]
) -> tuple[DataLoader, DataLoader]:
    """Train (shuffled) and val loaders of a run: workers from the machine, images cached when
    asked (``--cache-images``), the same batches either way."""
    cache_images([splits.train, splits.val], cfg.data.cache_images, info)
    workers = resolve_workers(cfg.train.num_workers)
    size = cfg.train.batch_size
    kw = {"batch_size": size, "num_workers": workers, "collate_fn": collate}
    # A last batch of one image breaks BatchNorm in train mode (a head's or a decoder's): drop it
    # then, and only then; the image is drawn into another batch next epoch.
    single = len(splits.train) % size == 1 and len(splits.train) > 1
    train = make_loader(splits.train, shuffle=True, drop_last=single, **kw)
    return train, make_loader(splits.val, shuffle=False, **kw)
