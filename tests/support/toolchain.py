"""The tests' one check for a target's cross compiler and emulator: skip, naming the install
command, where they are missing."""

from __future__ import annotations

import shutil

import pytest

from lrf_edge.targets import Target, get_target


def need(target_name: str) -> Target:
    """The target, or skip the test when its compiler or emulator is not installed."""
    t = get_target(target_name)
    for tool in (t.cc, t.emulator[0]):
        if shutil.which(tool) is None:
            pytest.skip(f"{tool} not installed ({t.install_hint()})")
    return t
