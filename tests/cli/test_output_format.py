"""Tables that read well: durations with their unit, counts with separators, paths under the table
instead of folded inside it; the same rules in the report (``core.display``)."""

from __future__ import annotations

from transferkit.cli.common import print_table
from transferkit.core.display import cell, number, seconds


def test_durations_counts_and_scores():
    assert seconds(117.6) == "117.6 s" and seconds(7) == "7.0 s"
    assert seconds(750) == "12.5 min" and seconds(None) == ""
    assert cell("seconds", 117.6) == "117.6 s" and cell("train_seconds", 3.25) == "3.2 s"
    assert cell("accuracy", 0.75612) == "0.7561" and number(1234567) == "1,234,567"
    assert number(True) == "yes" and number(None) == ""


def test_paths_go_under_the_table_whole(capsys):
    path = "/a/rather/long/folder/name/that/would/not/fit/in/a/narrow/column/pretrained-head"
    rows = [["pretrained", 0.756, 117.6, path], ["random", 0.41, 98.25, path + "-2"]]
    print_table("demo", ["run", "accuracy", "seconds", "run_dir"], rows, below=("run_dir",))
    out = capsys.readouterr().out
    table, _, after = out.partition("run_dir:")
    assert "117.6 s" in table and "98.2 s" in table and "0.7560" in table
    assert "/a/rather" not in table  # the path is not in (nor folded into) the table
    assert f"  pretrained: {path}\n" in after and f"  random: {path}-2\n" in after
