"""Image verification remembered per file: a second run does not decode unchanged images."""

from __future__ import annotations

import os

import pytest
from PIL import Image

import transferkit.data.verified as verified
from transferkit.core.errors import DatasetError
from transferkit.data.datasets.classification import load_classification_data


def _folder(root, per_class=3):
    for c, colour in (("red", (200, 0, 0)), ("blue", (0, 0, 200))):
        (root / c).mkdir(parents=True)
        for i in range(per_class):
            Image.new("RGB", (16 + i, 12), colour).save(root / c / f"{i}.png")
    return root


@pytest.fixture
def decodes(monkeypatch):
    """The paths decoded by verification, in any order."""
    seen: list[str] = []
    real = verified.inspect_image

    def counting(path):
        seen.append(str(path))
        return real(path)

    monkeypatch.setattr(verified, "inspect_image", counting)
    return seen


def test_second_run_decodes_nothing_and_a_changed_file_again(tmp_path, decodes):
    data = _folder(tmp_path / "data")
    first = load_classification_data(data)
    assert len(decodes) == 6
    decodes.clear()
    second = load_classification_data(data)
    assert decodes == []
    assert second.summary["image_size"] == first.summary["image_size"]

    changed = data / "red" / "0.png"
    Image.new("RGB", (40, 30), (210, 0, 0)).save(changed)  # new size and mtime
    third = load_classification_data(data)
    assert decodes == [str(changed)]
    assert third.summary["image_size"]["max_width"] == 40


def test_a_file_corrupted_after_a_clean_run_is_caught(tmp_path, decodes):
    data = _folder(tmp_path / "data")
    load_classification_data(data)
    bad = data / "blue" / "1.png"
    st = os.stat(bad)
    # Truncate it, keep its size (zero padding) and even its modification time: only the ctime
    # would tell; size or mtime must differ for the memory to notice, so move mtime by 1 ns.
    payload = bad.read_bytes()
    bad.write_bytes(payload[:40] + b"\0" * (len(payload) - 40))
    os.utime(bad, ns=(st.st_atime_ns, st.st_mtime_ns + 1))
    with pytest.raises(DatasetError, match="1.png"):
        load_classification_data(data)
    skipped = load_classification_data(data, on_bad_image="skip")
    assert [f["path"] for f in skipped.summary["skipped_files"]] == [str(bad)]
    with pytest.raises(DatasetError, match="1.png"):  # a bad file is never remembered as good
        load_classification_data(data)


def test_memory_is_only_a_cache(tmp_path, decodes):
    data = _folder(tmp_path / "data")
    load_classification_data(data)
    memory = verified.memory_file([str(p) for p in data.rglob("*.png")])
    assert memory.is_file()
    memory.write_text("{not json")
    decodes.clear()
    load_classification_data(data)
    assert len(decodes) == 6  # unreadable memory: everything decoded again, nothing fails


def test_large_jpegs_decode_at_reduced_scale_keeping_the_size_asked_for(tmp_path):
    import numpy as np

    from transferkit.data.images import load_image_rgb

    yy, xx = np.mgrid[0:480, 0:640]
    pixels = np.stack([xx % 256, yy % 256, (xx + yy) % 256], axis=-1).astype(np.uint8)
    Image.fromarray(pixels).save(tmp_path / "photo.jpg", quality=95)
    Image.fromarray(pixels).save(tmp_path / "photo.png")
    full = load_image_rgb(tmp_path / "photo.jpg")
    reduced = load_image_rgb(tmp_path / "photo.jpg", min_size=100)
    assert full.size == (640, 480)
    assert reduced.size == (160, 120)  # 1/4 scale: both sides still >= 100
    assert load_image_rgb(tmp_path / "photo.jpg", min_size=300).size == (640, 480)
    assert load_image_rgb(tmp_path / "photo.png", min_size=100).size == (640, 480)
    # The reduced decode is a downscale of the same picture, not another one.
    shrunk = np.asarray(full.resize(reduced.size, Image.BOX), dtype=np.float32)
    assert np.abs(np.asarray(reduced, dtype=np.float32) - shrunk).mean() < 8
