"""Shared fixtures: every test runs offline, with its own weight store and cache folders."""

from __future__ import annotations

import socket

import pytest


class NetworkAccessError(RuntimeError):
    pass


@pytest.fixture(autouse=True)
def _no_network(monkeypatch):
    """Any attempt to open a non-local connection fails the test."""
    real_connect = socket.socket.connect

    def guarded(self, address):
        host = address[0] if isinstance(address, tuple) else address
        if isinstance(host, str) and (host.startswith("127.") or host in ("localhost", "::1")):
            return real_connect(self, address)
        if self.family == socket.AF_UNIX:
            return real_connect(self, address)
        raise NetworkAccessError(f"test tried to reach the network: {address!r}")

    monkeypatch.setattr(socket.socket, "connect", guarded)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("TRANSFERKIT_ALLOW_DOWNLOAD", "0")


@pytest.fixture(autouse=True)
def _isolated_home(tmp_path_factory, monkeypatch):
    """Weight store and caches live in a per-test folder, never in the user's home."""
    home = tmp_path_factory.mktemp("tk_home")
    monkeypatch.setenv("TRANSFERKIT_HOME", str(home))
    monkeypatch.setenv("TRANSFERKIT_CACHE_DIR", str(home / "cache"))
    return home
