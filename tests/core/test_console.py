"""core.console: one logger, rank-zero only, streams looked up at call time."""

from __future__ import annotations

import pytest

from transferkit.core import console


@pytest.fixture(autouse=True)
def _rank_from_env(monkeypatch):
    monkeypatch.setattr(console, "_rank", None)
    monkeypatch.delenv("RANK", raising=False)
    monkeypatch.delenv("LOCAL_RANK", raising=False)


def test_info_and_warn_go_to_stdout_and_stderr(capsys):
    console.info("hello")
    console.warn("careful")
    out, err = capsys.readouterr()
    assert out == "hello\n" and err == "careful\n"


def test_file_descriptor_capture_sees_it(capfd):
    console.info("through the fd")
    assert capfd.readouterr().out == "through the fd\n"


def test_nonzero_rank_from_the_environment_prints_nothing(capsys, monkeypatch):
    monkeypatch.setenv("RANK", "1")
    assert not console.is_main()
    console.info("hello")
    console.warn("careful")
    assert capsys.readouterr() == ("", "")


def test_set_rank_overrides_the_environment(capsys, monkeypatch):
    monkeypatch.setenv("RANK", "0")
    console.set_rank(3)
    console.info("hidden")
    assert capsys.readouterr().out == ""
    console.set_rank(None)
    console.info("shown")
    assert capsys.readouterr().out == "shown\n"
