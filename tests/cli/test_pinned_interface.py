"""The user-facing surface pinned: every command's options (with choices and defaults) and the keys
and defaults of ``config.yaml``. A change here is a change users see: update
``pinned_interface.json`` in the same commit and say why in its message.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from transferkit.cli.main import build_parser
from transferkit.core.config import RunConfig

PINNED = json.loads((Path(__file__).parent / "pinned_interface.json").read_text())


def _plain(value):
    return value if isinstance(value, (int, float, str, bool, type(None))) else repr(value)


def command_options(parser: argparse.ArgumentParser, prefix=()) -> dict:
    """``{"train": {"--lr": {"choices": …, "default": …}, …}, …}`` for every (sub)command."""
    found, options = {}, {}
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                found.update(command_options(sub, (*prefix, name)))
        elif not isinstance(action, argparse._HelpAction):
            options["/".join(action.option_strings) or action.dest] = {
                "choices": list(action.choices) if action.choices else None,
                "default": _plain(action.default),
            }
    found[" ".join(prefix) or "transferkit"] = options
    return found


def test_every_command_keeps_its_options():
    current = command_options(build_parser())
    assert sorted(current) == sorted(PINNED["cli"])
    for command, options in PINNED["cli"].items():
        assert current[command] == options, command


def test_config_yaml_keeps_its_keys_and_defaults():
    assert json.loads(json.dumps(RunConfig().to_dict())) == PINNED["config"]
