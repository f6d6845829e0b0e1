"""Offline-first weight resolution and the local weight store."""

from __future__ import annotations

import collections
import os

import pytest
import torch

from transferkit.core.errors import WeightsMismatchError, WeightsUnavailableError
from transferkit.zoo import create_backbone
from transferkit.zoo.sources.torchvision import tv_weights_enum
from transferkit.zoo.weights import store
from transferkit.zoo.weights.caches import hub_checkpoints_dir

NAME = "tv:resnet18"


class NotAStateDict:
    """A pickled object that only arbitrary unpickling could rebuild."""


@pytest.fixture(autouse=True)
def _empty_torch_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))


@pytest.fixture(scope="module")
def resnet18_state():
    """A full tv:resnet18 state dict (random values, classifier included)."""
    torch.manual_seed(0)
    model = create_backbone(NAME, weights="none", keep_source_head=True).model
    return {k: v.clone() for k, v in model.state_dict().items()}


def save(state, path):
    torch.save(state, path)
    return path


def test_add_then_auto_loads_from_store(resnet18_state, tmp_path):
    entry = store.add("resnet18", save(resnet18_state, tmp_path / "r18.pth"), licence="MIT")
    assert entry.name == NAME and entry.has_source_head and entry.licence == "MIT"
    assert entry.file.endswith(".safetensors") and os.environ["TRANSFERKIT_HOME"] in entry.file
    assert [e.name for e in store.list_entries()] == [NAME]
    backbone = create_backbone("resnet18")
    assert backbone.weights_info["source"] == "store"
    assert backbone.weights_info["sha256"] == entry.sha256
    torch.testing.assert_close(backbone.model.conv1.weight, resnet18_state["conv1.weight"])
    torch.testing.assert_close(
        backbone.model.layer4[1].bn2.running_var, resnet18_state["layer4.1.bn2.running_var"]
    )


def test_add_accepts_wrapped_and_ddp_prefixed_checkpoints(resnet18_state, tmp_path):
    wrapped = {"state_dict": {f"module.{k}": v for k, v in resnet18_state.items()}, "epoch": 3}
    entry = store.add(NAME, save(wrapped, tmp_path / "ckpt.pt"))
    assert entry.parameters == sum(
        v.numel() for k, v in resnet18_state.items() if "num_batches" not in k
    )


def test_add_without_classifier_then_keep_source_head_refused(resnet18_state, tmp_path):
    trunk = {k: v for k, v in resnet18_state.items() if not k.startswith("fc.")}
    entry = store.add(NAME, save(trunk, tmp_path / "trunk.pth"))
    assert not entry.has_source_head
    assert create_backbone(NAME).weights_info["source"] == "store"
    with pytest.raises(WeightsMismatchError, match="no pretraining classifier"):
        create_backbone(NAME, keep_source_head=True)


def test_add_refuses_other_architecture(tmp_path):
    other = create_backbone("tv:resnet34", weights="none", keep_source_head=True).model.state_dict()
    with pytest.raises(WeightsMismatchError) as info:
        store.add(NAME, save(other, tmp_path / "r34.pth"))
    message = str(info.value)
    assert "r34.pth" in message and "tv:resnet18" in message and "unexpected: layer1.2." in message
    assert store.list_entries() == [] and not store.store_dir().exists()


def test_add_refuses_wrong_shapes(resnet18_state, tmp_path):
    bad = dict(resnet18_state, **{"fc.weight": torch.zeros(10, 512), "fc.bias": torch.zeros(10)})
    with pytest.raises(WeightsMismatchError, match=r"2 shape: fc.bias \(10,\) vs \(1000,\)"):
        store.add(NAME, save(bad, tmp_path / "bad.pth"))


def test_arbitrary_pickles_are_refused(tmp_path):
    path = tmp_path / "evil.pth"
    torch.save({"conv1.weight": torch.zeros(1), "obj": NotAStateDict()}, path)
    with pytest.raises(WeightsMismatchError, match="cannot be read as a plain state dict"):
        store.add(NAME, path)
    torch.save(collections.OrderedDict(), tmp_path / "empty.pth")
    with pytest.raises(WeightsMismatchError, match="not a state dict"):
        store.add(NAME, tmp_path / "empty.pth")


