"""The built-in demo data set: a small, balanced subset of Fashion-MNIST.

The package ships ``demo_files/fashion_mnist_subset.npz`` (28x28 uint8 images, labels, split and the
index of each image in the original files) and the data's MIT licence notice next to it.
:func:`materialize_fashion_mnist` writes it out as an image folder (``train/``, ``val/``, ``test/``,
one sub-folder of PNGs per class) that the ordinary classification reader loads.
:func:`build_fashion_mnist_npz` rebuilds the ``.npz`` from the original IDX files,
deterministically.

Train and val images come from the original training set (disjoint), test images from the original
test set, so held-out accuracy is measured on images the Fashion-MNIST authors held out too.
"""

from __future__ import annotations

import gzip
import shutil
import tempfile
from importlib import resources
from pathlib import Path

import numpy as np
from PIL import Image

from transferkit.core.errors import ConfigError, DatasetError
from transferkit.core.fileio import atomic_write, read_json, write_json

# Label order of the original data (its README).
FASHION_MNIST_CLASSES = (
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
)
NPZ_NAME = "fashion_mnist_subset.npz"
LICENCE_NAME = "FASHION_MNIST_LICENSE.txt"
# Images per class stored in the package, per split: the most materialize can write.
STORED_PER_CLASS = {"train": 80, "val": 25, "test": 40}
# What the demo uses by default: small enough that three fine-tuning runs of efficientnet_lite0 at
# 64-96 px fit in a few minutes on 2 CPU cores, large enough that pretrained beats random init.
DEMO_PER_CLASS = {"train": 40, "val": 15, "test": 25}
_SPLIT_CODES = {"train": 0, "val": 1, "test": 2}
_MANIFEST = ".transferkit-demo.json"


def class_folder_name(name: str) -> str:
    """Folder name of a class: the README name with ``/`` and spaces made file-system safe."""
    return name.replace("/", "-").replace(" ", "_")


def demo_file(name: str) -> Path:
    """Path of a file shipped in ``transferkit/data/demo_files``."""
    return Path(str(resources.files("transferkit.data") / "demo_files" / name))


def materialize_fashion_mnist(dest: str | Path, per_class: dict[str, int] | None = None) -> Path:
    """Write the demo subset under ``dest`` as ``train/``, ``val/``, ``test/`` folders of PNGs.

    ``per_class`` gives images per class for each split (default :data:`DEMO_PER_CLASS`; at most
    :data:`STORED_PER_CLASS`). The licence notice is copied to ``dest``. A ``dest`` already
    materialised with the same sizes is reused as it is; any other non-empty ``dest`` is refused.
    The folder appears complete or not at all (it is written next to ``dest``, then renamed).
    Returns ``dest``.
    """
    per_class = dict(DEMO_PER_CLASS if per_class is None else per_class)
    _check_per_class(per_class)
    dest = Path(dest).expanduser().absolute()
    manifest = {"dataset": "fashion-mnist-subset", "per_class": per_class}
    if dest.exists():
        marker = dest / _MANIFEST
        if marker.is_file() and read_json(marker) == manifest:
            return dest
        if dest.is_file() or any(dest.iterdir()):
            raise DatasetError(
                f"{dest} exists and is not an empty folder nor a demo folder of the same sizes",
                hint="pass another --out folder, or delete this one",
            )
        dest.rmdir()
    data = load_subset()
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{dest.name}.", dir=dest.parent))
    tmp.chmod(0o755)  # mkdtemp makes it private; the data set is not
    try:
        for split, count in per_class.items():
            in_split = data["split"] == _SPLIT_CODES[split]
            for label, name in enumerate(FASHION_MNIST_CLASSES):
                folder = tmp / split / class_folder_name(name)
                folder.mkdir(parents=True)
                idx = np.flatnonzero(in_split & (data["labels"] == label))[:count]
                for i in idx:
                    # File names carry the original index, so a file traces back to its source.
                    Image.fromarray(data["images"][i]).save(
                        folder / f"{int(data['source_index'][i]):05d}.png"
                    )
        shutil.copyfile(demo_file(LICENCE_NAME), tmp / LICENCE_NAME)
        write_json(tmp / _MANIFEST, manifest)
        tmp.rename(dest)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return dest


