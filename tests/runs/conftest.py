"""The run-directory tests use the engine tests' tiny data set and tiny backbone."""

from tests.engine.conftest import tiny_zoo  # noqa: F401  (a fixture, found by name)
