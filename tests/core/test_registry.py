"""The registry every extension axis uses: lazy entries, duplicates refused, did-you-mean."""

from __future__ import annotations

import sys

import pytest

from transferkit.core.errors import ConfigError
from transferkit.core.registry import Registry


def test_lazy_entry_is_imported_on_first_get_only():
    reg = Registry("format")
    reg.register("json", "json:dumps")
    sys.modules.pop("colorsys", None)
    reg.register("colours", "colorsys:rgb_to_hsv")
    assert reg.names() == ["json", "colours"]
    assert "colorsys" not in sys.modules
    assert reg.get("colours").__name__ == "rgb_to_hsv"
    assert "colorsys" in sys.modules


def test_duplicate_registration_raises():
    reg = Registry("task")
    reg.register("classify", object())
    with pytest.raises(ConfigError, match="task 'classify' is registered twice"):
        reg.register("classify", object())


def test_unknown_name_gets_did_you_mean_and_the_valid_names():
    reg = Registry("task")
    for name in ("classify", "detect", "segment"):
        reg.register(name, name)
    with pytest.raises(ConfigError, match="Did you mean 'detect'") as e:
        reg.get("detec")
    assert e.value.hint == "valid tasks: classify, detect, segment"
    assert "detect" in reg and "detec" not in reg