def test_changed_store_file_is_detected(resnet18_state, tmp_path):
    entry = store.add(NAME, save(resnet18_state, tmp_path / "r18.pth"))
    with open(entry.file, "r+b") as f:  # flip one byte near the end (tensor data)
        f.seek(-1, 2)
        last = f.read(1)
        f.seek(-1, 2)
        f.write(bytes([last[0] ^ 0xFF]))
    with pytest.raises(WeightsMismatchError, match="changed since they were added"):
        create_backbone(NAME)


def test_missing_weights_name_paths_and_commands(monkeypatch):
    monkeypatch.setenv("TRANSFERKIT_ALLOW_DOWNLOAD", "1")  # the explicit argument wins
    with pytest.raises(WeightsUnavailableError) as info:
        create_backbone("resnet18", allow_download=False)
    err = info.value
    assert isinstance(err, FileNotFoundError)
    assert str(store.entry_path(NAME)) in err.message
    assert str(hub_checkpoints_dir() / "resnet18-f37072fd.pth") in err.message
    assert "downloads are off" in err.message
    assert "transferkit weights add resnet18 FILE" in err.hint and "--weights none" in err.hint


def test_downloads_are_off_by_default():
    with pytest.raises(WeightsUnavailableError, match="downloads are off"):
        create_backbone("timm:resnet18.a1_in1k")


def test_torch_hub_cache_is_used_offline(resnet18_state):
    url_name = os.path.basename(tv_weights_enum("resnet18").url)
    path = hub_checkpoints_dir() / url_name
    path.parent.mkdir(parents=True)
    torch.save(resnet18_state, path)
    backbone = create_backbone("resnet18")
    assert backbone.weights_info["source"] == "torch hub cache"
    assert backbone.weights_info["file"] == str(path)
    assert backbone.weights_info["pretraining_data"] == "torchvision IMAGENET1K_V1"
    torch.testing.assert_close(backbone.model.conv1.weight, resnet18_state["conv1.weight"])


def test_explicit_file_and_none(resnet18_state, tmp_path):
    path = save(resnet18_state, tmp_path / "mine.pth")
    backbone = create_backbone("resnet18", weights=path)
    assert backbone.weights_info["source"] == "file" and backbone.weights_info["file"] == str(path)
    assert create_backbone("resnet18", weights="none").weights_info is None
    with pytest.raises(WeightsUnavailableError, match="does not exist"):
        create_backbone("resnet18", weights=tmp_path / "nope.pth")


def test_builtin_layout_is_converted_on_add():
    """The package's EfficientNet-PyTorch file can be stored under its timm name."""
    from transferkit.zoo.weights.builtin import BUILTIN_WEIGHTS

    spec = BUILTIN_WEIGHTS["timm:tf_efficientnet_lite0.in1k"]
    entry = store.add("efficientnet_lite0", spec.path())
    assert entry.has_source_head and entry.original_sha256 == spec.sha256
    assert create_backbone("efficientnet_lite0").weights_info["source"] == "store"


def test_hugging_face_cache_is_used_offline(tmp_path, monkeypatch):
    """A timm file already in the Hugging Face cache is loaded by timm's own loader."""
    from safetensors.torch import save_file

    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hf"))
    torch.manual_seed(1)
    state = create_backbone("timm:mobilenetv3_small_050", weights="none", keep_source_head=True)
    state = {k: v.clone().contiguous() for k, v in state.model.state_dict().items()}
    repo = tmp_path / "hf" / "models--timm--mobilenetv3_small_050.lamb_in1k"
    (repo / "refs").mkdir(parents=True)
    (repo / "refs" / "main").write_text("0" * 40)
    snapshot = repo / "snapshots" / ("0" * 40)
    snapshot.mkdir(parents=True)
    save_file(state, str(snapshot / "model.safetensors"))

    backbone = create_backbone("timm:mobilenetv3_small_050")
    info = backbone.weights_info
    assert info["source"] == "hf cache" and info["file"] == str(snapshot / "model.safetensors")
    assert info["licence"] == "apache-2.0" and info["pretraining_data"] == "timm tag lamb_in1k"
    torch.testing.assert_close(backbone.model.conv_stem.weight, state["conv_stem.weight"])