def load_subset(path: str | Path | None = None) -> dict[str, np.ndarray]:
    """The stored subset as arrays: ``images`` (N, 28, 28) uint8, ``labels``, ``split``,
    ``source_index`` and ``class_names``."""
    path = demo_file(NPZ_NAME) if path is None else Path(path)
    if not path.is_file():
        raise DatasetError(
            f"demo data file missing: {path}",
            hint="reinstall transferkit, or rebuild it with build_fashion_mnist_npz",
        )
    with np.load(path, allow_pickle=False) as z:
        return {k: z[k] for k in z.files}


def build_fashion_mnist_npz(
    idx_dir: str | Path,
    out: str | Path,
    per_class: dict[str, int] | None = None,
    seed: int = 0,
) -> Path:
    """Rebuild the subset ``.npz`` from the Fashion-MNIST IDX files (``*-ubyte.gz``) in ``idx_dir``.

    For each class, ``per_class["train"] + per_class["val"]`` distinct images are drawn from the
    original training set and ``per_class["test"]`` from the original test set, with a generator
    seeded by ``seed``: the same inputs always give the same arrays.
    """
    per_class = dict(STORED_PER_CLASS if per_class is None else per_class)
    idx_dir = Path(idx_dir)
    rng = np.random.default_rng(seed)
    parts = []
    for source, splits in (("train", ("train", "val")), ("t10k", ("test",))):
        images = read_idx(idx_dir / f"{source}-images-idx3-ubyte.gz")
        labels = read_idx(idx_dir / f"{source}-labels-idx1-ubyte.gz")
        for label in range(len(FASHION_MNIST_CLASSES)):
            pool = np.flatnonzero(labels == label)
            drawn = rng.choice(pool, size=sum(per_class[s] for s in splits), replace=False)
            start = 0
            for split in splits:
                take = drawn[start : start + per_class[split]]
                start += per_class[split]
                parts.append((images[take], labels[take], _SPLIT_CODES[split], take))
    arrays = {
        "images": np.concatenate([p[0] for p in parts]).astype(np.uint8),
        "labels": np.concatenate([p[1] for p in parts]).astype(np.uint8),
        "split": np.concatenate([np.full(len(p[1]), p[2], np.uint8) for p in parts]),
        "source_index": np.concatenate([p[3] for p in parts]).astype(np.int32),
        "class_names": np.array(FASHION_MNIST_CLASSES),
    }
    return atomic_write(out, lambda p: _savez(p, arrays))


def read_idx(path: str | Path) -> np.ndarray:
    """Read a (gzipped) IDX file of unsigned bytes into an array of its declared shape."""
    path = Path(path)
    if not path.is_file():
        raise DatasetError(
            f"IDX file not found: {path}",
            hint="point idx_dir at the folder with the Fashion-MNIST *-ubyte.gz files",
        )
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as f:
        raw = f.read()
    magic = int.from_bytes(raw[:4], "big")
    if magic >> 8 != 0x08 or raw[0] or raw[1]:  # 0x0008_NN: unsigned bytes, NN dimensions
        raise DatasetError(f"{path} is not an IDX file of unsigned bytes (magic {magic:#010x})")
    ndim = magic & 0xFF
    shape = tuple(int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    data = np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim)
    if data.size != int(np.prod(shape)):
        raise DatasetError(f"{path}: header says shape {shape}, but holds {data.size} values")
    return data.reshape(shape)


def _savez(path: Path, arrays: dict[str, np.ndarray]) -> None:
    with open(path, "wb") as f:
        np.savez_compressed(f, **arrays)


def _check_per_class(per_class: dict[str, int]) -> None:
    for split, count in per_class.items():
        if split not in STORED_PER_CLASS:
            raise ConfigError(
                f"unknown split {split!r} in per_class; valid: {', '.join(STORED_PER_CLASS)}",
                hint="pass e.g. per_class={'train': 40, 'val': 15, 'test': 25}",
            )
        limit = STORED_PER_CLASS[split]
        if not isinstance(count, int) or not 0 < count <= limit:
            raise ConfigError(
                f"per_class[{split!r}] must be an integer from 1 to {limit} (images stored per "
                f"class), got {count!r}",
                hint=f"pass a value up to {limit}",
            )
    for split in ("train", "val"):
        if split not in per_class:
            raise ConfigError(
                f"per_class needs a {split!r} count, got {per_class}",
                hint="pass e.g. per_class={'train': 40, 'val': 15, 'test': 25}",
            )
