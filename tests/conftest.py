"""Shared pytest fixtures: the collection on sys.path and the emulators."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from harness import Emulators, ensure_collection_path

sys.path.insert(0, str(ensure_collection_path()))


@pytest.fixture(scope="module")
def emulators(tmp_path_factory):
    """The emulators with the default seed, shared by one test module.

    Tests that need a clean world call ``emulators.reset()`` first.
    """
    emu = Emulators(tmp_path_factory.mktemp("emulators"))
    yield emu
    emu.stop()


@pytest.fixture
def start_emulators(tmp_path):
    """A factory for emulators with extra ``serve.py`` arguments."""
    started = []

    def start(*args):
        emu = Emulators(tmp_path / ("emu%d" % len(started)), *args)
        started.append(emu)
        return emu

    yield start
    for emu in started:
        emu.stop()
