"""A damaged record in the weight store is named and skipped (``weights list``) or refused with the
fix (resolution), never a crash."""

from __future__ import annotations

import json
from dataclasses import asdict

import pytest

from transferkit.cli.main import main
from transferkit.core.errors import WeightsUnavailableError
from transferkit.zoo.weights import store


def _record(name: str) -> dict:
    return asdict(
        store.StoreEntry(
            name=name, file=str(store.entry_path(name)), sha256="0" * 64, original_file="/x.pth",
            original_sha256="1" * 64, added="2024-01-01T00:00:00+00:00", architecture="ResNet",
            has_source_head=True, parameters=11,
        )
    )  # fmt: skip


def _write(name: str, text: str):
    path = store.entry_path(name).with_suffix(".json")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ('{"name": "tv:resnet50", "fi', "JSONDecodeError"),
        ('["a list"]', "not a mapping"),
        ('{"name": "tv:resnet50"}', "bad or missing: file, sha256"),
    ],
)
def test_weights_list_names_a_damaged_record_and_skips_it(capsys, text, why):
    _write("tv:resnet18", json.dumps(_record("tv:resnet18")))
    bad = _write("tv:resnet50", text)
    code = main(["weights", "list"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert "tv:resnet18" in captured.out
    assert "tv:resnet50" not in captured.out
    assert f"warning: weight store record {bad} is damaged ({why}" in captured.err
    assert "then add the weights again with `transferkit weights add" in captured.err
    assert "Traceback" not in captured.err


def test_a_damaged_record_of_the_weights_asked_for_is_refused_with_the_fix():
    bad = _write("tv:resnet50", '{"name": 3}')
    with pytest.raises(WeightsUnavailableError, match=f"weight store record {bad} is damaged") as e:
        store.find("tv:resnet50")
    assert "transferkit weights add tv:resnet50 FILE" in e.value.hint


def test_a_wrongly_typed_field_is_damage():
    record = _record("tv:resnet18")
    record["parameters"] = "eleven"
    _write("tv:resnet18", json.dumps(record))
    assert store.list_entries() == []
    with pytest.raises(WeightsUnavailableError, match="bad or missing: parameters"):
        store.find("tv:resnet18")
