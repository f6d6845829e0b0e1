"""Fixtures for segmentation tests."""

from __future__ import annotations

import pytest

from tests.segment.helpers import tiny_backbone


@pytest.fixture
def make_backbone():
    """Factory of tiny random-init backbones: ``make_backbone("mobilenetv3_small_050")``."""
    return tiny_backbone
